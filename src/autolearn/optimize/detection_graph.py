"""A one-stage torchvision detector as a graph that exports, batches and quantises:
images → every anchor's decoded box and class scores, with NMS left to the host.

Why not export torchvision's whole ``forward``: its post-processing loops over images and
classes in Python, so a traced graph is fixed to the traced batch size, and score filters,
top-k and NMS do not quantise. Here the graph ends where the arithmetic ends, as
Ultralytics' exports do, and ``postprocess`` repeats torchvision's own selection rules
(score floor, top-k per level, class-wise NMS, detections per image) on the outputs, so
the ONNX model and the PyTorch model give the same detections (tests/optimize compare
them box by box).

Graph: ``images`` float32 [N, 3, S, S] RGB in [0, 1] (letterboxed; the graph normalises
with the backbone's mean/std as the torchvision model does) → ``boxes`` [N, A, 4] xyxy in
input pixels, clipped to the image, and ``scores`` [N, A, K] per-class probabilities
(FCOS: sqrt(sigmoid(class) × sigmoid(centreness)); RetinaNet: sigmoid; SSD: softmax
without the background column). ``level_sizes`` (anchors per feature level) go into the
metadata: FCOS and RetinaNet pick their top-k candidates per level.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import batched_nms

from autolearn.models.detection import arch_of
from autolearn.optimize.errors import ExportError

ONE_STAGE = ("fcos", "retinanet", "ssdlite")
POST_KEYS = ("score_thresh", "nms_thresh", "detections_per_img", "topk_candidates")


class RawDetector(nn.Module):
    """Wraps a trained one-stage detector (eval mode) at its fixed input size."""

    model: Any  # a torchvision detector: its parts are reached by name
    mean: Tensor
    std: Tensor
    anchors: Tensor

    def __init__(self, model: nn.Module, input_size: int) -> None:
        super().__init__()
        self.arch = arch_of(model)
        if self.arch not in ONE_STAGE:
            raise ExportError(
                f"{self.arch} is a two-stage detector: its region proposals do not export as "
                f"one batched graph; train with fcos, retinanet or ssdlite to export to ONNX "
                f"(TorchScript export works for every architecture)"
            )
        self.model = model.eval()
        self.input_size = input_size
        transform: Any = model.transform
        self.register_buffer("mean", torch.tensor(transform.image_mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(transform.image_std).view(1, 3, 1, 1))
        anchors, levels = self._anchors()
        self.register_buffer("anchors", anchors)
        self.level_sizes = levels

    @torch.no_grad()
    def _anchors(self) -> tuple[Tensor, list[int]]:
        """The anchors of one S × S image (the same for every image of a fixed size)."""
        size = self.input_size
        dummy = torch.zeros(1, 3, size, size)
        features = self._features(dummy)
        generator = self.model.anchor_generator
        anchors: Tensor = generator(ImageList(dummy, [(size, size)]), features)[0]
        cells = [f.shape[2] * f.shape[3] for f in features]
        per_cell = anchors.shape[0] // sum(cells)
        return anchors, [c * per_cell for c in cells]

    def _features(self, images: Tensor) -> list[Tensor]:
        out = self.model.backbone(images)
        return list(out.values()) if isinstance(out, dict) else [out]

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        x = (images - self.mean) / self.std
        head: dict[str, Tensor] = self.model.head(self._features(x))
        n, a = head["bbox_regression"].shape[:2]
        if self.arch == "fcos":
            boxes = self.model.box_coder.decode(head["bbox_regression"], self.anchors.unsqueeze(0))
            scores = torch.sqrt(
                torch.sigmoid(head["cls_logits"]) * torch.sigmoid(head["bbox_ctrness"])
            )
        else:
            flat = self.model.box_coder.decode_single(
                head["bbox_regression"].reshape(-1, 4), self.anchors.repeat(n, 1)
            )
            boxes = flat.reshape(n, a, 4)
            logits = head["cls_logits"]
            if self.arch == "ssdlite":
                scores = torch.softmax(logits, dim=-1)[..., 1:]
            else:
                scores = torch.sigmoid(logits)
        return boxes.clamp(0, self.input_size), scores

    def postprocess_meta(self) -> dict[str, Any]:
        """What ``postprocess`` needs, stored in the exported model's metadata."""
        model = self.model
        found = {k: getattr(model, k) for k in POST_KEYS}
        return {
            "arch": self.arch,
            "level_sizes": list(self.level_sizes),
            "score_thresh": float(found["score_thresh"]),
            "nms_thresh": float(found["nms_thresh"]),
            "detections_per_img": int(found["detections_per_img"]),
            "topk_candidates": int(found["topk_candidates"]),
        }


def postprocess(
    boxes: Tensor, scores: Tensor, post: dict[str, Any], score_floor: float | None = None
) -> list[dict[str, Tensor]]:
    """Per image ``{"boxes", "scores", "labels"}`` (labels 0..K-1), selected exactly as
    torchvision selects them; ``score_floor`` lowers the model's own floor (to serve a
    threshold below it)."""
    floor = post["score_thresh"] if score_floor is None else min(score_floor, post["score_thresh"])
    return [
        _one_image(b, s, post, floor) for b, s in zip(boxes.float(), scores.float(), strict=True)
    ]


def _one_image(
    boxes: Tensor, scores: Tensor, post: dict[str, Any], floor: float
) -> dict[str, Tensor]:
    if post["arch"] == "ssdlite":
        picked = _per_class(boxes, scores, post["topk_candidates"], floor)
    else:
        picked = _per_level(boxes, scores, post["level_sizes"], post["topk_candidates"], floor)
    box, score, label = (torch.cat(parts) for parts in zip(*picked, strict=True))
    keep = batched_nms(box, score, label, post["nms_thresh"])[: post["detections_per_img"]]
    return {"boxes": box[keep], "scores": score[keep], "labels": label[keep]}


def _per_level(
    boxes: Tensor, scores: Tensor, levels: list[int], topk: int, floor: float
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """FCOS / RetinaNet: the best ``topk`` (anchor, class) pairs above the floor per level."""
    num_classes = scores.shape[1]
    out = []
    for level_boxes, level_scores in zip(boxes.split(levels), scores.split(levels), strict=True):
        flat = level_scores.flatten()
        idx = torch.where(flat > floor)[0]
        values, order = flat[idx].topk(min(topk, idx.numel()))
        idx = idx[order]
        out.append((level_boxes[idx // num_classes], values, idx % num_classes))
    return out


def _per_class(
    boxes: Tensor, scores: Tensor, topk: int, floor: float
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """SSD: the best ``topk`` anchors above the floor per class."""
    out = []
    for label in range(scores.shape[1]):
        column = scores[:, label]
        idx = torch.where(column > floor)[0]
        values, order = column[idx].topk(min(topk, idx.numel()))
        idx = idx[order]
        out.append((boxes[idx], values, torch.full_like(idx, label)))
    return out
