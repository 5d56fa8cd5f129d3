"""One PE-station camera on the box: frames -> pose pipeline -> the agent's queue, off its thread.

Two threads per camera: a reader that owns the OpenCV capture and fills a small bounded frame
queue, and the runner that counts (pose inference) and submits results. A live camera never
waits for inference: when the queue is full the oldest frame is dropped (and counted), so
the count follows the present, not a growing backlog. A file waits for inference instead, so
a recorded lesson is counted whole.

A new config (the box's cmd/config) takes effect at the next frame: the set in progress is
finished under the old settings, then counting goes on with the new ones. The camera is
reopened only when its own settings (source, rate, size, frame range) changed, and the model
reloaded only when its file or thread count did.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator

from campusedge.contract import TimeQuality
from drivers.base import DriverConfig
from drivers.pe_station import Config
from edge.config import ResolvedDevice
from edge.pe.model import ModelError, PoseModel, model_version, resolve_model
from edge.pe.station import LiveUpdate, PeStation, StationOutput
from edge.pe.video import SourceError, VideoFrame, VideoSource
from edge.results import Submitted

log = logging.getLogger(__name__)
FRAME_QUEUE = 4
MAX_BACKOFF_S = 10.0
# Config fields whose change needs the camera reopened, or the pose model loaded again.
CAMERA_FIELDS = ("source", "max_fps", "width", "height", "start_frame", "end_frame")
MODEL_FIELDS = ("model_file", "threads")


class FrameQueue:
    """Reads a source in its own thread into a bounded queue; iterate to take the frames."""

    def __init__(
        self, source: VideoSource, stop: threading.Event, maxsize: int = FRAME_QUEUE
    ) -> None:
        self.source = source
        self.dropped = 0
        self.error: str | None = None
        self._halt = stop
        self._closed = threading.Event()
        self.ended = False
        self._frames: queue.Queue[VideoFrame | None] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(
            target=self._read, daemon=True, name=f"frames-{source.source.location}"
        )
        self._thread.start()

    def _stopped(self) -> bool:
        return self._halt.is_set() or self._closed.is_set()

    def close(self) -> None:
        """Stop reading (the reader thread then releases the capture)."""
        self._closed.set()

    def _put(self, item: VideoFrame | None) -> None:
        while not self._stopped():
            try:
                self._frames.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _read(self) -> None:
        # This thread alone touches the capture, and releases it: a camera read can block
        # for seconds, and releasing a capture another thread is reading from is unsafe.
        try:
            for frame in self.source:
                if self._stopped():
                    return
                if not self.source.live:
                    self._put(frame)
                    continue
                while True:
                    try:
                        self._frames.put_nowait(frame)
                        break
                    except queue.Full:
                        try:
                            self._frames.get_nowait()
                            self.dropped += 1
                        except queue.Empty:
                            pass
        except Exception as exc:  # OpenCV raises cv2.error (not an OSError) on a broken stream
            self.error = f"reading {self.source.source.location}: {exc}"
        finally:
            self.source.close()
            self._put(None)

    def __iter__(self) -> Iterator[VideoFrame]:
        while not self._stopped() and not self.ended:
            try:
                frame = self._frames.get(timeout=0.2)
            except queue.Empty:
                continue
            if frame is None:
                self.ended = True  # the reader is gone: iterating again must not wait for it
                return
            yield frame

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)


class StationRunner(threading.Thread):
    """Runs a PeStation on one camera and submits every live update and finished set.

    A camera that cannot be opened, or stops, is retried with a back-off and reported through
    `online` / `last_error` (the device's status), never raised: the box's other devices go
    on. A file source is counted once; the device then goes offline with "source ended".
    """

    def __init__(
        self,
        dev: ResolvedDevice,
        submit: Callable[[Submitted, float], bool],
        stop: threading.Event,
        *,
        model: PoseModel | None = None,
    ) -> None:
        super().__init__(name=f"station-{dev.entry.id}", daemon=True)
        assert isinstance(dev.driver_config, Config)
        self.dev = dev
        self.config: Config = dev.driver_config
        self._submit = submit
        self._halt = stop
        self._model = model
        # A model handed in is taken to be the one the initial config names.
        self._model_key = (self.config.model_file, self.config.threads)
        self.online = False
        self.last_error: str | None = None
        self.opens = 0
        self.frames = 0
        self.frames_dropped = 0
        self.submitted = 0
        self.done = False
        self._pending: Config | None = None  # set by the agent's thread, taken by this one
        self._pending_lock = threading.Lock()
        path = model.path if model is not None else resolve_model(self.config.model_file)
        try:
            self.model_version: str | None = model_version(path)
        except (ModelError, OSError, ValueError):
            self.model_version = None  # the run reports the missing model in the status

    @property
    def device_id(self) -> str:
        return self.dev.entry.id

    def check(self, config: DriverConfig) -> None:
        """Raise ValueError if *config* cannot run on this station (before anything changes)."""
        if not isinstance(config, Config):
            raise ValueError(f"{self.device_id}: not a PE-station config")
        if config.exercise is None:
            raise ValueError(f"{self.device_id}: a PE station's config must name the exercise")
        if not resolve_model(config.model_file).is_file():
            raise ValueError(f"{self.device_id}: no pose model {config.model_file!r} on this box")
        if config.lanes and not resolve_model(config.detector_file).is_file():
            raise ValueError(
                f"{self.device_id}: no person detector {config.detector_file!r} on this box"
            )

    def reconfigure(self, config: DriverConfig) -> None:
        """Count with *config* from the next frame on (see the module docstring)."""
        self.check(config)
        assert isinstance(config, Config)
        with self._pending_lock:
            self._pending = config

    def latest_config(self) -> Config:
        """The config waiting to be taken, else the one in use: what the next command amends."""
        with self._pending_lock:
            return self._pending or self.config

    def _take_pending(self) -> Config | None:
        with self._pending_lock:
            new, self._pending = self._pending, None
            return new

    def _load_model(self) -> PoseModel | None:
        """The pose model for the current config, loaded again only when that config changed."""
        cfg = self.config
        key = (cfg.model_file, cfg.threads)
        if self._model is not None and self._model_key == key:
            return self._model
        try:
            self._model = PoseModel(resolve_model(cfg.model_file), threads=cfg.threads)
        except ModelError as exc:
            self._failed(str(exc))
            return None
        self._model_key = key
        self.model_version = model_version(self._model.path)
        return self._model

    def run(self) -> None:
        backoff = 0.5
        while not self._halt.is_set():
            # A config sent while the camera could not be opened (perhaps to fix its source).
            self.config = self._take_pending() or self.config
            model = self._load_model()
            if model is None:
                # Tried again after a back-off: a new config may name a model that loads.
                self._halt.wait(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)
                continue
            station = PeStation(self.config, model=model)
            try:
                source = station.open()
            except SourceError as exc:
                self._failed(str(exc))
                self._halt.wait(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)
                continue
            backoff = 0.5
            self.opens += 1
            self.online = True
            frames = FrameQueue(source, self._halt)
            reopen = False
            try:
                reopen = self._count(station, frames, live=source.live, fps=source.fps)
            except Exception as exc:  # a pipeline bug must not take the box's other devices down
                log.exception("%s: counting failed", self.device_id)
                frames.error = f"counting failed: {exc}"
            finally:
                self.online = False
                frames.close()
                self.frames_dropped += frames.dropped
                frames.join(2.0)
            if reopen:
                continue
            if frames.error:
                self._failed(frames.error)
            elif not source.live:
                self.done = True
                self.last_error = "source ended"
                return
            else:
                self._failed(f"camera {self.config.source} stopped delivering frames")
            self._halt.wait(backoff)

    def _count(self, station: PeStation, frames: FrameQueue, *, live: bool, fps: float) -> bool:
        """Count until the frames end (False) or a new config needs the camera reopened (True)."""
        # A live camera is stamped by the box's clock as frames are counted; a file by its own
        # frame times from when counting began, an estimate of when the set happened.
        quality = TimeQuality.RECEIVED if live else TimeQuality.ESTIMATED

        def counted() -> Iterator[VideoFrame]:
            for frame in frames:
                self.frames += 1
                yield frame
                if self._pending is not None:
                    return  # ends the set in progress; the new config takes the next frame

        while True:
            for item in station.process(counted(), live=live, fps=fps):
                self._hand_over(item, quality)
            new = self._take_pending()
            if new is None:
                return False
            old, self.config = self.config, new
            log.info("%s: counting %s with the new config", self.device_id, new.exercise)
            if any(getattr(old, f) != getattr(new, f) for f in CAMERA_FIELDS):
                return True
            if frames.ended:
                return False  # the file is done; the new config waits for the next one
            model = self._load_model()
            if model is None:
                # The new model does not load: go on with the old one rather than stop.
                self.config = new.model_copy(update={f: getattr(old, f) for f in MODEL_FIELDS})
                model = station.model
                self._model, self._model_key = model, (old.model_file, old.threads)
                self.online = True  # still counting; the log and last_error say why
            station = PeStation(self.config, model=model)

    def _hand_over(self, item: StationOutput, quality: TimeQuality) -> None:
        # A lane's counts go out as the lane's own device, bound to its student by the gateway.
        device_id = item.device_id or self.device_id
        if isinstance(item, LiveUpdate):
            result = Submitted(
                device_id,
                self.dev.kind,
                item.ts,
                quality,
                readings=item.readings,
                firmware=self.dev.model.firmware,
            )
        else:
            result = Submitted(
                device_id,
                self.dev.kind,
                item.ts,
                quality,
                event=item.event,
                firmware=self.dev.model.firmware,
            )
        # Waits only while the agent is far behind (its queue is full), and gives up on stop.
        while not self._halt.is_set():
            if self._submit(result, 0.5):
                self.submitted += 1
                return

    def _failed(self, why: str) -> None:
        if why != self.last_error:
            log.warning("%s: %s", self.device_id, why)
        self.last_error = why
        self.online = False
