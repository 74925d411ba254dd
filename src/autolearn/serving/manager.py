"""The services this API process serves: each one's loaded model (a ``Runtime`` from
``serving.runtime.load_runtime``, whatever the format) and its ``MicroBatcher``.

The database says which services should run; each API process loads a service's model
the first time it is needed there (at deploy or start through that process, or the
first prediction), in a background thread, so that a request never waits seconds for a
model: until it is loaded the service answers 503 ``not_ready``. Each prediction reads
the service's row first, so a service stopped or redeployed through another process is
unloaded here at its next request.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autolearn.serving.batcher import MicroBatcher, Result
from autolearn.serving.errors import ServiceNotReadyError

if TYPE_CHECKING:
    from PIL import Image

    from autolearn.serving.runtime import Runtime

log = logging.getLogger(__name__)
RETRY_FAILED_S = 30.0  # a model that failed to load is tried again after this
Loader = Callable[[str, int | None], "Runtime"]


def _load(uri: str, threads: int | None) -> Runtime:
    """The one way models are loaded (tests replace this function)."""
    from autolearn.serving.runtime import load_runtime

    return load_runtime(uri, threads=threads)


def _key(view: dict[str, Any]) -> str:
    """What the loaded model depends on: a change to any of it means a reload."""
    model = view["model"]
    return json.dumps([model["id"], model["artifact_uri"], view["config"]], sort_keys=True)


@dataclass
class Loaded:
    """One service in this process: loading, ready or failed."""

    service_id: int
    key: str
    state: str = "loading"  # loading | ready | failed
    error: str | None = None
    runtime: Runtime | None = None
    batcher: MicroBatcher | None = None
    started: float = field(default_factory=time.monotonic)
    load_s: float | None = None

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()


class ServiceManager:
    """Loaded services by id, for one process."""

    def __init__(self, loader: Loader | None = None) -> None:
        self._loader = loader
        self._services: dict[int, Loaded] = {}
        self._lock = threading.Lock()

    def ensure(self, view: dict[str, Any]) -> Loaded:
        """The service's entry, loading its model in the background if needed (or again,
        when its model or config changed, or a failed load is old enough to retry)."""
        key = _key(view)
        with self._lock:
            found = self._services.get(view["id"])
            if found is not None and found.key == key and not _retry(found):
                return found
            entry = Loaded(view["id"], key)
            self._services[view["id"]] = entry
        if found is not None:
            found.close()
        thread = threading.Thread(
            target=self._load_into, args=(entry, view), name=f"load-service-{view['id']}"
        )
        thread.daemon = True
        thread.start()
        return entry

    def _load_into(self, entry: Loaded, view: dict[str, Any]) -> None:
        config = view["config"]
        try:
            loader = self._loader or _load
            runtime = loader(view["model"]["artifact_uri"], config.get("threads"))
            batcher = MicroBatcher(
                _predict_fn(runtime),
                max_batch=config["max_batch"] if config["micro_batching"] else 1,
                max_wait_ms=config["max_wait_ms"] if config["micro_batching"] else 0.0,
                queue_size=config["queue_size"],
                name=str(view["id"]),
            )
        except Exception as exc:  # the service says why in health and in 503s
            log.warning("service %s: model failed to load: %s", view["id"], exc)
            entry.state, entry.error = "failed", f"the model failed to load: {exc}"
            entry.started = time.monotonic()
            return
        with self._lock:
            current = self._services.get(entry.service_id) is entry
            entry.runtime, entry.batcher = runtime, batcher
            entry.load_s = round(time.monotonic() - entry.started, 3)
            entry.state = "ready"
        if not current:  # unloaded or replaced while it loaded
            batcher.close()

    def ready(self, view: dict[str, Any]) -> Loaded:
        """The loaded service, or ``ServiceNotReadyError`` saying why not (yet)."""
        if view["status"] != "RUNNING":
            self.unload(view["id"])
            raise ServiceNotReadyError(
                f"service {view['id']} is {view['status']}; start it "
                f"(POST /api/v1/services/{view['id']}/start)"
            )
        entry = self.ensure(view)
        if entry.state == "failed":
            raise ServiceNotReadyError(f"service {view['id']}: {entry.error}")
        if entry.state != "ready" or entry.batcher is None:
            raise ServiceNotReadyError(
                f"service {view['id']} is loading its model; retry in a moment"
            )
        return entry

    def unload(self, service_id: int) -> None:
        with self._lock:
            entry = self._services.pop(service_id, None)
        if entry is not None:
            entry.close()

    def clear(self) -> None:
        """Unload everything (the app's shutdown)."""
        with self._lock:
            entries = list(self._services.values())
            self._services.clear()
        for entry in entries:
            entry.close()

    def health(self, view: dict[str, Any]) -> dict[str, Any]:
        """What this process knows of the service (loading does not start here)."""
        with self._lock:
            entry = self._services.get(view["id"])
        if entry is not None and entry.key != _key(view):
            entry = None
        state = "stopped" if view["status"] != "RUNNING" else "not_loaded"
        if entry is not None and view["status"] == "RUNNING":
            state = entry.state
        stats: dict[str, Any] = {
            "requests": 0,
            "rejected": 0,
            "batches": 0,
            "mean_batch_size": 0.0,
            "largest_batch": 0,
            "errors": 0,
        }
        if entry is not None and entry.batcher is not None:
            stats = entry.batcher.stats.as_dict()
        return {
            "service": view["id"],
            "name": view["name"],
            "status": view["status"],
            "model": view["model"]["ref"],
            "state": state,
            "loaded": entry is not None and entry.runtime is not None,
            "ready": state == "ready",
            "error": entry.error if entry is not None else None,
            "load_s": entry.load_s if entry is not None else None,
            "queue_depth": entry.batcher.queue_depth if entry and entry.batcher else 0,
            "pid": os.getpid(),
            **stats,
        }


def _retry(entry: Loaded) -> bool:
    return entry.state == "failed" and time.monotonic() - entry.started > RETRY_FAILED_S


def _predict_fn(runtime: Runtime) -> Callable[[Sequence[Image.Image], float | None, int], list]:
    def predict(images: Sequence[Image.Image], threshold: float | None, top_k: int) -> list:
        results: list[Result] = runtime.predict(images, threshold=threshold, top_k=top_k)
        for result in results:
            result.pop("image", None)
        return results

    return predict


_manager = ServiceManager()


def manager() -> ServiceManager:
    """This process's services."""
    return _manager


def shutdown() -> None:
    """Close every loaded service (the API app's shutdown)."""
    _manager.clear()
