"""The trainer and its callbacks, in-process on a tiny model and tensors made here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from autolearn.models.classification import build_classifier
from autolearn.storage import open_store
from autolearn.training.callbacks import (
    LAST_KEY,
    MODEL_KEY,
    Callback,
    Checkpoint,
    Progress,
    StopReason,
    TargetMetric,
    TimeBudget,
)
from autolearn.training.callbacks.checkpoint import load_torch
from autolearn.training.classification import ClassificationOps
from autolearn.training.loop import LoopContext
from autolearn.training.trainer import Trainer, param_groups, warmup_cosine


def _data(n: int = 48, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 3, 32, 32, generator=g) * 0.5 + (y.float() * 2 - 1).view(-1, 1, 1, 1)
    return TensorDataset(x, y)


def _trainer(epochs: int = 3, callbacks: list[Callback] | None = None, **kw: Any) -> Trainer:
    torch.manual_seed(0)
    model = build_classifier("test_tiny", 2, pretrained=False)
    gen = torch.Generator()
    train = DataLoader(_data(), batch_size=8, shuffle=True, generator=gen)
    val = DataLoader(_data(16, seed=1), batch_size=16)
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=0.01)
    sched = warmup_cosine(opt, 2, epochs * len(train))
    return Trainer(
        model,
        ClassificationOps(2),
        opt,
        sched,
        train,
        val,
        LoopContext(torch.device("cpu")),
        epochs,
        callbacks,
        **kw,
    )


class StopAfter(Callback):
    """Stops at the end of a given epoch (like a crash right after its checkpoint)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.epoch == self.epoch:
            trainer.request_stop(StopReason.USER_STOP)


def test_fit_runs_every_epoch_and_tracks_the_best() -> None:
    trainer = _trainer(epochs=3)
    result = trainer.fit()
    assert result.stop_reason is StopReason.COMPLETED
    assert result.epochs_run == 3 and [h["epoch"] for h in result.history] == [1, 2, 3]
    best = max(result.history, key=lambda h: h["val"]["accuracy"])
    assert result.best_metrics == best["val"]
    assert trainer.global_step == trainer.total_steps == 18


def test_target_metric_stops_after_the_first_epoch_that_reaches_it() -> None:
    target = TargetMetric("accuracy", 0.01)
    result = _trainer(epochs=5, callbacks=[target]).fit()
    assert result.stop_reason is StopReason.TARGET_REACHED
    assert result.epochs_run == 1 and target.reached_epoch == 1


class Slow(Callback):
    def on_train_step_end(self, trainer: Trainer, step: int, loss: float) -> None:
        time.sleep(0.05)


def test_time_budget_stops_mid_epoch_and_still_validates() -> None:
    budget = TimeBudget(limit_s=2.5, eval_estimate_s=0.1)
    trainer = _trainer(epochs=50, callbacks=[Slow(), budget])
    start = time.monotonic()
    result = trainer.fit()
    assert result.stop_reason is StopReason.TIME_LIMIT
    assert time.monotonic() - start < 2.5 + 2.0
    assert result.best_epoch is not None  # the partial epoch was evaluated
    assert result.history[-1]["partial"] is True


def test_time_budget_counts_earlier_attempts() -> None:
    budget = TimeBudget(limit_s=100)
    budget.load_state_dict({"elapsed_s": 60.0})
    assert 39.0 < budget.remaining_s <= 40.0
    assert budget.state_dict()["elapsed_s"] >= 60.0


def test_checkpoint_resume_continues_the_epoch_count_and_matches_a_straight_run(
    tmp_path: Path,
) -> None:
    straight = _trainer(epochs=4)
    straight.fit()

    store = open_store(tmp_path.as_uri())
    first = _trainer(epochs=4, callbacks=[Checkpoint(store, {"m": 1}), StopAfter(2)])
    assert first.fit().epochs_run == 2
    state = load_torch(store, LAST_KEY)
    assert state["epoch"] == 2 and state["global_step"] == 12

    resumed = _trainer(epochs=4, callbacks=[Checkpoint(store, {"m": 1})])
    resumed.load_checkpoint_state(state)
    result = resumed.fit()
    assert result.epochs_run == 2
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4]
    assert resumed.global_step == 24
    for key, value in straight.model.state_dict().items():
        assert torch.allclose(value.float(), resumed.model.state_dict()[key].float(), atol=1e-5), (
            key
        )
    best = load_torch(store, MODEL_KEY)
    assert best["meta"]["m"] == 1 and best["meta"]["epoch"] == result.best_epoch


def test_progress_events_carry_steps_eta_and_metrics() -> None:
    events: list[dict[str, Any]] = []
    _trainer(epochs=2, callbacks=[Progress(events.append, interval_s=0)]).fit()
    steps = [e for e in events if e["kind"] == "step"]
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert len(steps) == 12 and steps[-1]["step"] == 12 and steps[-1]["total_steps"] == 12
    assert steps[-1]["eta_s"] == pytest.approx(0, abs=0.01)
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert {"accuracy", "precision", "recall", "f1", "loss"} <= set(epochs[0]["data"]["val"])


def test_external_stop_is_a_user_stop() -> None:
    result = _trainer(epochs=3, external_stop=lambda: True).fit()
    assert result.stop_reason is StopReason.USER_STOP
    assert result.best_epoch is None


def test_warmup_then_cosine() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, warmup_steps=4, total_steps=20)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.01)
    assert lrs[:5] == sorted(lrs[:5]) and lrs[4] == pytest.approx(1.0)
    assert lrs[4:] == sorted(lrs[4:], reverse=True) and lrs[-1] < 0.05


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_trains_in_bf16_channels_last() -> None:
    from autolearn.training.runner import pick_device

    device, amp = pick_device()
    assert device.type == "cuda" and amp is torch.bfloat16
    torch.manual_seed(0)
    model = build_classifier("test_tiny", 2, pretrained=False).to(device)
    model = model.to(memory_format=torch.channels_last)
    train = DataLoader(_data(), batch_size=8, shuffle=True, generator=torch.Generator())
    val = DataLoader(_data(16, seed=1), batch_size=16)
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=0.01)
    ctx = LoopContext(device, amp_dtype=amp)
    result = Trainer(model, ClassificationOps(2), opt, None, train, val, ctx, 2).fit()
    assert result.stop_reason is StopReason.COMPLETED and result.best_metrics is not None
