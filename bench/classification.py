"""Classification benchmark: trainer overhead and time-to-accuracy on ants/bees.

Two parts, both measured in one run on whatever machine runs it (DESIGN.md §5: speed
goals are ratios measured side by side, never timed assertions in tests):

(a) throughput ratio: images/s of our ``Trainer`` (with the runner's full callback stack:
    target metric, time budget, best-outputs, checkpoint to an object store, progress into
    the SQLite database, stop polling) divided by images/s of a plain PyTorch loop on the
    same model, Dataset, DataLoader settings and batch size. Runs alternate plain/ours in
    ABBA order over several rounds; the median per-round ratio is the result (goal ≥ 0.97).

(b) time-to-accuracy: ants/bees imported into a throw-away AUTOLEARN_HOME, a task created
    with preference ``speed`` and default hyper-parameters, and run in-process through the
    real worker entry (``scheduler.worker.run_task``). Reports the delivered (best
    checkpoint) model's validation accuracy and the training time (goal ≥ 96 % within
    60 s of training), plus a plain-loop baseline (torchvision's classic recipe) in the
    same run.

Usage::

    .venv/bin/python bench/classification.py                # full run (several minutes)
    .venv/bin/python bench/classification.py --quick        # smoke run (~2 min on 2 cores)
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from autolearn.datasets.partition import partition
from autolearn.datasets.service import VersionInfo, import_dataset, load_manifest
from autolearn.models.classification import build_classifier
from autolearn.models.zoo import get_entry
from autolearn.scheduler.job import samples
from autolearn.scheduler.reporting import DbReporter
from autolearn.scheduler.worker import run_task
from autolearn.settings import get_settings
from autolearn.storage import open_store
from autolearn.tasks.service import create_task, get_task, parse_spec, task_events
from autolearn.training.callbacks import (
    Callback,
    Checkpoint,
    Progress,
    TargetMetric,
    TimeBudget,
)
from autolearn.training.classification import ClassificationOps
from autolearn.training.data import (
    ImageClassificationDataset,
    auto_num_workers,
    cache_side_for,
    eval_transform,
    make_loader,
    train_transform,
)
from autolearn.training.hparams import Plan
from autolearn.training.loop import LoopContext
from autolearn.training.runner import _BestOutputs, model_meta
from autolearn.training.trainer import Trainer, param_groups, warmup_cosine
from common import REPO, load_average, machine_info, median, temporary_home, write_json

MODEL = "tf_efficientnet_lite0.in1k"
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "hymenoptera"
DEFAULT_OUT = REPO / "bench" / "results" / "classification.json"
GOAL_RATIO = 0.97
GOAL_ACCURACY = 0.96
GOAL_TRAIN_S = 60.0
LR = 1e-3
WEIGHT_DECAY = 0.05
LABEL_SMOOTHING = 0.1

log = logging.getLogger("bench")


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class BenchSettings:
    """Sizes of one benchmark run; ``--quick`` shrinks them to a smoke run."""

    rounds: int
    warmup_steps: int
    measured_steps: int
    batch_size: int
    input_size: int
    baseline_epochs: int
    task_epochs: int | None  # None: the task's default (auto) epochs
    num_workers: int


def settings_from(args: argparse.Namespace) -> BenchSettings:
    """Sizes from the flags; the loader-worker count is shared with the task's worker.

    ``--num-workers`` (or an ``AUTOLEARN_NUM_WORKERS`` already set) is exported so the
    task in (b) loads data exactly as (a) and the baseline do.
    """
    quick = args.quick
    requested = args.num_workers
    if requested < 0:
        requested = int(os.environ.get("AUTOLEARN_NUM_WORKERS", "-1"))
    os.environ["AUTOLEARN_NUM_WORKERS"] = str(requested)
    return BenchSettings(
        rounds=args.rounds or (2 if quick else 4),
        warmup_steps=args.warmup_steps or (1 if quick else 2),
        measured_steps=args.steps or (2 if quick else 8),
        batch_size=args.batch_size,
        input_size=224,
        baseline_epochs=args.baseline_epochs or (1 if quick else 3),
        task_epochs=1 if quick else None,
        num_workers=auto_num_workers(requested, torch.cuda.is_available()),
    )


# --------------------------------------------------------------------------- (a) throughput


@dataclass
class ThroughputSetup:
    """Everything both contenders share: model, initial weights, data, loader settings."""

    model: nn.Module
    initial_state: dict[str, torch.Tensor]
    train: Subset[Any]  # the runner's Dataset, indices cycling over the training images
    val: ImageClassificationDataset  # one batch: the trainer validates, untimed
    task: dict[str, Any]  # a task row that the trainer's progress sink writes to
    plan: Plan


@dataclass
class RunTiming:
    """Timestamps of one run: ``start`` before the first batch is fetched, one mark per step."""

    start: float
    marks: list[float]
    batch_size: int
    warmup_steps: int
    after_epoch_s: float = 0.0  # trainer only: validation + checkpoint + epoch event (untimed)

    @property
    def steady_images_per_s(self) -> float:
        """Images/s from the end of the last warm-up step to the end of the last step."""
        measured = len(self.marks) - self.warmup_steps
        span = self.marks[-1] - self.marks[self.warmup_steps - 1]
        return measured * self.batch_size / span

    @property
    def epoch_images_per_s(self) -> float:
        """Images/s over the whole epoch, warm-up and loader start-up included (EpochStats)."""
        return len(self.marks) * self.batch_size / (self.marks[-1] - self.start)


class StepClock(Callback):
    """Appended last to the trainer's callbacks, so a mark follows every other callback."""

    def __init__(self) -> None:
        self.marks: list[float] = []

    def on_train_step_end(self, trainer: Trainer, step: int, loss: float) -> None:
        self.marks.append(time.perf_counter())


def prepare_throughput(version: VersionInfo, cfg: BenchSettings) -> ThroughputSetup:
    """Build the shared model and data once, the way the worker builds them.

    The training Dataset is the runner's (``ImageClassificationDataset`` with its train
    transform and, with no loader workers, its shrunk-image cache). The cache is filled
    before timing so neither contender pays the one-off JPEG decoding. Indices cycle over
    the training images (245 here) so a run can have more steps than one real epoch.
    """
    manifest = load_manifest(version)
    part = partition(manifest, use_fixed=True, val_percent=20.0, seed=0)
    classes = list(manifest.classes)
    train_samples = samples(manifest, part.train, classes)
    val_samples = samples(manifest, part.val, classes)[: cfg.batch_size]
    entry = get_entry(MODEL)
    cache = (
        cache_side_for(cfg.input_size, len(train_samples) + len(val_samples))
        if cfg.num_workers == 0
        else None
    )
    train_ds = ImageClassificationDataset(
        train_samples, train_transform(cfg.input_size, entry.mean, entry.std), cache
    )
    val_ds = ImageClassificationDataset(
        val_samples, eval_transform(cfg.input_size, entry.mean, entry.std), cache
    )
    steps = cfg.warmup_steps + cfg.measured_steps
    indices = [i % len(train_ds) for i in range(steps * cfg.batch_size)]
    if cache:  # decode once now, so no timed run pays for it
        for i in sorted(set(indices)):
            train_ds[i]
        for i in range(len(val_ds)):
            val_ds[i]
        log.info("(a) decoded and cached %d training images", len(set(indices)))
    model = build_classifier(MODEL, len(classes), pretrained=True)
    model = model.to(memory_format=torch.channels_last)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    task = create_task(
        parse_spec(
            {
                "basic": {"name": "bench-throughput"},
                "data": {"source": {"type": "dataset", "dataset": version.ref}},
                "model": {
                    "pretrained": MODEL,
                    "preference": "speed",
                    "hyperparams": {"batch_size": cfg.batch_size},
                },
            }
        )
    )
    return ThroughputSetup(
        model,
        initial,
        Subset(train_ds, indices),
        val_ds,
        task,
        Plan.model_validate(task["plan"]),
    )


def loader_for(setup: ThroughputSetup, cfg: BenchSettings) -> DataLoader[Any]:
    """The same DataLoader settings for both contenders: the runner's ``make_loader``."""
    return make_loader(setup.train, cfg.batch_size, True, cfg.num_workers, seed=0)


def run_plain(setup: ThroughputSetup, cfg: BenchSettings) -> RunTiming:
    """The loop a PyTorch user writes: no callbacks, no checkpoint, no progress."""
    model = setup.model
    model.load_state_dict(setup.initial_state)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    total = cfg.warmup_steps + cfg.measured_steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 - s / total)
    criterion = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    loader = loader_for(setup, cfg)
    marks: list[float] = []
    start = time.perf_counter()
    for images, targets in loader:
        images = images.to(memory_format=torch.channels_last)
        loss = criterion(model(images), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        float(loss.detach())  # a real loop reads the loss to log it
        marks.append(time.perf_counter())
    return RunTiming(start, marks, cfg.batch_size, cfg.warmup_steps)


def run_ours(setup: ThroughputSetup, cfg: BenchSettings) -> RunTiming:
    """One epoch of ``Trainer.fit`` with the callback stack ``run_classification`` builds.

    Only the training part is timed (``EpochStats``/step marks); the validation pass,
    the checkpoint writes and the epoch event that follow are reported separately as
    ``after_epoch_s``.
    """
    model, plan = setup.model, setup.plan
    model.load_state_dict(setup.initial_state)
    optimizer = torch.optim.AdamW(param_groups(model, WEIGHT_DECAY), lr=LR)
    total = cfg.warmup_steps + cfg.measured_steps
    scheduler = warmup_cosine(optimizer, round(plan.warmup_epochs * total), total)
    ops = ClassificationOps(len(plan.classes), LABEL_SMOOTHING)
    reporter = DbReporter(setup.task["id"])
    clock = StepClock()
    callbacks: list[Callback] = [
        TargetMetric("accuracy", 0.999),
        TimeBudget(3600.0),
        _BestOutputs(ops),
        Checkpoint(open_store(setup.task["output_uri"]), model_meta(plan, setup.task["id"])),
        Progress(reporter, get_settings().progress_interval_s),
        clock,
    ]
    trainer = Trainer(
        model,
        ops,
        optimizer,
        scheduler,
        loader_for(setup, cfg),
        make_loader(setup.val, cfg.batch_size, False, cfg.num_workers, seed=0),
        LoopContext(device=torch.device("cpu"), amp_dtype=None, channels_last=True),
        epochs=1,
        callbacks=callbacks,
        monitor="accuracy",
        seed=0,
        external_stop=reporter.stop_requested,
    )
    begin = time.perf_counter()
    trainer.fit()
    fit_s = time.perf_counter() - begin
    stats = trainer.last_train_stats
    assert stats is not None and stats.steps == len(clock.marks) == total
    # train_one_epoch's clock starts just before the loader is iterated, as run_plain's does
    start = clock.marks[-1] - stats.seconds
    return RunTiming(start, clock.marks, cfg.batch_size, cfg.warmup_steps, fit_s - stats.seconds)


def _rounded_median(values: list[float], digits: int = 3) -> float:
    value = median(values)
    assert value is not None
    return round(value, digits)


def bench_throughput(version: VersionInfo, cfg: BenchSettings) -> dict[str, Any]:
    """Alternate plain and ours in ABBA order; per-round ratios cancel the machine's drift."""
    if cfg.warmup_steps < 1:
        raise SystemExit("--warmup-steps must be at least 1")
    setup = prepare_throughput(version, cfg)
    runners: dict[str, Callable[[ThroughputSetup, BenchSettings], RunTiming]] = {
        "plain": run_plain,
        "ours": run_ours,
    }
    rounds: list[dict[str, Any]] = []
    for r in range(cfg.rounds):
        order = ("plain", "ours") if r % 2 == 0 else ("ours", "plain")
        timings = {}
        for who in order:
            timings[who] = runners[who](setup, cfg)
            log.info("(a) round %d %-5s %.2f img/s", r + 1, who, timings[who].steady_images_per_s)
        plain, ours = timings["plain"], timings["ours"]
        rounds.append(
            {
                "round": r + 1,
                "order": list(order),
                "plain_images_per_s": round(plain.steady_images_per_s, 3),
                "ours_images_per_s": round(ours.steady_images_per_s, 3),
                "ratio": round(ours.steady_images_per_s / plain.steady_images_per_s, 4),
                "plain_epoch_images_per_s": round(plain.epoch_images_per_s, 3),
                "ours_epoch_images_per_s": round(ours.epoch_images_per_s, 3),
                "epoch_ratio": round(ours.epoch_images_per_s / plain.epoch_images_per_s, 4),
                "ours_after_epoch_s": round(ours.after_epoch_s, 3),
            }
        )
    ratio = _rounded_median([x["ratio"] for x in rounds], 4)
    return {
        "model": MODEL,
        "pretrained": True,
        "num_classes": len(setup.plan.classes),
        "batch_size": cfg.batch_size,
        "input_size": cfg.input_size,
        "dtype": "float32",
        "channels_last": True,
        "device": "cpu",
        "num_workers": cfg.num_workers,
        "train_images": len(setup.train.dataset),  # type: ignore[arg-type]
        "cached_decoded_images": cfg.num_workers == 0,
        "warmup_steps": cfg.warmup_steps,
        "measured_steps": cfg.measured_steps,
        "rounds": cfg.rounds,
        "timed": (
            "images/s = measured_steps × batch_size / (time of the last step's end − time of "
            "the last warm-up step's end). A step's end is taken after optimizer.step, "
            "scheduler.step, reading the loss and (ours) every callback, so the span covers "
            "data loading, forward, backward, optimizer, scheduler and per-step callbacks "
            "(Progress events into SQLite, TimeBudget, stop polling). Both use the same "
            "Dataset (runner's transforms, decoded-image cache pre-filled), make_loader "
            "settings, model and initial weights (reset each run). Ours runs Trainer.fit for "
            "one epoch; its validation pass, checkpoint writes and epoch event come after "
            "the timed span (after_epoch_s, not counted). epoch_* numbers time the whole "
            "epoch from loader start (EpochStats.seconds) including warm-up steps."
        ),
        "rounds_detail": rounds,
        "median_plain_images_per_s": _rounded_median([x["plain_images_per_s"] for x in rounds]),
        "median_ours_images_per_s": _rounded_median([x["ours_images_per_s"] for x in rounds]),
        "median_ratio": ratio,
        "min_ratio": min(x["ratio"] for x in rounds),
        "max_ratio": max(x["ratio"] for x in rounds),
        "median_epoch_ratio": _rounded_median([x["epoch_ratio"] for x in rounds], 4),
        "goal_ratio": GOAL_RATIO,
        "goal_met": ratio >= GOAL_RATIO,
    }


# --------------------------------------------------------------------------- (b) accuracy


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def epoch_rows(events: Iterable[dict[str, Any]], batch_size: int) -> list[dict[str, Any]]:
    """Per-epoch numbers from the task's epoch events.

    Events carry images/s but not seconds; an epoch's training seconds are its images
    (steps since the previous event × batch size: the train loader drops the last
    partial batch) divided by its images/s, which is exactly ``EpochStats.seconds``.
    """
    rows: list[dict[str, Any]] = []
    prev_step, cumulative = 0, 0.0
    for event in events:
        data = event["data"]
        steps = int(event["step"]) - prev_step
        prev_step = int(event["step"])
        ips = data.get("train_images_per_s") or 0.0
        train_s = data.get("train_s")
        if train_s is None:  # events from before epoch timings were recorded
            train_s = steps * batch_size / ips if ips else None
        cumulative += train_s or 0.0
        rows.append(
            {
                "epoch": event["epoch"],
                "val_accuracy": data["val"].get("accuracy"),
                "val_loss": data["val"].get("loss"),
                "train_loss": data.get("train_loss"),
                "train_images_per_s": ips,
                "train_steps": steps,
                "train_s": None if train_s is None else round(train_s, 2),
                "cumulative_train_s": round(cumulative, 2),
                "best": bool(data.get("best")),
                "partial": bool(data.get("partial_epoch")),
                "ts": event["ts"],
            }
        )
    return rows


def _first(rows: list[dict[str, Any]], cond: Callable[[dict[str, Any]], bool]) -> Any:
    return next((row for row in rows if cond(row)), None)


def bench_time_to_accuracy(version: VersionInfo, cfg: BenchSettings) -> dict[str, Any]:
    """Create and run a task exactly as a user's worker would, then read what it recorded."""
    model_section: dict[str, Any] = {"preference": "speed", "max_duration": "1h"}
    if cfg.task_epochs is not None:
        model_section["hyperparams"] = {"epochs": cfg.task_epochs}
    spec = {
        "basic": {"name": "bench-ants-bees"},
        "data": {"source": {"type": "dataset", "dataset": version.ref}},
        "model": model_section,
    }
    task = create_task(parse_spec(spec))
    task_id = task["id"]
    log.info("(b) task %d: %s", task_id, task["plan"])
    previous_sigterm = signal.getsignal(signal.SIGTERM)
    begin = time.perf_counter()
    try:
        status = run_task(task_id)
    finally:
        run_task_s = time.perf_counter() - begin
        signal.signal(signal.SIGTERM, previous_sigterm)  # run_task installs its own handler
    task = get_task(task_id)
    plan = task["plan"]
    rows = epoch_rows(task_events(task_id, kind="epoch"), plan["batch_size"])
    statuses = task_events(task_id, kind="status")
    running = _first(statuses, lambda e: e["data"].get("status") == "RUNNING")
    task_wall_s = (
        (_ts(statuses[-1]["ts"]) - _ts(running["ts"])).total_seconds() if running else None
    )
    metrics = task.get("metrics") or {}
    delivered = metrics.get("accuracy")
    best_epoch = metrics.get("best_epoch")
    report = None
    if task.get("report_uri"):
        report = open_store(task["output_uri"]).get_json("evaluation/report.json")
    train_s = rows[-1]["cumulative_train_s"] if rows else None
    best_row = _first(rows, lambda r: r["epoch"] == best_epoch)
    target_row = _first(rows, lambda r: (r["val_accuracy"] or 0) >= GOAL_ACCURACY)
    goal_met = bool(
        delivered is not None
        and delivered >= GOAL_ACCURACY
        and train_s is not None
        and train_s <= GOAL_TRAIN_S
    )
    return {
        "dataset": version.ref,
        "dataset_images": version.class_counts,
        "spec": spec,
        "plan": {
            k: plan[k]
            for k in (
                "model",
                "input_size",
                "epochs",
                "lr",
                "batch_size",
                "warmup_epochs",
                "weight_decay",
                "label_smoothing",
                "estimated_train_s",
            )
        },
        "task_id": task_id,
        "status": status.value,
        "stop_reason": task.get("stop_reason"),
        "message": task.get("message"),
        "delivered_val_accuracy": delivered,
        "best_epoch": best_epoch,
        "last_epoch_val_accuracy": rows[-1]["val_accuracy"] if rows else None,
        "epochs": rows,
        "train_s": train_s,
        "train_s_to_best_epoch": best_row["cumulative_train_s"] if best_row else None,
        "train_s_to_target": target_row["cumulative_train_s"] if target_row else None,
        "task_wall_s": None if task_wall_s is None else round(task_wall_s, 2),
        "run_task_wall_s": round(run_task_s, 2),
        "report_metrics": report.get("metrics") if report else None,
        "timed": (
            "train_s: sum over epochs of that epoch's training time (EpochStats.seconds, "
            "recovered from the epoch events as images / images-per-s; includes data "
            "loading, the first epoch also decodes and caches every image). "
            "train_s_to_best_epoch / train_s_to_target: the same sum up to the delivered "
            "(best) epoch / the first epoch with val accuracy ≥ goal. task_wall_s: the "
            "task's RUNNING status event to its final status event (model build, all "
            "epochs, validation, checkpoints, report). run_task_wall_s: wall time of "
            "run_task() in this process."
        ),
        "goal": {"val_accuracy": GOAL_ACCURACY, "train_s": GOAL_TRAIN_S},
        "goal_rule": "delivered_val_accuracy ≥ 0.96 and train_s (all epochs run) ≤ 60",
        "goal_met": goal_met,
    }


def anonymised_copy(root: Path, home: Path) -> Path:
    """The same images with classes renamed class_0, class_1, …: no class name matches
    ImageNet, so the task fine-tunes a fresh head — the common case for user data, and
    an honest check, since ants/bees come from ImageNet and its pretrained head knows them."""
    import shutil

    dest = home / "hymenoptera-anon"
    for split in ("train", "val"):
        for i, cls in enumerate(sorted(p.name for p in (root / split).iterdir() if p.is_dir())):
            shutil.copytree(root / split / cls, dest / split / f"class_{i}")
    return dest


def bench_plain_baseline(data_root: Path, cfg: BenchSettings) -> dict[str, Any]:
    """The reference loop DESIGN.md quotes: torchvision's classic fine-tuning recipe.

    ImageFolder straight from the folder (JPEG decoded every epoch), RandomResizedCrop(224)
    + flip for training, Resize(256) + CenterCrop(224) for validation, mean = std = 0.5,
    AdamW 1e-3 with OneCycleLR, label smoothing 0.1, batch 32; the same pretrained lite0
    and head init as ours (``build_classifier``).
    """
    from torchvision import datasets as tv_datasets
    from torchvision import transforms as T

    torch.manual_seed(0)
    norm = T.Normalize(mean=[0.5] * 3, std=[0.5] * 3)
    train_tf = T.Compose(
        [T.RandomResizedCrop(cfg.input_size), T.RandomHorizontalFlip(), T.ToTensor(), norm]
    )
    resize = math.floor(cfg.input_size * 256 / 224)  # 256 for 224 px
    val_tf = T.Compose([T.Resize(resize), T.CenterCrop(cfg.input_size), T.ToTensor(), norm])
    train = tv_datasets.ImageFolder(str(data_root / "train"), train_tf)
    val = tv_datasets.ImageFolder(str(data_root / "val"), val_tf)
    train_loader = DataLoader(
        train, batch_size=cfg.batch_size, shuffle=True, num_workers=cfg.num_workers
    )
    val_loader = DataLoader(val, batch_size=cfg.batch_size, num_workers=cfg.num_workers)
    model = build_classifier(MODEL, len(train.classes), pretrained=True)
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=LR, total_steps=cfg.baseline_epochs * len(train_loader)
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    rows: list[dict[str, Any]] = []
    cumulative = 0.0
    for epoch in range(1, cfg.baseline_epochs + 1):
        model.train()
        start, images = time.perf_counter(), 0
        for x, y in train_loader:
            loss = criterion(model(x.to(memory_format=torch.channels_last)), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            float(loss.detach())
            images += int(y.shape[0])
        train_s = time.perf_counter() - start
        cumulative += train_s
        model.eval()
        correct, start = 0, time.perf_counter()
        with torch.inference_mode():
            for x, y in val_loader:
                pred = model(x.to(memory_format=torch.channels_last)).argmax(1)
                correct += int((pred == y).sum())
        acc = correct / len(val)
        rows.append(
            {
                "epoch": epoch,
                "val_accuracy": round(acc, 4),
                "train_s": round(train_s, 2),
                "cumulative_train_s": round(cumulative, 2),
                "train_images_per_s": round(images / train_s, 2),
                "eval_s": round(time.perf_counter() - start, 2),
            }
        )
        log.info("(b) baseline epoch %d: val acc %.4f, %.1f s", epoch, acc, train_s)
    best = max(rows, key=lambda r: r["val_accuracy"])
    return {
        "recipe": (
            "ImageFolder; RandomResizedCrop(224)+HorizontalFlip / Resize(256)+CenterCrop(224); "
            "mean=std=0.5; AdamW(lr=1e-3, wd=0.01 default); OneCycleLR(max_lr=1e-3); "
            "CrossEntropy(label_smoothing=0.1); batch 32; shuffle; no drop_last; "
            f"num_workers={cfg.num_workers}; channels_last fp32"
        ),
        "epochs": rows,
        "best_epoch": best["epoch"],
        "best_val_accuracy": best["val_accuracy"],
        "last_val_accuracy": rows[-1]["val_accuracy"],
        "train_s": round(cumulative, 2),
    }


# --------------------------------------------------------------------------- output


def print_tables(result: dict[str, Any]) -> None:
    """A human-readable summary of the JSON; the JSON is the record."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if result["quick"]:
        console.print("[bold]--quick smoke run: too few steps and epochs for a verdict[/bold]")
    tp = result.get("throughput")
    if tp:
        table = Table(title="(a) images/s, ours (Trainer + callbacks) vs plain loop")
        for col in ("round", "order", "plain img/s", "ours img/s", "ratio", "epoch ratio"):
            table.add_column(col, justify="right")
        for r in tp["rounds_detail"]:
            table.add_row(
                str(r["round"]),
                "→".join(r["order"]),
                f"{r['plain_images_per_s']:.2f}",
                f"{r['ours_images_per_s']:.2f}",
                f"{r['ratio']:.3f}",
                f"{r['epoch_ratio']:.3f}",
            )
        table.add_row(
            "median",
            "",
            f"{tp['median_plain_images_per_s']:.2f}",
            f"{tp['median_ours_images_per_s']:.2f}",
            f"{tp['median_ratio']:.3f}",
            f"{tp['median_epoch_ratio']:.3f}",
        )
        console.print(table)
        console.print(f"goal ≥ {tp['goal_ratio']}: {'met' if tp['goal_met'] else 'NOT met'}")
    tta = result.get("time_to_accuracy")
    anon = result.get("time_to_accuracy_anonymous")
    base = result.get("baseline")
    if tta or base:
        table = Table(title="(b) ants/bees: val accuracy per epoch and training seconds")
        for col in ("run", "epoch", "val acc", "train s", "cum. train s", "img/s", "note"):
            table.add_column(col, justify="right")
        for label, run in (("ours (task)", tta), ("ours, anon. classes", anon), ("plain", base)):
            for row in (run or {}).get("epochs", []):
                delivered = run is not base and row["epoch"] == run["best_epoch"]
                table.add_row(
                    label,
                    str(row["epoch"]),
                    f"{row['val_accuracy']:.4f}",
                    f"{row['train_s']}",
                    f"{row['cumulative_train_s']}",
                    f"{row['train_images_per_s']:.1f}",
                    ("delivered" if delivered else "") + (" partial" if row.get("partial") else ""),
                )
        console.print(table)
    for label, run in (("named classes", tta), ("anonymised classes", anon)):
        if not run:
            continue
        acc = run["delivered_val_accuracy"]
        console.print(
            f"{label}: delivered val accuracy {'none' if acc is None else f'{acc:.4f}'} (epoch "
            f"{run['best_epoch']}), {run['train_s']} s of training, task wall "
            f"{run['task_wall_s']} s, stop reason {run['stop_reason']}; goal ≥ "
            f"{GOAL_ACCURACY} within {GOAL_TRAIN_S:.0f} s: "
            f"{'met' if run['goal_met'] else 'NOT met'}"
        )


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="smoke run: 2 rounds, 2 steps, 1 epoch")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result path")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="hymenoptera folder")
    p.add_argument("--rounds", type=int, default=0, help="(a) ABBA rounds (default 4)")
    p.add_argument("--steps", type=int, default=0, help="(a) measured steps per run (default 8)")
    p.add_argument("--warmup-steps", type=int, default=0, help="(a) untimed steps (default 2)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--num-workers", type=int, default=-1, help="DataLoader workers; -1 as the runner picks"
    )
    p.add_argument("--baseline-epochs", type=int, default=0, help="(b) plain loop epochs (3)")
    p.add_argument("--skip-throughput", action="store_true", help="skip part (a)")
    p.add_argument("--skip-task", action="store_true", help="skip (b)'s task run")
    p.add_argument("--skip-baseline", action="store_true", help="skip (b)'s plain-loop baseline")
    p.add_argument("--keep-home", action="store_true", help="keep the temporary AUTOLEARN_HOME")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not (args.data / "train").is_dir() or not (args.data / "val").is_dir():
        print(f"{args.data} needs train/ and val/ class folders (hymenoptera)", file=sys.stderr)
        return 2
    cfg = settings_from(args)
    result: dict[str, Any] = {
        "benchmark": "classification",
        "quick": args.quick,
        "note": "smoke run (--quick): checks the benchmark runs, not the goals"
        if args.quick
        else "full run",
        "command": shlex.join([sys.executable, *sys.argv]),
        "machine": machine_info(),
        "settings": asdict(cfg),
    }
    started = time.perf_counter()
    with temporary_home(keep=args.keep_home) as home:
        log.info("AUTOLEARN_HOME=%s", home)
        begin = time.perf_counter()
        version = import_dataset(args.data, name="hymenoptera")
        result["dataset"] = {
            "ref": version.ref,
            "source": str(args.data),
            "class_counts": version.class_counts,
            "import_s": round(time.perf_counter() - begin, 2),
        }
        if not args.skip_throughput:
            result["throughput"] = bench_throughput(version, cfg)
        if not args.skip_task:
            result["time_to_accuracy"] = bench_time_to_accuracy(version, cfg)
            anon = import_dataset(anonymised_copy(args.data, home), name="hymenoptera-anon")
            result["time_to_accuracy_anonymous"] = bench_time_to_accuracy(anon, cfg)
        if not args.skip_baseline:
            result["baseline"] = bench_plain_baseline(args.data, cfg)
    result["machine"]["load_average_end"] = load_average()
    result["total_s"] = round(time.perf_counter() - started, 1)
    write_json(args.out, result)
    print_tables(result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
