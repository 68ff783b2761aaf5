"""Camera QR path: generated videos with booking QRs in some frames, decoded by zxing-cpp and pyzbar.

An MJPG file gives OpenCV's FFmpeg backend planar YUV, whose luma plane the driver reads
directly; a PNG-in-AVI file is packed RGB, whose "plane" with conversion off has the right
shape but is not luma, so the driver must notice and fall back to BGR. A `file://` URL
goes through the stream path (a live source: read ahead without waiting, reconnect when
it stops delivering).
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers import camera_frames
from drivers.errors import DeviceUnavailable, DriverError
from drivers.qr_camera import QrCamera, load_decoder
from edge.domain.tokens import issue_token
from tests.drivers.conftest import Collector

KEY = b"station-test-key-0123456789abcdef"
FPS = 10
_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CODE_A = issue_token("0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b", "SH-PD-001", _START, _START + timedelta(hours=2), KEY)
CODE_B = issue_token("0193a1b2-7c3d-7e4f-8a5b-00000000000b", "SH-PD-001", _START, _START + timedelta(hours=2), KEY)
# frame ranges (at 10 fps) and the codes visible in them
SCRIPT = [(range(0, 5), ()), (range(5, 15), (CODE_A,)), (range(15, 20), ()), (range(20, 25), (CODE_B,)),
          (range(25, 30), ()), (range(30, 35), (CODE_A,)), (range(35, 40), (CODE_A, CODE_B))]


def qr_image(text: str, module_px: int = 5) -> np.ndarray:
    encoder = cv2.QRCodeEncoder.create()
    small = encoder.encode(text)
    return cv2.resize(small, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


def make_video(path: Path, fourcc: str = "MJPG") -> Path:
    rng = np.random.default_rng(7)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (640, 480))
    assert writer.isOpened(), f"this OpenCV cannot write {fourcc}"
    for frames, codes in SCRIPT:
        for _ in frames:
            frame = np.full((480, 640, 3), 170, np.uint8)
            for _ in range(12):  # clutter: a forecourt is not a white wall
                x, y = int(rng.integers(0, 600)), int(rng.integers(0, 440))
                cv2.rectangle(frame, (x, y), (x + int(rng.integers(5, 60)), y + int(rng.integers(5, 40))),
                              tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
            for slot, code in enumerate(codes):
                image = cv2.cvtColor(qr_image(code), cv2.COLOR_GRAY2BGR)
                h, w = image.shape[:2]
                x0 = 30 + slot * 320
                frame[40:40 + h + 20, x0:x0 + w + 20] = 255  # quiet zone
                frame[50:50 + h, x0 + 10:x0 + 10 + w] = image
            writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("camera") / "bay.avi")


@pytest.fixture(scope="module")
def rgb_video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("camera") / "bay-rgb.avi", "png ")


def grabber_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("camera-grab:") and t.is_alive()]


def scan(video: Path, **options) -> tuple[list[str], object]:
    codes, health, _ = scan_with_source(video, **options)
    return codes, health


def scan_with_source(video: Path, **options) -> tuple[list[str], object, QrCamera]:
    async def scenario():
        source = QrCamera("bay-cam", source=str(video), **options)
        await source.open()
        events = Collector(source)
        await asyncio.wait_for(events.task, 30)  # a video file ends by itself
        await source.close()
        return [e.code for e in events.events], source.health(), source

    return asyncio.run(scenario())


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
def test_each_code_in_view_is_reported_once(video, decoder):
    codes, health, source = scan_with_source(video, decoder=decoder, dedupe_seconds=5.0)
    assert codes == [CODE_A, CODE_B]
    assert health.accepted == 2 and health.rejected == 0
    assert health.suppressed >= 15  # the other sightings (a frame or two may not decode after MJPG)
    assert source.reads_luma is True  # MJPG decodes to planar YUV: its Y plane is read directly
    assert source.frames_dropped == 0  # a file waits for the decoder
    assert not grabber_threads()


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
def test_a_video_without_a_luma_plane_falls_back_to_bgr_and_still_decodes(rgb_video, decoder):
    codes, health, source = scan_with_source(rgb_video, decoder=decoder, dedupe_seconds=5.0)
    assert source.reads_luma is False  # packed RGB: the plane OpenCV returns with conversion off is not luma
    assert codes == [CODE_A, CODE_B]
    assert health.accepted == 2 and health.rejected == 0 and health.suppressed >= 15


def test_reading_luma_can_be_turned_off(video):
    codes, _, source = scan_with_source(video, read_luma=False, dedupe_seconds=5.0)
    assert source.reads_luma is False
    assert codes == [CODE_A, CODE_B]


def test_every_nth_frame_decodes_fewer_frames_and_keeps_file_time(video):
    _, every, _ = scan_with_source(video, dedupe_seconds=5.0)
    codes, third, _ = scan_with_source(video, dedupe_seconds=1.0, every_nth_frame=3)
    # frames 0, 3, 6, ...: A seen from 0.6 s, B from 2.1 s, A again at 3.0 s, B again at 3.6 s
    assert codes == [CODE_A, CODE_B, CODE_A, CODE_B]
    assert third.accepted + third.suppressed < (every.accepted + every.suppressed) / 2


def test_the_luma_check_tells_a_luma_plane_from_what_the_backend_returns_for_packed_rgb(video, rgb_video):
    def first_frames(path: Path) -> tuple[np.ndarray, np.ndarray]:
        reference = camera_frames.open_capture(str(path), luma=False, timeout=5)
        gray = camera_frames.bgr_to_gray(camera_frames.read_frame(reference, path))
        reference.release()
        capture = camera_frames.open_capture(str(path), luma=True, timeout=5)
        plane = camera_frames.read_frame(capture, path)
        capture.release()
        return plane, gray

    plane, gray = first_frames(video)
    assert camera_frames.is_luma_of(plane, gray)
    plane, gray = first_frames(rgb_video)
    assert plane.shape == gray.shape  # right shape, wrong content: only the content check can tell
    assert not camera_frames.is_luma_of(plane, gray)
    assert not camera_frames.is_luma_of(np.random.default_rng(1).integers(0, 255, gray.shape, np.uint8), gray)
    assert not camera_frames.is_luma_of(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray)


def test_a_live_source_drops_stale_frames_instead_of_queueing_them(video):
    """A reader ahead of a slow decoder keeps only the newest frames, then reports the stream's end as a loss."""
    url = video.resolve().as_uri()  # file:// goes through the stream path
    capture = camera_frames.open_capture(url, luma=False, timeout=5)
    grabber = camera_frames.FrameGrabber(capture, url, luma=False, live=True, every_nth_frame=1,
                                         clock=time.monotonic).start()
    stop = threading.Event()
    try:
        stale = 40 - camera_frames.QUEUE_DEPTH  # 40 frames in the video, the queue keeps the newest
        deadline = time.monotonic() + 20
        while grabber.dropped < stale and time.monotonic() < deadline:  # the decoder is "busy": nothing taken
            time.sleep(0.01)
        assert grabber.dropped == stale
        indexes = []
        with pytest.raises(DeviceUnavailable, match="stopped delivering frames"):
            while (frame := grabber.next(stop)) is not None:
                indexes.append(frame.index)
        assert indexes == list(range(stale, 40))  # the newest frames, then the end as a device loss
    finally:
        grabber.close()
    assert not grabber_threads()


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
def test_a_code_back_in_view_after_the_window_is_reported_again(video, decoder):
    codes, _ = scan(video, decoder=decoder, dedupe_seconds=1.0)
    # A at 0.5 s; B at 2.0 s; A again at 3.0 s (1.6 s out of view); B again at 3.5 s (1.1 s)
    assert codes == [CODE_A, CODE_B, CODE_A, CODE_B]


def test_a_stream_that_stops_is_reconnected_with_its_codes_still_reported_once(video):
    async def scenario():
        source = QrCamera("gate-cam", source=video.resolve().as_uri(), dedupe_seconds=60.0, reconnect_max=0.5)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().reconnects >= 2, timeout=20, what="two reconnects")
        codes = [e.code for e in events.events]
        await events.finish()
        return codes, source

    codes, source = asyncio.run(scenario())
    health = source.health()
    assert codes == [CODE_A, CODE_B]  # replayed after each reconnect, but still within dedupe_seconds
    assert "stopped delivering frames" in health.last_error and health.rejected == 0
    assert source.reads_luma is True and not health.connected
    assert not grabber_threads()


def test_close_while_reading_a_file_stops_the_reader_promptly(tmp_path):
    path = tmp_path / "long.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (320, 240))
    frame = np.full((240, 320, 3), 255, np.uint8)
    image = cv2.cvtColor(qr_image(CODE_A, module_px=4), cv2.COLOR_GRAY2BGR)
    frame[10:10 + image.shape[0], 10:10 + image.shape[1]] = image
    for _ in range(300):
        writer.write(frame)
    writer.release()

    async def scenario():
        source = QrCamera("bay-cam", source=str(path), dedupe_seconds=0.0)  # every decoded frame is an event
        await source.open()
        events = source.events()
        await asyncio.wait_for(anext(events), 20)
        await asyncio.sleep(0.5)  # nobody reads on: the worker soon waits for the loop, far from the file's end
        reading = source.health().connected
        await asyncio.wait_for(source.close(), 10)
        rest = [event async for event in events]
        return reading, rest, source

    reading, rest, source = asyncio.run(scenario())
    assert reading and 1 + len(rest) < 300  # closed mid-file
    assert not source.health().connected
    assert not grabber_threads()


def test_a_missing_video_is_retried_not_fatal(tmp_path):
    async def scenario():
        source = QrCamera("bay-cam", source=str(tmp_path / "absent.avi"), reconnect_max=0.2)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().last_error is not None)
        await asyncio.sleep(0.3)
        await events.finish()
        return source.health()

    health = asyncio.run(scenario())
    assert not health.connected and "does not exist" in health.last_error


def test_decoder_choice_is_checked():
    with pytest.raises(DriverError, match="unknown decoder"):
        QrCamera("cam", source=0, decoder="tesseract")
    with pytest.raises(DriverError, match="unknown QR decoder"):
        load_decoder("cv2")
    gray = np.full((300, 300), 255, np.uint8)
    image = qr_image("BK-1", module_px=6)
    gray[20:20 + image.shape[0], 20:20 + image.shape[1]] = image
    assert load_decoder("zxing")(gray) == ["BK-1"] == load_decoder("pyzbar")(gray)
