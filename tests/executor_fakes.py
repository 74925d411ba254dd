"""A worker handle that runs nothing, for tests of the supervisor against the executor
protocol (``scheduler/executors``): the test ends the "worker" by setting ``code``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class FakeHandle:
    task_id: int
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    term_sent_at: float | None = None
    code: int | None = None
    released: bool = False
    tail: list[str] = field(default_factory=list)  # what ``log_tail`` answers

    @property
    def pid(self) -> int | None:
        return None

    def poll(self) -> int | None:
        return self.code

    def terminate(self) -> None:
        self.term_sent_at = self.term_sent_at or time.monotonic()

    def kill(self) -> None:
        self.code = -9

    def release(self) -> None:
        self.released = True

    def log_tail(self, lines: int = 15) -> list[str]:
        return self.tail[-lines:]

    def describe(self) -> str:
        return f"fake {self.task_id}"
