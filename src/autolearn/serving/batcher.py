"""Micro-batching: concurrent requests to one service are gathered into one ``predict``
call, run in the service's own worker thread.

Why: one forward pass over 16 images costs far less than 16 passes over one (the
per-call overhead and the small matrix products dominate a single image), so under
concurrent load batching raises throughput, at the price of at most ``max_wait_ms`` of
extra latency when traffic is light. A batch starts with the first waiting request and
takes more until it has ``max_batch`` or ``max_wait_ms`` has passed.

Backpressure: at most ``queue_size`` requests wait; one more is refused at once
(``ServiceOverloadedError``, 429) rather than queued for seconds, so an overloaded
service tells its clients to back off instead of timing them all out.

``max_batch=1, max_wait_ms=0`` runs each request alone (``micro_batching: false``), on
the same single thread, so that a comparison measures batching and nothing else.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autolearn.serving.errors import ServiceNotReadyError, ServiceOverloadedError

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)
Result = dict[str, Any]
# predict(images, threshold, top_k) -> one result per image
PredictFn = Callable[[Sequence["Image.Image"], float | None, int], list[Result]]


@dataclass
class _Request:
    image: Image.Image
    threshold: float | None
    top_k: int
    future: Future[Result] = field(default_factory=Future)


_STOP = object()


@dataclass
class BatchStats:
    """Counters the health endpoint shows (read without a lock: ints are atomic)."""

    requests: int = 0  # accepted into the queue
    rejected: int = 0  # refused with 429
    batches: int = 0
    batched: int = 0  # requests run, summed over batches
    errors: int = 0  # requests whose predict failed
    largest_batch: int = 0

    def as_dict(self) -> dict[str, Any]:
        mean = self.batched / self.batches if self.batches else 0.0
        return {
            "requests": self.requests,
            "rejected": self.rejected,
            "batches": self.batches,
            "mean_batch_size": round(mean, 3),
            "largest_batch": self.largest_batch,
            "errors": self.errors,
        }


class MicroBatcher:
    """``submit(image, threshold, top_k)`` → a ``Future`` of that image's result."""

    def __init__(
        self,
        predict: PredictFn,
        *,
        max_batch: int = 16,
        max_wait_ms: float = 5.0,
        queue_size: int = 64,
        name: str = "service",
    ) -> None:
        self._predict = predict
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max(0.0, max_wait_ms) / 1000.0
        self.queue_size = max(1, queue_size)
        self.stats = BatchStats()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._admit = threading.Lock()  # the size check and the put are one step
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    @property
    def queue_depth(self) -> int:
        """Requests waiting for a batch (not counting the one running now)."""
        return self._queue.qsize()

    def submit(self, image: Image.Image, threshold: float | None, top_k: int) -> Future[Result]:
        request = _Request(image, threshold, top_k)
        with self._admit:
            if self._closed:
                raise ServiceNotReadyError("the service is stopping; try again later")
            if self._queue.qsize() >= self.queue_size:
                self.stats.rejected += 1
                raise ServiceOverloadedError(
                    f"the service is overloaded ({self.queue_size} requests waiting); "
                    f"retry after a short pause"
                )
            self.stats.requests += 1
            self._queue.put(request)
        return request.future

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop taking requests; those still waiting are answered "not ready"."""
        with self._admit:
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout=timeout_s)
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Request):
                _settle(item.future, exception=ServiceNotReadyError("the service was stopped"))

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = self._gather(first)
            self._run(batch)
            if stop:
                return

    def _gather(self, first: _Request) -> tuple[list[_Request], bool]:
        """``first`` and whatever else arrives before the batch is full or the wait ends."""
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else None
                if item is None:
                    item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self, batch: list[_Request]) -> None:
        """One ``predict`` per (threshold, top_k) in the batch (nearly always one)."""
        self.stats.batches += 1
        self.stats.batched += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        groups: dict[tuple[float | None, int], list[_Request]] = {}
        for request in batch:
            groups.setdefault((request.threshold, request.top_k), []).append(request)
        for (threshold, top_k), requests in groups.items():
            self._run_group(requests, threshold, top_k)

    def _run_group(self, requests: list[_Request], threshold: float | None, top_k: int) -> None:
        try:
            results = self._predict([r.image for r in requests], threshold, top_k)
            if len(results) != len(requests):
                raise RuntimeError(f"{len(requests)} images gave {len(results)} results")
        except Exception as exc:  # every waiting client gets the error, none hangs
            log.exception("prediction failed for a batch of %d", len(requests))
            self.stats.errors += len(requests)
            for request in requests:
                _settle(request.future, exception=exc)
            return
        for request, result in zip(requests, results, strict=True):
            _settle(request.future, result=result)


def _settle(
    future: Future[Result], result: Result | None = None, exception: BaseException | None = None
) -> None:
    """Answer a request, unless its client went away (the future was cancelled)."""
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result or {})
    except InvalidStateError:
        pass
