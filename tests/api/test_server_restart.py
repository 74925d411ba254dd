"""The must-show crash test: ``autolearn server`` (API + queue) and the task's worker are
both SIGKILLed while the task is RUNNING; a new server resumes the task from its
checkpoint and it finishes exactly once (one worker at a time, every epoch once, one
SUCCEED)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from autolearn.datasets.service import import_dataset
from service_proc import free_port

pytestmark = pytest.mark.slow
STEPS_PER_EPOCH = 16  # 128 training images, batch 8


def _wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Server:
    """``autolearn server`` in its own process group, on a free port."""

    def __init__(self, home: Path) -> None:
        self.home, self.port = home, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "AUTOLEARN_HOME": str(self.home), "AUTOLEARN_PROGRESS_INTERVAL_S": "0"}
        with (self.home / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autolearn.cli.main", "server", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{self.port}/healthz"
        _wait(lambda: httpx.get(url, timeout=2).status_code == 200, 60, "the server to answer")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture
def server(autolearn_home: Path) -> Iterator[Server]:
    srv = Server(autolearn_home)
    yield srv
    srv.kill()


def test_sigkill_server_and_worker_then_restart_resumes_exactly_once(
    server: Server,
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    from autolearn.accounts.service import create_token, create_user

    make_learnable_folder(autolearn_home / "colours", {"a": 80, "b": 80})
    import_dataset(autolearn_home / "colours", name="colours")
    token = create_token(create_user("root", "admin")["id"])["token"]
    server.start()
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{server.port}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    task_id = api.post("/tasks", json=tiny_spec(hyperparams={"epochs": 6})).json()["id"]

    def mid_epoch_three() -> int | None:
        steps = api.get(f"/tasks/{task_id}/events", params={"kind": "step"}).json()
        last = steps[-1] if steps else None
        ok = last and last["epoch"] == 3 and 2 < last["step"] % STEPS_PER_EPOCH < 14
        return api.get(f"/tasks/{task_id}").json()["pid"] if ok else None

    worker_pid = _wait(mid_epoch_three, 180, "epoch 3 to be half done")
    server.kill()
    os.kill(worker_pid, signal.SIGKILL)
    _wait(lambda: not Path(f"/proc/{worker_pid}").exists(), 10, "the worker to die")

    server.port = free_port()
    server.start()
    api.base_url = httpx.URL(f"http://127.0.0.1:{server.port}/api/v1")

    def finished() -> dict[str, Any] | None:
        task = api.get(f"/tasks/{task_id}").json()
        return task if task["status"] in ("SUCCEED", "FAILED", "STOPPED") else None

    done = _wait(finished, 240, "the resumed task to finish")
    assert done["status"] == "SUCCEED", done["message"]
    assert done["attempts"] == 2 and done["epoch"] == 6

    events = api.get(f"/tasks/{task_id}/events").json()
    statuses = [e["data"]["status"] for e in events if e["kind"] == "status"]
    assert statuses.count("SUCCEED") == 1 and statuses.count("RUNNING") == 2
    assert any(e["data"].get("recovered") for e in events if e["kind"] == "status")
    resumes = [e for e in events if e["kind"] == "resume"]
    assert [e["data"]["from_epoch"] for e in resumes] == [2]
    cut = events.index(resumes[0])
    before = [e["epoch"] for e in events[:cut] if e["kind"] == "epoch"]
    after = [e["epoch"] for e in events[cut:] if e["kind"] == "epoch"]
    assert before == [1, 2] and after == [3, 4, 5, 6]  # every epoch finished exactly once
    logs = [line["message"] for line in api.get(f"/tasks/{task_id}/logs").json()]
    assert any("resuming from the last checkpoint" in m for m in logs)
