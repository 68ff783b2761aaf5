"""Grayscale camera frames for QR decoding: the luma plane where the backend gives it, read ahead on a thread.

Luma. A QR decoder needs one 8-bit plane. Cameras and video files carry YUV, whose Y plane
is that image; OpenCV by default converts YUV to BGR, and the driver then converts BGR
back to gray. With `CAP_PROP_CONVERT_RGB=0` requested when the capture is opened, OpenCV's
FFmpeg backend (video files, RTSP) hands back the Y plane of planar YUV as an (height,
width) uint8 array and skips both conversions (measured on a 1280x720 I420 file: 0.38 ms a
frame instead of 0.68 ms plus the colour conversion). That plane is not luma in every
case: toggling the property after opening returns garbage, H.264 has been reported to
return a plane that is not luma, packed RGB files give a plane of the right shape that is
not luma, and V4L2 returns the device's own pixel format (YUYV, MJPEG; not tried on a
device here). So the plane is trusted only after a check, once per device: the first frame
read with conversion off must have the frame's shape and correlate (>=
LUMA_MIN_CORRELATION) with the gray of a frame read with conversion on. Anything else
falls back to BGR plus cvtColor, which every backend supports. OpenCV logs a warning for
every frame it returns in the source's format; once a device reads luma, OpenCV's own log
is set to errors only (process-wide: the camera driver is OpenCV's only user here).

Read-ahead. `FrameGrabber` grabs and converts the next frame on its own thread while the
caller decodes the current one, through a queue of QUEUE_DEPTH frames. A finite input
(a video file) waits for the decoder, so every frame is decoded. A live camera does not
wait: when decoding falls behind, the oldest queued frame is dropped for the newest (a
QR held up to a camera is still in view a moment later; a backlog would only add
latency) and counted in `dropped`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from drivers.errors import DeviceUnavailable

log = logging.getLogger(__name__)

LUMA_MIN_CORRELATION = 0.9  # measured 0.9996-0.9998 on I420, MJPG, MPEG-4 and Xvid files; garbage is ~0
QUEUE_DEPTH = 2
_POLL = 0.2  # seconds between checks of the stop flags while waiting on the queue
_GRABBER_JOIN = 2.0


@dataclass(frozen=True)
class Frame:
    gray: Any  # (height, width) uint8
    index: int  # position in the input, counting frames skipped by every_nth_frame
    grabbed_at: float  # the source's monotonic clock when the frame was read


END = object()  # the input has ended (a video file)


class LumaLost(DeviceUnavailable):
    """A capture that passed the luma check returned something else later: reopen with conversion."""


def open_capture(source: str | int, *, luma: bool, timeout: float) -> Any:
    """An opened cv2.VideoCapture for a camera index, a video file or a stream URL."""
    params = [cv2.CAP_PROP_CONVERT_RGB, 0] if luma else []
    if luma:
        quiet_opencv_log()
    if isinstance(source, int):
        capture = cv2.VideoCapture(source, cv2.CAP_ANY, params)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # decode the newest frame, not a backlog
    elif "://" in source:  # a stream: without timeouts a dead RTSP camera blocks the worker for good
        ms = int(timeout * 1000)
        capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms, *params])
    else:
        capture = cv2.VideoCapture(source, cv2.CAP_ANY, params)
    if not capture.isOpened():
        capture.release()
        raise DeviceUnavailable(f"cannot open video source {source}")
    return capture


def quiet_opencv_log() -> None:
    """Silence OpenCV's per-frame 'unsupported picture format' warning (errors still show)."""
    levels = getattr(getattr(cv2, "utils", None), "logging", None)
    if levels is None:  # a build without the logging bindings: the warnings stay, the frames are fine
        return
    if levels.getLogLevel() > levels.LOG_LEVEL_ERROR:
        levels.setLogLevel(levels.LOG_LEVEL_ERROR)


def read_frame(capture: Any, source: str | int) -> Any | None:
    """The next frame, None at the end of the input; DeviceUnavailable when the backend fails."""
    try:
        ok, frame = capture.read()
    except cv2.error as err:
        raise DeviceUnavailable(f"{source}: {err}") from err
    return frame if ok and frame is not None and frame.size else None


def bgr_to_gray(frame: Any) -> Any:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def is_luma_of(plane: Any, gray: Any) -> bool:
    """Whether `plane` (read with conversion off) is the luma of the scene `gray` shows."""
    if plane.ndim != 2 or plane.dtype != np.uint8 or plane.shape != gray.shape:
        return False
    # every 4th pixel each way: 57,600 samples of a 720p frame decide it as well as all, in a millisecond
    a, b = plane[::4, ::4].astype(np.float32).ravel(), gray[::4, ::4].astype(np.float32).ravel()
    if a.std() == 0 or b.std() == 0:  # a flat frame proves nothing either way
        return bool(np.abs(a.mean() - b.mean()) < 40)
    return float(np.corrcoef(a, b)[0, 1]) >= LUMA_MIN_CORRELATION


def open_checked_luma(source: str | int, *, finite: bool, timeout: float) -> tuple[Any, Any] | None:
    """(capture with conversion off, its first frame) when that frame is verifiably luma, else None.

    A reference frame is read through a capture with conversion on, which is released first:
    a camera device can be opened by one capture at a time. For a video file both captures
    read the same first frame; for a live source the frames are moments apart, which a
    fixed camera's scene survives (a busy scene fails the check and falls back: safe).
    """
    reference = open_capture(source, luma=False, timeout=timeout)
    try:
        first = read_frame(reference, source)
    finally:
        reference.release()
    if first is None:
        if finite:
            return None  # an empty video: nothing to check, and nothing to decode either
        raise DeviceUnavailable(f"{source} delivered no frame")
    capture = open_capture(source, luma=True, timeout=timeout)
    plane = read_frame(capture, source)
    if plane is not None and is_luma_of(plane, bgr_to_gray(first)):
        return capture, plane
    capture.release()
    return None


class FrameGrabber:
    """Grabs, retrieves and converts frames on its own thread; the caller takes them with `next()`."""

    def __init__(self, capture: Any, source: str | int, *, luma: bool, live: bool, every_nth_frame: int,
                 clock: Callable[[], float], first: Any | None = None) -> None:
        self._capture = capture
        self._source = source
        self._luma = luma
        self._live = live
        self._every_nth = every_nth_frame
        self._clock = clock
        self._first = first
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.dropped = 0  # live frames replaced by newer ones before they were decoded
        self._thread = threading.Thread(target=self._run, name=f"camera-grab:{source}", daemon=True)

    def start(self) -> FrameGrabber:
        self._thread.start()
        return self

    def next(self, stop: threading.Event) -> Frame | object | None:
        """The next Frame, END at the end of the input, None once `stop` is set; raises the grabber's failure."""
        while not stop.is_set():
            try:
                item = self._queue.get(timeout=_POLL)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise DeviceUnavailable(f"{self._source}: frame reader stopped")
                continue
            if isinstance(item, BaseException):
                raise item
            return item
        return None

    def close(self) -> None:
        """Stop grabbing and release the capture (from the grabber's thread, once it is out of a read)."""
        self._halt.set()
        if not self._thread.is_alive() and self._thread.ident is None:  # never started: nobody else releases
            self._capture.release()
            return
        while True:  # unblock a waiting put
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(_GRABBER_JOIN)
        if self._thread.is_alive():  # stuck in a read until the backend's timeout: it releases then
            log.warning("camera frame reader still in a read source=%s", self._source)

    def _run(self) -> None:
        try:
            index = -1
            if self._first is not None:
                index = 0
                self._offer(Frame(self._gray(self._first), 0, self._clock()))
                self._first = None
            while not self._halt.is_set():
                index += 1
                if index % self._every_nth:  # grabbed (the stream decoder needs it) but never converted
                    try:
                        grabbed = self._capture.grab()
                    except cv2.error as err:
                        raise DeviceUnavailable(f"{self._source}: {err}") from err
                    if not grabbed:
                        self._end()
                        return
                    continue
                # one read() rather than grab() + retrieve(): zxing-cpp holds the GIL while it decodes, so
                # every return from OpenCV into Python can wait for the decoder's frame to finish
                frame = read_frame(self._capture, self._source)
                if frame is None:
                    self._end()
                    return
                self._offer(Frame(self._gray(frame), index, self._clock()))
        except Exception as err:  # handed to the decoding thread, which reports it as a device failure
            self._offer(err)
        finally:
            self._capture.release()

    def _gray(self, frame: Any) -> Any:
        if not self._luma:
            return bgr_to_gray(frame)
        if frame.ndim != 2 or frame.dtype != np.uint8:
            raise LumaLost(f"{self._source}: the backend stopped returning a luma plane (got {frame.shape})")
        return frame

    def _end(self) -> None:
        if self._live:
            raise DeviceUnavailable(f"{self._source} stopped delivering frames")
        self._offer(END)

    def _offer(self, item: object) -> None:
        if not self._live or not isinstance(item, Frame):
            while not self._halt.is_set():  # every frame of a file is decoded; a failure is never dropped
                try:
                    self._queue.put(item, timeout=_POLL)
                    return
                except queue.Full:
                    continue
            return
        while not self._halt.is_set():
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()  # the oldest waiting frame is stale: the newest replaces it
                except queue.Empty:
                    continue
                with self._lock:
                    self.dropped += 1
