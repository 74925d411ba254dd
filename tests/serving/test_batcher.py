"""Micro-batching: concurrent requests really run as one batch, up to ``max_batch``; a
lone request waits at most ``max_wait_ms``; a full queue refuses at once; errors reach
every waiting client; ``max_batch=1`` runs each request alone."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor, wait

import pytest
from PIL import Image

from autolearn.serving.batcher import MicroBatcher
from autolearn.serving.errors import ServiceNotReadyError, ServiceOverloadedError
from model_fixtures import FakeRuntime


def _batcher(runtime: FakeRuntime, **options: float) -> MicroBatcher:
    def predict(images: object, threshold: float | None, top_k: int) -> list:
        return runtime.predict(images, threshold=threshold, top_k=top_k)  # type: ignore[arg-type]

    return MicroBatcher(predict, **options)  # type: ignore[arg-type]


IMAGE = Image.new("RGB", (8, 6), (200, 30, 30))


def test_concurrent_requests_are_gathered_into_batches() -> None:
    runtime = FakeRuntime(delay_s=0.05)
    runtime.release.clear()  # the first batch blocks until all 40 wait
    batcher = _batcher(runtime, max_batch=16, max_wait_ms=20, queue_size=64)
    try:
        with ThreadPoolExecutor(40) as pool:
            futures = [pool.submit(batcher.submit, IMAGE, None, 5) for _ in range(40)]
            accepted = [f.result() for f in futures]
        time.sleep(0.1)
        runtime.release.set()
        results = [f.result(timeout=10) for f in accepted]
    finally:
        batcher.close()
    assert len(results) == 40 and all(r["predictions"][0]["label"] == "red" for r in results)
    assert sum(runtime.batches) == 40
    assert max(runtime.batches) == 16  # full batches, never more than max_batch
    assert len(runtime.batches) <= 4  # e.g. 1 + 16 + 16 + 7, not 40 calls
    stats = batcher.stats.as_dict()
    assert stats["requests"] == 40 and stats["batches"] == len(runtime.batches)
    assert stats["mean_batch_size"] == pytest.approx(40 / len(runtime.batches), abs=1e-3)


def test_a_lone_request_waits_at_most_max_wait() -> None:
    runtime = FakeRuntime(delay_s=0.0)
    batcher = _batcher(runtime, max_batch=16, max_wait_ms=30)
    try:
        started = time.perf_counter()
        batcher.submit(IMAGE, None, 5).result(timeout=5)
        elapsed = time.perf_counter() - started
    finally:
        batcher.close()
    assert runtime.batches == [1]
    assert 0.025 <= elapsed < 0.5


def test_without_batching_each_request_runs_alone() -> None:
    runtime = FakeRuntime(delay_s=0.01)
    batcher = _batcher(runtime, max_batch=1, max_wait_ms=0)
    try:
        with ThreadPoolExecutor(10) as pool:
            futures = [pool.submit(batcher.submit, IMAGE, None, 5) for _ in range(10)]
            for f in futures:
                f.result().result(timeout=5)
    finally:
        batcher.close()
    assert runtime.batches == [1] * 10


def test_a_full_queue_refuses_at_once() -> None:
    runtime = FakeRuntime(delay_s=0.0)
    runtime.release.clear()  # the worker holds one batch; the rest wait in the queue
    batcher = _batcher(runtime, max_batch=1, max_wait_ms=0, queue_size=3)
    try:
        first = batcher.submit(IMAGE, None, 5)
        deadline = time.monotonic() + 5
        while batcher.queue_depth and time.monotonic() < deadline:
            time.sleep(0.005)  # the worker took it and is blocked in predict
        waiting = [batcher.submit(IMAGE, None, 5) for _ in range(3)]
        started = time.perf_counter()
        with pytest.raises(ServiceOverloadedError, match="overloaded"):
            batcher.submit(IMAGE, None, 5)
        assert time.perf_counter() - started < 0.1
        assert batcher.queue_depth == 3 and batcher.stats.rejected == 1
        runtime.release.set()
        for f in [first, *waiting]:
            f.result(timeout=5)
    finally:
        batcher.close()


def test_requests_with_other_options_run_in_their_own_call() -> None:
    runtime = FakeRuntime(delay_s=0.0)
    runtime.release.clear()
    batcher = _batcher(runtime, max_batch=8, max_wait_ms=50)
    try:
        futures = [batcher.submit(IMAGE, None, 5) for _ in range(3)]
        futures += [batcher.submit(IMAGE, None, 1) for _ in range(2)]
        runtime.release.set()
        wait(futures, timeout=5)
    finally:
        batcher.close()
    assert sorted(runtime.batches) == [2, 3]


def test_an_error_reaches_every_request_of_the_batch() -> None:
    runtime = FakeRuntime(delay_s=0.0, fail=True)
    runtime.release.clear()
    batcher = _batcher(runtime, max_batch=8, max_wait_ms=50)
    try:
        futures = [batcher.submit(IMAGE, None, 5) for _ in range(4)]
        runtime.release.set()
        for f in futures:
            with pytest.raises(RuntimeError, match="broke"):
                f.result(timeout=5)
        assert batcher.stats.errors == 4
        runtime.fail = False
        assert batcher.submit(IMAGE, None, 5).result(timeout=5)["width"] == 8  # still serving
    finally:
        batcher.close()


def test_closing_answers_waiting_requests_and_refuses_new_ones() -> None:
    runtime = FakeRuntime(delay_s=0.0)
    runtime.release.clear()
    batcher = _batcher(runtime, max_batch=1, max_wait_ms=0, queue_size=10)
    running = batcher.submit(IMAGE, None, 5)
    time.sleep(0.05)
    waiting: list[Future] = [batcher.submit(IMAGE, None, 5) for _ in range(3)]
    runtime.release.set()
    batcher.close()
    running.result(timeout=5)
    for f in waiting:
        if f.exception(timeout=5) is not None:
            assert isinstance(f.exception(), ServiceNotReadyError)
    with pytest.raises(ServiceNotReadyError):
        batcher.submit(IMAGE, None, 5)
