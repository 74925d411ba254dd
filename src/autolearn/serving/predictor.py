"""Predictions from a task's ``model.pt``, with the inputs prepared exactly as training
evaluated them: a model is only as good as its inputs resemble its validation inputs.

Images are read as training reads them (EXIF orientation applied, converted to RGB).
Classification uses the evaluation transform (resize, centre crop, normalise) and a softmax;
detection letterboxes to the model's square input (the detector normalises inside itself),
and boxes are mapped from that square back to the original image's pixels.

Results (JSON-ready dicts, one per image):

- detection: ``{"image", "width", "height", "detections": [{"label", "class_id", "score",
  "box": [x1, y1, x2, y2]}]}``, highest score first, filtered by each class's tuned threshold;
- classification: ``{"image", "width", "height", "predictions": [{"label", "class_id",
  "score"}]}``, the top k softmax probabilities, highest first;
- an image that cannot be read: ``{"image", "error"}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image, ImageOps

from autolearn.datasets.manifest import to_rgb
from autolearn.training.detection_runner import DEFAULT_THRESHOLD  # untuned classes

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from torch import nn

DEFAULT_TOP_K = 5
BATCH_SIZE = 8
READ_ERRORS = (OSError, ValueError, Image.DecompressionBombError)
DETECTION_KEYS = ("arch",)
CLASSIFICATION_KEYS = ("mean", "std")
COMMON_KEYS = ("scenario", "model", "classes", "input_size")

Result = dict[str, Any]


def read_image(path: Path) -> Image.Image:
    """The image upright (EXIF orientation) in RGB, decoded now so that a corrupt or
    truncated file fails here, naming itself, and not in the middle of a batch."""
    with Image.open(path) as img:
        upright = ImageOps.exif_transpose(img)
        rgb = to_rgb(upright if upright is not None else img)
        rgb.load()
        return img.copy() if rgb is img else rgb


def try_read_image(path: Path) -> tuple[Image.Image | None, str | None]:
    """``(image, None)``, or ``(None, what is wrong)`` for a file Pillow cannot decode."""
    try:
        return read_image(path), None
    except READ_ERRORS as exc:
        return None, f"unreadable image: {exc}"


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_uri(task: dict[str, Any]) -> str:
    """Where a task's best model lies; a ``TaskError`` saying what to do when it has none."""
    from autolearn.storage import open_store
    from autolearn.tasks.results import MODEL_KEY
    from autolearn.tasks.service import TaskError

    store = open_store(task["output_uri"]) if task.get("output_uri") else None
    if store is None or not store.exists(MODEL_KEY):
        raise TaskError(
            f"task {task['id']} has no trained model yet (status {task['status']}); "
            f"{_next_step(task['id'], task['status'])}"
        )
    return store.uri(MODEL_KEY)


def _next_step(task_id: int, status: str) -> str:
    from autolearn.tasks.states import ACTIVE, RESUMABLE, Status

    if status in {s.value for s in RESUMABLE}:
        return f"resume it with `autolearn task resume {task_id}`"
    if status == Status.QUEUED.value or status in {s.value for s in ACTIVE}:
        return (
            "the model is written after its first validation; "
            f"follow it with `autolearn task logs {task_id} --follow`"
        )
    return f"`autolearn task show {task_id}` says why"


def _as_uri(path_or_uri: str | Path) -> str:
    """A store URI for a URI or a local path (which must exist)."""
    text = str(path_or_uri)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"model file {text} does not exist")
    return path.as_uri()


def check_meta(saved: Any, source: str) -> dict[str, Any]:
    """The metadata of a model file, refusing files that cannot be rebuilt from it."""
    from autolearn.tasks.service import TaskError
    from autolearn.tasks.spec import kind_of

    meta = saved.get("meta") if isinstance(saved, dict) else None
    if not isinstance(meta, dict) or "state_dict" not in saved:
        raise TaskError(f"{source} is not an autolearn model file (no state_dict and meta)")
    detection = kind_of(str(meta.get("scenario"))) == "detection"
    needed = COMMON_KEYS + (DETECTION_KEYS if detection else CLASSIFICATION_KEYS)
    missing = [k for k in needed if meta.get(k) is None]
    if missing:
        raise TaskError(f"{source} lacks the metadata {', '.join(missing)}; retrain the task")
    return meta


def build_model(meta: dict[str, Any]) -> nn.Module:
    """The network described by ``meta``, untrained (the caller loads the weights)."""
    from autolearn.tasks.spec import kind_of

    num_classes = len(meta["classes"])
    if kind_of(meta["scenario"]) == "detection":
        from autolearn.models.detection import build_detector

        size = int(meta["input_size"])
        options = meta.get("detector_options") or {}
        return build_detector(
            meta["arch"], meta["model"], num_classes, size, pretrained=False, **options
        )
    from autolearn.models.classification import build_classifier

    return build_classifier(meta["model"], num_classes, pretrained=False)


def unletterbox(boxes: torch.Tensor, width: int, height: int, size: int) -> torch.Tensor:
    """Boxes in the letterboxed ``size`` × ``size`` input → pixels of the ``width`` ×
    ``height`` image, clamped to it (the letterbox pads right and bottom only)."""
    from autolearn.training.detection_data import letterbox_scale

    sx, sy = letterbox_scale(width, height, size)
    out = boxes.detach().float().cpu().clone().reshape(-1, 4)
    out[:, 0::2] = (out[:, 0::2] / sx).clamp(0, width)
    out[:, 1::2] = (out[:, 1::2] / sy).clamp(0, height)
    return out


def _score_holder(model: nn.Module) -> Any | None:
    """The part of a torchvision detector whose ``score_thresh`` drops low scores before
    NMS (Faster R-CNN keeps it in ``roi_heads``); None for a model without one."""
    holder = getattr(model, "roi_heads", model)
    return holder if isinstance(getattr(holder, "score_thresh", None), float) else None


class BasePredictor:
    """What every runtime shares: metadata, the evaluation transform, batching, files,
    class thresholds and the shape of the results. A runtime supplies ``logits`` (a
    normalised batch → class logits) and ``raw_detections`` (letterboxed images →
    ``{"boxes", "scores", "labels"}`` per image, labels 0..K-1, scores above ``floor``)."""

    def __init__(self, meta: dict[str, Any], batch_size: int = BATCH_SIZE) -> None:
        from autolearn.serving.allocator import tune
        from autolearn.tasks.spec import kind_of

        tune()  # eager PyTorch without a page fault per activation (serving/allocator.py)

        self.meta = meta
        self.classes: list[str] = [str(c) for c in meta["classes"]]
        self.scenario: str = meta["scenario"]
        self.kind = kind_of(self.scenario)
        self.input_size = int(meta["input_size"])
        self.batch_size = max(1, batch_size)
        self.transform = self._make_transform()

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def raw_detections(
        self, images: list[torch.Tensor], floor: float
    ) -> list[dict[str, torch.Tensor]]:
        raise NotImplementedError

    @property
    def is_detection(self) -> bool:
        return self.kind == "detection"

    def _make_transform(self) -> Callable[[Image.Image], torch.Tensor]:
        if self.is_detection:
            from autolearn.training.detection_data import eval_transform as det_transform

            return det_transform(self.input_size)
        from autolearn.training.data import eval_transform

        return eval_transform(self.input_size, self.meta["mean"], self.meta["std"])

    def class_thresholds(self, threshold: float | None = None) -> list[float]:
        """Each class's minimum score: ``threshold`` for all when given, else the
        validation-tuned best-F1 thresholds (0.5 for a class the file has none for)."""
        if threshold is not None:
            return [float(threshold)] * len(self.classes)
        tuned = self.meta.get("score_thresholds") or {}
        return [float(tuned.get(name, DEFAULT_THRESHOLD)) for name in self.classes]

    def predict(
        self,
        images: Sequence[Image.Image],
        names: Sequence[str | None] | None = None,
        *,
        threshold: float | None = None,
        top_k: int = DEFAULT_TOP_K,
    ) -> list[Result]:
        """One result per RGB image, in order; ``names`` fill the results' ``"image"``."""
        labels = list(names) if names is not None else [None] * len(images)
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} names")
        results: list[Result] = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                chunk = list(images[start : start + self.batch_size])
                if self.is_detection:
                    bodies = self._detect(chunk, self.class_thresholds(threshold))
                else:
                    bodies = self._classify(chunk, top_k)
                names_ = labels[start : start + self.batch_size]
                results.extend({"image": n, **b} for n, b in zip(names_, bodies, strict=True))
        return results

    def iter_paths(
        self,
        paths: Sequence[Path],
        *,
        threshold: float | None = None,
        top_k: int = DEFAULT_TOP_K,
    ) -> Iterator[tuple[Path, Image.Image | None, Result]]:
        """``(path, image or None, result)`` in order, reading one batch at a time so that
        a large folder never sits in memory; an unreadable file gets ``"error"``."""
        for start in range(0, len(paths), self.batch_size):
            chunk = list(paths[start : start + self.batch_size])
            loaded = [try_read_image(p) for p in chunk]
            good = [(p, img) for p, (img, _) in zip(chunk, loaded, strict=True) if img is not None]
            predicted = iter(
                self.predict(
                    [img for _, img in good],
                    [str(p) for p, _ in good],
                    threshold=threshold,
                    top_k=top_k,
                )
            )
            for path, (img, error) in zip(chunk, loaded, strict=True):
                result = (
                    next(predicted) if img is not None else {"image": str(path), "error": error}
                )
                yield path, img, result

    def predict_paths(
        self,
        paths: Sequence[Path],
        *,
        threshold: float | None = None,
        top_k: int = DEFAULT_TOP_K,
    ) -> list[Result]:
        """``predict`` on image files (see ``iter_paths``)."""
        return [r for _, _, r in self.iter_paths(paths, threshold=threshold, top_k=top_k)]

    def _classify(self, images: list[Image.Image], top_k: int) -> list[Result]:
        batch = torch.stack([self.transform(img) for img in images])
        probs = self.logits(batch).float().softmax(dim=1).cpu()
        scores, indices = probs.topk(max(1, min(top_k, len(self.classes))), dim=1)
        return [
            {
                "width": img.width,
                "height": img.height,
                "predictions": [
                    self._entry(int(i), float(s))
                    for s, i in zip(row_s.tolist(), row_i.tolist(), strict=True)
                ],
            }
            for img, row_s, row_i in zip(images, scores, indices, strict=True)
        ]

    def _detect(self, images: list[Image.Image], thresholds: list[float]) -> list[Result]:
        batch = [self.transform(img).as_subclass(torch.Tensor) for img in images]
        outputs = self.raw_detections(batch, min(thresholds))
        limits = torch.tensor(thresholds)
        return [
            {
                "width": img.width,
                "height": img.height,
                "detections": self._detections(out, img.width, img.height, limits),
            }
            for img, out in zip(images, outputs, strict=True)
        ]

    def _detections(
        self, out: dict[str, torch.Tensor], width: int, height: int, limits: torch.Tensor
    ) -> list[dict[str, Any]]:
        """Filter by class threshold, map to image pixels, sort by score. Boxes that lie
        wholly in the letterbox padding have no area once clamped and are dropped."""
        boxes = unletterbox(out["boxes"], width, height, self.input_size)
        scores = out["scores"].detach().float().cpu()
        labels = out["labels"].detach().cpu().long()
        known = (labels >= 0) & (labels < len(self.classes))
        keep = known & (scores >= limits[labels.clamp(0, len(self.classes) - 1)])
        keep &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        idx = keep.nonzero().flatten()
        idx = idx[torch.argsort(scores[idx], descending=True, stable=True)]
        return [
            {
                **self._entry(int(labels[i]), float(scores[i])),
                "box": [round(float(v), 1) for v in boxes[i].tolist()],
            }
            for i in idx.tolist()
        ]

    def _entry(self, class_id: int, score: float) -> dict[str, Any]:
        return {"label": self.classes[class_id], "class_id": class_id, "score": round(score, 4)}


class Predictor(BasePredictor):
    """A trained PyTorch model ready to predict: built from its file's metadata, in eval
    mode, on CUDA when there is one. ``predict`` takes Pillow images; ``predict_paths``
    files."""

    def __init__(
        self,
        model: nn.Module,
        meta: dict[str, Any],
        device: str | torch.device | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        super().__init__(meta, batch_size)
        self.device = torch.device(device) if device is not None else default_device()
        self.model = model.to(self.device).eval()
        holder = _score_holder(self.model)
        self._score_floor: float | None = holder.score_thresh if holder is not None else None

    @classmethod
    def from_task(
        cls, task_id: int, engine: Engine | None = None, device: str | None = None
    ) -> Predictor:
        """The best model of task ``task_id`` (``TaskNotFoundError``, or ``TaskError`` when
        it has not written one yet)."""
        from autolearn.tasks.service import get_task

        return cls.from_file(model_uri(get_task(task_id, engine)), device)

    @classmethod
    def from_file(cls, path_or_uri: str | Path, device: str | None = None) -> Predictor:
        """A ``model.pt`` written by a task: a local path or a store URI."""
        from autolearn.training.runner import load_model_file

        return cls.from_saved(load_model_file(_as_uri(path_or_uri)), str(path_or_uri), device)

    @classmethod
    def from_saved(cls, saved: Any, source: str, device: str | None = None) -> Predictor:
        """From the loaded contents of a ``model.pt`` (``source`` names it in errors)."""
        meta = check_meta(saved, source)
        model = build_model(meta)
        model.load_state_dict(saved["state_dict"])  # copy_ casts fp16 weights to fp32
        return cls(model, meta, device)

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(batch.to(self.device))
        return logits

    def raw_detections(
        self, images: list[torch.Tensor], floor: float
    ) -> list[dict[str, torch.Tensor]]:
        from autolearn.models.detection import from_model_predictions

        self._lower_score_floor(floor)
        batch = [img.to(self.device) for img in images]
        return from_model_predictions(self.meta["arch"], self.model(batch))

    def _lower_score_floor(self, lowest: float) -> None:
        """Let the detector keep boxes down to the lowest threshold asked for (its own
        floor, 0.05-0.2 by architecture, would hide them from ``--threshold 0.1``)."""
        holder = _score_holder(self.model)
        if holder is not None and self._score_floor is not None:
            holder.score_thresh = min(self._score_floor, lowest)
