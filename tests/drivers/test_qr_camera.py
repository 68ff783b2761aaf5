"""Camera QR path: a generated MJPG video with booking QRs in some frames, decoded by zxing-cpp and pyzbar."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.errors import DriverError
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


def make_video(path: Path) -> Path:
    rng = np.random.default_rng(7)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    assert writer.isOpened(), "this OpenCV cannot write MJPG"
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


def scan(video: Path, **options) -> tuple[list[str], object]:
    async def scenario():
        source = QrCamera("bay-cam", source=str(video), **options)
        await source.open()
        events = Collector(source)
        await asyncio.wait_for(events.task, 30)  # a video file ends by itself
        await source.close()
        return [e.code for e in events.events], source.health()

    return asyncio.run(scenario())


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
def test_each_code_in_view_is_reported_once(video, decoder):
    codes, health = scan(video, decoder=decoder, dedupe_seconds=5.0)
    assert codes == [CODE_A, CODE_B]
    assert health.accepted == 2 and health.rejected == 0
    assert health.suppressed >= 15  # the other sightings (a frame or two may not decode after MJPG)


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
def test_a_code_back_in_view_after_the_window_is_reported_again(video, decoder):
    codes, _ = scan(video, decoder=decoder, dedupe_seconds=1.0)
    # A at 0.5 s; B at 2.0 s; A again at 3.0 s (1.6 s out of view); B again at 3.5 s (1.1 s)
    assert codes == [CODE_A, CODE_B, CODE_A, CODE_B]


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
