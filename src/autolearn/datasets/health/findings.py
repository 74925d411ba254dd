"""Data-health findings, the items the checks look at, and the checks' thresholds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from autolearn.datasets.advisor import Advice
from autolearn.datasets.formats.base import Box, classes_of

if TYPE_CHECKING:
    from PIL import Image

Severity = Literal["info", "warning"]

IMBALANCE_WARNING = 10.0
IMBALANCE_INFO = 3.0
TINY_BOX_SIDE = 8.0  # px
TINY_BOX_AREA = 0.001  # of the image area
# dHash bits, calibrated on real photos: resized copies are ≤ 2 bits from the original,
# re-encoded (JPEG q50) or 10 % brightened copies ≤ 2-4 (90th percentile); unrelated
# hymenoptera photos ≥ 9, and different mealtray trays shot by the same fixed camera
# as close as 5. 4 keeps those trays apart.
DHASH_MAX_DISTANCE = 4
# dHash matches are confirmed on 16×16 thumbnails: copies correlate ≥ 0.99 (20 %
# brightened: ≥ 0.97), different trays ≤ 0.95, different writers' digits that share a
# dHash 0.92 at the median (64 bits cannot tell such small centred shapes apart).
THUMB_SIZE = 16
THUMB_MIN_CORRELATION = 0.98
# Corrected cosine (``mean_cosine``) of class-mean lite0 embeddings at 160 px, 20 images
# a class: ants vs bees 0.79 (max 0.88 over 200 draws), mealtray box crops ≤ 0.81,
# different digits 0.95 at the 90th percentile (0.3 % of pairs ≥ 0.98); one class split
# in two halves ≥ 0.98 in 92 % of draws (photos) and always (digits); copies > 1.
SIMILAR_CLASS_COSINE = 0.98
EMBED_SIZE = 160  # px: the same verdicts as 224 px, 2-3× faster on CPU
EMBED_BACKBONE = "tf_efficientnet_lite0.in1k"
MAX_EMBED_IMAGES = 400  # caps the backbone's work when there are many classes
MIN_EMBED_IMAGES = 8  # below this a class mean is too noisy to compare
NEAR_DUP_WARNING_SHARE = 0.05
EXAMPLES = 5
EMBED_BATCH = 8  # small batches keep activation memory low on a CPU import
MAX_CANDIDATE_PAIRS = 20_000  # dHash candidates confirmed on thumbnails, at most


@dataclass(frozen=True)
class Finding:
    """One thing worth knowing about the data, and what to do about it."""

    code: str
    severity: Severity
    message: str
    suggestion: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            code=str(data["code"]),
            severity="warning" if data.get("severity") == "warning" else "info",
            message=str(data["message"]),
            suggestion=str(data.get("suggestion", "")),
            details=dict(data.get("details") or {}),
        )

    def to_advice(self) -> Advice:
        """The finding as the seed advisor's ``Advice`` (message and suggestion joined)."""
        return Advice(self.code, self.severity, f"{self.message}; {self.suggestion}")

    def __str__(self) -> str:
        return f"{self.severity}: {self.message} → {self.suggestion}"


@dataclass(frozen=True)
class HealthItem:
    """What the checks need to know about one image.

    ``key`` names it in findings (a relative path or file name). ``label`` is the class
    (classification); ``boxes`` the labelled boxes in pixels (detection). ``split`` is
    ``"train"``/``"val"``, or ``None`` before a split is made. ``width``/``height`` are
    the upright image size (0: unknown). ``group`` is its group-split key, if any.
    ``dhash`` is a precomputed ``dhash(image)``, which saves loading the image.
    """

    key: str
    sha256: str = ""
    label: str | None = None
    boxes: tuple[Box, ...] | None = None
    split: Literal["train", "val"] | None = None
    width: int = 0
    height: int = 0
    group: str | None = None
    dhash: int | None = None

    @property
    def classes(self) -> list[str]:
        """The item's classes: its label, or the distinct labels of its boxes."""
        return classes_of(self.label, self.boxes)


LoadImage = Callable[[HealthItem], "Image.Image"]


def _all_classes(classes: Iterable[str], items: Iterable[HealthItem]) -> list[str]:
    out = list(dict.fromkeys(classes))
    seen = set(out)
    for item in items:
        for c in item.classes:
            if c not in seen:
                seen.add(c)
                out.append(c)
    return out
