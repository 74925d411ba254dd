"""The supervisor against the executor protocol, with a stand-in executor: what it does
when a launch fails, when a task can never be placed, and how it judges workers that
run on other hosts (the Ray case). On SQLite and PostgreSQL (``database``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from autolearn.db import Task, session_scope
from autolearn.scheduler.executors import SubmitError
from autolearn.scheduler.supervisor import Supervisor
from autolearn.tasks.service import get_task, task_logs
from executor_fakes import FakeHandle


@dataclass
class FakeExecutor:
    """A cluster executor (not host-bound) whose answers the test sets."""

    host_bound: bool = False
    owner: int | None = None
    fail: Exception | None = None
    alive: dict[int, FakeHandle | None] = field(default_factory=dict)
    down: bool = False
    launched: list[int] = field(default_factory=list)

    def launch(self, task_id: int, resources: Mapping[str, Any]) -> FakeHandle:
        if self.fail is not None:
            raise self.fail
        self.launched.append(task_id)
        notes = [f"waiting for {resources.get('spec')}"]
        return FakeHandle(task_id, notes=notes, tail=["the last words"])

    def adopt(
        self, tasks: Sequence[Task], live_supervisors: Collection[int]
    ) -> dict[int, FakeHandle | None]:
        if self.down:
            raise ConnectionError("the cluster does not answer")
        return {t.id: self.alive[t.id] for t in tasks if t.id in self.alive}

    def sweep(self, active_task_ids: Collection[int], live_supervisors: Collection[int]) -> None:
        if self.down:
            raise ConnectionError("the cluster does not answer")

    def close(self) -> None:
        pass


def add_task(status: str = "QUEUED", **fields: Any) -> int:
    row = Task(
        name="t",
        scenario="classification",
        region="local",
        status=status,
        spec={"resources": {"spec": "gpu-t4", "count": 1}},
        output_uri="file:///nonexistent/out",
        **fields,
    )
    with session_scope() as s:
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def executor(database: str) -> FakeExecutor:
    return FakeExecutor()


def test_a_launch_the_cluster_refuses_requeues_the_task_and_pauses(
    executor: FakeExecutor,
) -> None:
    task_id = add_task()
    executor.fail = ConnectionError("Ray at 10.0.0.5:6379 is unreachable")
    sup = Supervisor(executor=executor)
    sup.launch()
    assert get_task(task_id)["status"] == "QUEUED"
    assert any("unreachable" in line["message"] for line in task_logs(task_id))
    executor.fail = None
    sup.launch()  # paused: no new claim right after a failure
    assert executor.launched == [] and get_task(task_id)["status"] == "QUEUED"


def test_a_task_that_can_never_be_placed_is_submit_failed(executor: FakeExecutor) -> None:
    task_id = add_task()
    executor.fail = SubmitError("unknown resource spec 'tpu-v9'; known specs: cpu-2c8g")
    Supervisor(executor=executor).launch()
    task = get_task(task_id)
    assert task["status"] == "SUBMIT_FAILED" and "tpu-v9" in task["message"]


def test_a_launch_passes_the_resources_and_logs_the_placement_notes(
    executor: FakeExecutor,
) -> None:
    task_id = add_task()
    sup = Supervisor(executor=executor)
    sup.launch()
    assert executor.launched == [task_id] and task_id in sup.handles
    task = get_task(task_id)
    assert task["status"] == "STARTING" and task["pid"] is None  # no PID from a cluster
    assert [ln["message"] for ln in task_logs(task_id)] == ["waiting for gpu-t4"]


def test_workers_on_other_hosts_are_judged_by_the_executor(executor: FakeExecutor) -> None:
    """Not host-bound: a RUNNING task elsewhere is adopted if the executor says it lives,
    left alone if another supervisor watches it, requeued if it is gone."""
    elsewhere = {"host": "node-7", "pid": 99}
    adopted = add_task("RUNNING", **elsewhere)
    watched = add_task("RUNNING", **elsewhere)
    gone = add_task("RUNNING", **elsewhere)
    executor.alive = {adopted: FakeHandle(adopted), watched: None}
    sup = Supervisor(executor=executor)
    sup.recover()
    assert set(sup.handles) == {adopted}
    statuses = {t: get_task(t)["status"] for t in (adopted, watched, gone)}
    assert statuses == {adopted: "RUNNING", watched: "RUNNING", gone: "QUEUED"}


def test_a_cluster_that_does_not_answer_requeues_nothing(executor: FakeExecutor) -> None:
    task_id = add_task("RUNNING", host="node-7", pid=99)
    executor.down = True
    Supervisor(executor=executor).recover()
    assert get_task(task_id)["status"] == "RUNNING"


def test_an_exited_worker_is_settled_then_released(executor: FakeExecutor) -> None:
    task_id = add_task()
    sup = Supervisor(executor=executor)
    sup.launch()
    handle = sup.handles[task_id]
    assert isinstance(handle, FakeHandle)
    handle.code = -9
    sup.reap()
    task = get_task(task_id)
    assert task["status"] == "FAILED" and "SIGKILL" in task["message"]
    assert handle.released and task_id not in sup.handles
    assert "the last words" in [ln["message"] for ln in task_logs(task_id)]
