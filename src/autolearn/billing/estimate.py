"""Cost and ETA before launch: spec price × nodes × the expected run time.

The run time is the training plan's images (train size × epochs) over a throughput:
the median measured on this installation's finished tasks of the same model, input
size and spec when there are any (what this hardware really does), else the plan's own
estimate (``training/hparams.py``). The run stops at max duration, so that bounds both
the ETA and the cost; pay-as-you-go also shows the deposit frozen at submission.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from sqlalchemy import select

from autolearn.billing.catalog import get_catalog
from autolearn.billing.money import cost_cents, fmt
from autolearn.db import Task, session_scope
from autolearn.db.models import as_utc
from autolearn.tasks.spec import TaskSpec
from autolearn.tasks.states import Status

MEASURED_TASKS = 5  # the newest finished tasks a measured throughput comes from
SCANNED_TASKS = 200


def measured_images_per_s(
    model: str | None, input_size: int | None, spec: str, engine: Any = None
) -> float | None:
    """Median images/s of the newest SUCCEED tasks that trained ``model`` at
    ``input_size`` on ``spec``, or None when there are none."""
    rates: list[float] = []
    with session_scope(engine) as s:
        rows = s.scalars(
            select(Task)
            .where(Task.status == Status.SUCCEED.value, Task.started_at.is_not(None))
            .order_by(Task.id.desc())
            .limit(SCANNED_TASKS)
        )
        for task in rows:
            rate = _rate(task, model, input_size, spec)
            if rate:
                rates.append(rate)
            if len(rates) >= MEASURED_TASKS:
                break
    return statistics.median(rates) if rates else None


def _rate(task: Task, model: str | None, input_size: int | None, spec: str) -> float | None:
    plan = task.plan or {}
    same_spec = (task.spec.get("resources") or {}).get("spec", "cpu-2c8g") == spec
    if plan.get("model") != model or plan.get("input_size") != input_size or not same_spec:
        return None
    if task.finished_at is None or task.started_at is None or task.attempts != 1:
        return None  # a resumed run's wall time says nothing about its speed
    seconds = (as_utc(task.finished_at) - as_utc(task.started_at)).total_seconds()
    images = task.epoch * sum((plan.get("train_counts") or {}).values())
    return images / seconds if seconds > 0 and images > 0 else None


def estimate(spec: TaskSpec, plan: dict[str, Any], engine: Any = None) -> dict[str, Any]:
    """Cost and ETA of the task ``spec`` with its resolved ``plan``."""
    from autolearn.settings import get_settings

    catalog = get_catalog()
    res = spec.resources
    row = catalog.spec(res.spec)
    images = int(plan.get("epochs", 0)) * sum((plan.get("train_counts") or {}).values())
    measured = measured_images_per_s(plan.get("model"), plan.get("input_size"), res.spec, engine)
    train_s = images / measured if measured else float(plan.get("estimated_train_s", 0.0))
    max_s = int(plan.get("max_duration_s", spec.model.max_duration))
    eta_s = min(math.ceil(train_s), max_s)
    prepaid = res.charge_type == "PREPAID"
    price = 0 if prepaid else row.price_cents
    billed = get_settings().billing and not prepaid
    freeze = price * res.count * catalog.freeze_hours if billed else 0
    return {
        "spec": res.spec,
        "count": res.count,
        "charge_type": res.charge_type,
        "resource_group": res.resource_group,
        "currency": catalog.currency,
        "price_per_hour": fmt(row.price_cents * res.count),
        "images": images,
        "images_per_s": round(images / train_s, 2) if train_s > 0 else None,
        "throughput": "measured" if measured else "estimated",
        "eta_s": eta_s,
        "max_duration_s": max_s,
        "stops_at_max_duration": train_s > max_s,
        "cost": fmt(cost_cents(price, res.count, eta_s)),
        "max_cost": fmt(cost_cents(price, res.count, max_s)),
        "freeze": fmt(freeze),
        "billing": billed,
    }
