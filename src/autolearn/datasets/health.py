"""Data-health advisor: findings about a dataset, each with a suggestion.

It extends the seed's usage notes (``advisor.py``: fewer than 20 images per class →
expect less; fewer than 50 → lower lr by 10) with checks on the data itself:

- ``few_images`` / ``small_classes``: images per class against the seed's 20 / 50;
- ``class_imbalance``: largest over smallest class (warning above 10×, info above 3×);
- ``tiny_boxes``: boxes under 8 px a side or 0.1 % of the image (detection);
- ``leak_exact`` / ``leak_near``: validation images that are byte-identical (sha256) or
  near-identical (64-bit dHash within ``DHASH_MAX_DISTANCE`` bits, confirmed on 16×16
  thumbnails) to training images;
- ``near_duplicates``: without a split yet, near-identical images in different groups,
  which a random split would put on both sides;
- ``similar_classes``: classes whose mean embeddings from the pretrained backbone
  (EfficientNet-Lite0) are nearly parallel (sample-size-corrected cosine ≥
  ``SIMILAR_CLASS_COSINE``).

``assess`` runs them all; checks that need pixels run only with ``load_image``, and the
backbone (torch and timm, imported only there) only with ``embeddings=True``. A
finding is JSON-able (``to_dict``/``from_dict``) and converts to the seed advisor's
``Advice`` (``to_advice``).
"""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from autolearn.datasets.advisor import FEW_IMAGES, SMALL_CLASS, Advice
from autolearn.datasets.formats.base import Box

if TYPE_CHECKING:
    from PIL import Image
    from torch import nn

log = logging.getLogger(__name__)

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
        if self.boxes is not None:
            return sorted({b.label for b in self.boxes})
        return [] if self.label is None else [self.label]


LoadImage = Callable[[HealthItem], "Image.Image"]


def assess(
    items: list[HealthItem],
    classes: list[str],
    scenario: str,
    *,
    load_image: LoadImage | None = None,
    embeddings: bool = True,
    max_per_class: int = 20,
    seed: int = 0,
) -> list[Finding]:
    """Every data-health finding for ``items`` (warnings first, then infos).

    Class counts are training images (``split != "val"``) per class, as the seed counts
    them (detection: images with at least one box of the class); ``classes`` lists the
    declared classes, so an empty class is reported too. ``scenario`` is
    ``"classification"`` or a detection scenario.

    Without ``load_image`` only checks that need no pixels run (counts, imbalance, tiny
    boxes, exact leaks, and near leaks for items with a precomputed ``dhash``). With it,
    every image without a ``dhash`` is read once (a reduced JPEG decode: about 1 ms an
    image, 0.5 s for mealtray's 487). ``embeddings=False`` skips the backbone; otherwise
    at most ``max_per_class`` images (or box crops) per class, drawn with ``seed``, are
    embedded: about 0.5 s for 2 × 20 images once torch and timm are imported (2-3 s).
    """
    detection = scenario != "classification" or any(i.boxes is not None for i in items)
    train = [i for i in items if i.split != "val"]
    counts = Counter(c for i in train for c in i.classes)
    findings = findings_from_counts({c: counts.get(c, 0) for c in _all_classes(classes, items)})
    if detection:
        findings += check_tiny_boxes(items)
    findings += check_leakage(items, load_image)
    if embeddings and load_image is not None:
        findings += check_similar_classes(
            items, classes, load_image, max_per_class=max_per_class, seed=seed
        )
    return sorted(findings, key=lambda f: f.severity != "warning")


def _all_classes(classes: Iterable[str], items: Iterable[HealthItem]) -> list[str]:
    out = list(dict.fromkeys(classes))
    seen = set(out)
    for item in items:
        for c in item.classes:
            if c not in seen:
                seen.add(c)
                out.append(c)
    return out


# --------------------------------------------------------------------------- counts


def findings_from_counts(counts: Mapping[str, int]) -> list[Finding]:
    """Seed thresholds and class imbalance from training images per class."""
    if not counts:
        return []
    findings: list[Finding] = []
    ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
    few = [(c, n) for c, n in ordered if n < FEW_IMAGES]
    small = [(c, n) for c, n in ordered if n < SMALL_CLASS]
    if few:
        findings.append(
            Finding(
                "few_images",
                "warning",
                f"fewer than {FEW_IMAGES} training images in {len(few)} class(es): "
                f"{_listed(few)}; expect lower accuracy",
                f"add images to reach at least {FEW_IMAGES} per class ({SMALL_CLASS}+ is better)",
                {"threshold": FEW_IMAGES, "classes": dict(few)},
            )
        )
    if small:
        findings.append(
            Finding(
                "small_classes",
                "info",
                f"{len(small)} class(es) have fewer than {SMALL_CLASS} training images: "
                f"{_listed(small)}",
                "lower lr by 10 (automatic when lr is 'auto'), or add images",
                {"threshold": SMALL_CLASS, "classes": dict(small)},
            )
        )
    nonzero = [(c, n) for c, n in ordered if n > 0]
    if len(nonzero) >= 2:
        (low, n_low), (high, n_high) = nonzero[0], nonzero[-1]
        ratio = n_high / n_low
        if ratio > IMBALANCE_INFO:
            smalls = [c for c, n in nonzero if n * IMBALANCE_INFO < n_high]
            findings.append(
                Finding(
                    "class_imbalance",
                    "warning" if ratio > IMBALANCE_WARNING else "info",
                    f"classes are imbalanced {ratio:.1f}×: {high} has {n_high} training "
                    f"images, {low} {n_low}",
                    f"add data for the small classes ({', '.join(smalls[:8])}), or merge or "
                    "drop them; the model will favour the large ones otherwise",
                    {"ratio": round(ratio, 2), "largest": [high, n_high], "smallest": [low, n_low]},
                )
            )
    return findings


def findings_from_report(report: Mapping[str, Any]) -> list[Finding]:
    """Count and exact-leak findings from an import report (``datasets.service`` report:
    ``counts`` by split, ``duplicates.val_in_train``), for versions imported earlier."""
    counts = report.get("counts") or {}
    train = counts.get("train") or counts.get("all") or {}
    findings = findings_from_counts({str(k): int(v) for k, v in train.items()})
    leaked = list((report.get("duplicates") or {}).get("val_in_train") or [])
    if leaked:
        findings.append(_exact_leak_finding(len(leaked), [[k, ""] for k in leaked[:EXAMPLES]]))
    return sorted(findings, key=lambda f: f.severity != "warning")


def _listed(pairs: list[tuple[str, int]], n: int = 8) -> str:
    more = f" … (+{len(pairs) - n})" if len(pairs) > n else ""
    return ", ".join(f"{c} ({k})" for c, k in pairs[:n]) + more


# --------------------------------------------------------------------------- boxes


def check_tiny_boxes(items: list[HealthItem]) -> list[Finding]:
    """Boxes with a side under ``TINY_BOX_SIDE`` px or an area under ``TINY_BOX_AREA`` of
    their image (the area rule needs the image size)."""
    total = 0
    tiny: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    for item in items:
        image_area = item.width * item.height
        for box in item.boxes or ():
            total += 1
            w, h = box.x2 - box.x1, box.y2 - box.y1
            small_side = min(w, h) < TINY_BOX_SIDE
            if not small_side and not (image_area and box.area < TINY_BOX_AREA * image_area):
                continue
            tiny[box.label] += 1
            if len(examples) < EXAMPLES:
                examples.append(
                    {"image": item.key, "label": box.label, "size": [round(w, 1), round(h, 1)]}
                )
    if not tiny:
        return []
    n = sum(tiny.values())
    return [
        Finding(
            "tiny_boxes",
            "warning",
            f"{n} of {total} boxes are tiny (a side under {TINY_BOX_SIDE:g} px or under "
            f"{TINY_BOX_AREA:.1%} of the image): {_listed(tiny.most_common())}",
            "train at a higher input size (preference 'accuracy') or tile/crop large images "
            "so that small objects cover more pixels; check that they are not labelling slips",
            {"count": n, "total": total, "by_class": dict(tiny), "examples": examples},
        )
    ]


# --------------------------------------------------------------------------- leakage


def dhash(img: Image.Image) -> int:
    """64-bit difference hash: 9×8 grayscale, one bit per left-right brightness step.

    Copies that were re-encoded, resized or slightly brightened differ by a few bits;
    unrelated photos by about 32.
    """
    return signature(img)[0]


def signature(img: Image.Image) -> tuple[int, np.ndarray]:
    """``(dhash, thumbnail)`` from one decode: the thumbnail is a 16×16 box-filtered
    grayscale that confirms a dHash match (64 bits cannot tell apart small centred
    objects such as two writers' digits)."""
    from PIL import Image as PILImage

    img.draft("L", (64, 64))  # JPEG: decode at a reduced scale (no-op once loaded)
    gray = img.convert("L")
    px = np.asarray(gray.resize((9, 8), PILImage.Resampling.LANCZOS), dtype=np.int16)
    bits = (px[:, 1:] > px[:, :-1]).flatten()
    small = gray.resize((THUMB_SIZE, THUMB_SIZE), PILImage.Resampling.BOX)
    return int(np.packbits(bits).view(">u8")[0]), np.asarray(small, dtype=np.float64).ravel()


def thumbnail_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two thumbnails; flat images (no contrast) are 1.0 when
    their brightness is within 8 grey levels, else 0.0."""
    ca, cb = a - a.mean(), b - b.mean()
    na, nb = float(np.linalg.norm(ca)), float(np.linalg.norm(cb))
    if na < 1e-6 * a.size or nb < 1e-6 * b.size:
        return 1.0 if abs(a.mean() - b.mean()) <= 8 else 0.0
    return float(ca @ cb) / (na * nb)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def check_leakage(items: list[HealthItem], load_image: LoadImage | None = None) -> list[Finding]:
    """Copies across the split (or, before a split, across groups).

    With validation items: byte-identical images (sha256) in train and val, and
    near-identical ones. Without: near-identical images that a random split could
    separate (pairs within one ``group`` are fine). Near-identical means a dHash within
    ``DHASH_MAX_DISTANCE`` bits, confirmed by thumbnails correlating at
    ``THUMB_MIN_CORRELATION`` or more (the confirmation needs ``load_image``; without it
    a precomputed ``dhash`` match counts alone).
    """
    sigs = _Signatures(items, load_image)
    val = [i for i, it in enumerate(items) if it.split == "val"]
    if val:
        train = [i for i, it in enumerate(items) if it.split != "val"]
        return _cross_split(items, train, val, sigs)
    return _within(items, sigs)


class _Signatures:
    """dHashes of every item (precomputed or loaded) and thumbnails of loaded ones."""

    def __init__(self, items: list[HealthItem], load_image: LoadImage | None) -> None:
        self.items, self.load_image = items, load_image
        self.hashes: dict[int, int] = {}
        self.thumbs: dict[int, np.ndarray] = {}
        for idx, item in enumerate(items):
            if item.dhash is not None:
                self.hashes[idx] = item.dhash
            elif (img := self._load(idx)) is not None:
                self.hashes[idx], self.thumbs[idx] = signature(img)

    def _load(self, idx: int) -> Image.Image | None:
        if self.load_image is None:
            return None
        try:
            return self.load_image(self.items[idx])
        except (OSError, ValueError) as exc:  # unreadable: import validation reports it
            log.warning("health: cannot read %s: %s", self.items[idx].key, exc)
            return None

    def thumb(self, idx: int) -> np.ndarray | None:
        if idx not in self.thumbs and (img := self._load(idx)) is not None:
            self.thumbs[idx] = signature(img)[1]
        return self.thumbs.get(idx)

    def near(self, rows: list[int], cols: list[int] | None) -> list[tuple[int, int, int]]:
        """Confirmed near-identical (row item, column item, dHash distance) pairs; with
        ``cols`` None, pairs within ``rows``."""
        a = np.array([self.hashes[i] for i in rows], dtype=np.uint64)
        b = None if cols is None else np.array([self.hashes[i] for i in cols], dtype=np.uint64)
        out = []
        for r, c, d in _near_pairs(a, b):
            i, j = rows[r], (rows if cols is None else cols)[c]
            ti, tj = self.thumb(i), self.thumb(j)
            if ti is None or tj is None or thumbnail_similarity(ti, tj) >= THUMB_MIN_CORRELATION:
                out.append((i, j, d))
        return out


def _cross_split(
    items: list[HealthItem], train: list[int], val: list[int], sigs: _Signatures
) -> list[Finding]:
    findings: list[Finding] = []
    train_sha = {items[i].sha256: i for i in train if items[i].sha256}
    exact = [(v, train_sha[items[v].sha256]) for v in val if items[v].sha256 in train_sha]
    if exact:
        pairs = [[items[v].key, items[t].key] for v, t in exact[:EXAMPLES]]
        findings.append(_exact_leak_finding(len(exact), pairs))
    exact_val = {v for v, _ in exact}
    t_idx = [i for i in train if i in sigs.hashes]
    v_idx = [i for i in val if i in sigs.hashes and i not in exact_val]
    if not t_idx or not v_idx:
        return findings
    closest: dict[int, tuple[int, int]] = {}
    for v, t, d in sigs.near(v_idx, t_idx):
        if v not in closest or d < closest[v][1]:
            closest[v] = (t, d)
    if closest:
        examples = [[items[v].key, items[t].key, d] for v, (t, d) in sorted(closest.items())]
        findings.append(
            Finding(
                "leak_near",
                "warning",
                f"{len(closest)} of {len(val)} validation images are near-identical to a "
                f"training image, e.g. {examples[0][0]} ≈ {examples[0][1]}; validation "
                "accuracy will be overstated",
                "use a group split that keeps shots of one scene on one side (group key: a "
                "file-name pattern or a 'group' column), or drop the copies from validation",
                {
                    "count": len(closest),
                    "val_images": len(val),
                    "max_distance": DHASH_MAX_DISTANCE,
                    "examples": examples[:EXAMPLES],
                },
            )
        )
    return findings


def _exact_leak_finding(count: int, pairs: list[list[str]]) -> Finding:
    return Finding(
        "leak_exact",
        "warning",
        f"{count} validation image(s) also appear in train byte for byte, e.g. {pairs[0][0]}; "
        "validation accuracy will be overstated",
        "remove the copies from one side, or use a group split so that they stay together",
        {"count": count, "examples": pairs},
    )


def _within(items: list[HealthItem], sigs: _Signatures) -> list[Finding]:
    idx = sorted(sigs.hashes)
    crossing = [
        (a, b, d)
        for a, b, d in sigs.near(idx, None)
        if items[a].group is None or items[a].group != items[b].group
    ]
    if not crossing:
        return []
    involved = {i for a, b, _ in crossing for i in (a, b)}
    share = len(involved) / len(items)
    grouped = any(it.group is not None for it in items)
    examples = [[items[a].key, items[b].key, d] for a, b, d in crossing[:EXAMPLES]]
    where = "in another group" if grouped else "in the dataset"
    fix = (
        "widen the group key so that copies share a group (e.g. a larger max_gap for runs)"
        if grouped
        else "split by group, not at random: set a group key that keeps the shots of one "
        r"scene together (runs of file numbers such as '\((\d+)\)', a name prefix, or a "
        "'group' column)"
    )
    return [
        Finding(
            "near_duplicates",
            "warning" if share >= NEAR_DUP_WARNING_SHARE else "info",
            f"{len(involved)} of {len(items)} images have a near-identical copy {where} "
            f"({len(crossing)} pairs, e.g. {examples[0][0]} ≈ {examples[0][1]}); a random "
            "validation split would put copies on both sides and overstate accuracy",
            fix,
            {
                "images": len(involved),
                "pairs": len(crossing),
                "max_distance": DHASH_MAX_DISTANCE,
                "examples": examples,
            },
        )
    ]


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.asarray(np.bitwise_count(x))
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[x.view(np.uint8)].reshape(*x.shape, 8).sum(axis=-1)


def _near_pairs(
    a: np.ndarray,
    b: np.ndarray | None,
    max_distance: int = DHASH_MAX_DISTANCE,
    chunk: int = 512,
    max_pairs: int = MAX_CANDIDATE_PAIRS,
) -> list[tuple[int, int, int]]:
    """(i, j, distance) for hashes of ``a`` and ``b`` within ``max_distance`` bits; with
    ``b`` None, pairs within ``a`` (i < j). At most ``max_pairs``: flat synthetic images
    can all share one hash, and 10,000 of them would make 50 million pairs."""
    other = a if b is None else b
    out: list[tuple[int, int, int]] = []
    for start in range(0, len(a), chunk):
        dist = _popcount(a[start : start + chunk, None] ^ other[None, :])
        rows, cols = np.nonzero(dist <= max_distance)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if b is None and c <= start + r:
                continue
            out.append((start + r, c, int(dist[r, c])))
            if len(out) >= max_pairs:
                return out
    return out


# --------------------------------------------------------------------------- embeddings


def check_similar_classes(
    items: list[HealthItem],
    classes: list[str],
    load_image: LoadImage,
    *,
    max_per_class: int = 20,
    seed: int = 0,
    threshold: float = SIMILAR_CLASS_COSINE,
) -> list[Finding]:
    """Class pairs whose mean backbone embeddings are (nearly) parallel.

    Embeds up to ``max_per_class`` images per class (box crops for detection; fewer per
    class when there are many classes, ``MAX_EMBED_IMAGES`` in all) and compares class
    means by ``mean_cosine``, which corrects for sample size. Classes with fewer than
    ``MIN_EMBED_IMAGES`` samples are not compared (too noisy).
    """
    names = _all_classes(classes, items)
    per_class = min(max_per_class, max(MIN_EMBED_IMAGES, MAX_EMBED_IMAGES // max(1, len(names))))
    samples = _sample_images(items, load_image, per_class, seed)
    usable = {c: v for c, v in samples.items() if len(v) >= MIN_EMBED_IMAGES}
    if len(usable) < 2:
        return []
    embedded = embed_images(usable)
    counts = Counter(c for i in items if i.split != "val" for c in i.classes)
    labels = sorted(embedded)
    pairs: list[tuple[str, str, float, float]] = []
    for x, a in enumerate(labels):
        for b in labels[x + 1 :]:
            corrected, raw = mean_cosine(embedded[a], embedded[b])
            if corrected >= threshold:
                pairs.append((a, b, corrected, raw))
    if not pairs:
        return []
    pairs.sort(key=lambda p: -p[2])
    shown = ", ".join(f"{a} ~ {b} ({cos:.3f})" for a, b, cos, _ in pairs[:EXAMPLES])
    few = sorted({c for a, b, _, _ in pairs for c in (a, b) if counts.get(c, 0) < FEW_IMAGES})
    few_note = f"; {', '.join(few)} also have fewer than {FEW_IMAGES} images" if few else ""
    return [
        Finding(
            "similar_classes",
            "warning",
            f"{len(pairs)} class pair(s) look near-identical to the pretrained backbone "
            f"(cosine of class-mean embeddings ≥ {threshold}): {shown}{few_note}",
            "expect less: the seed says near-identical classes with fewer than "
            f"{FEW_IMAGES} images need lower expectations; merge classes that are the same "
            "thing, or add images that show what sets them apart",
            {
                "threshold": threshold,
                "pairs": [[a, b, round(c, 4), round(r, 4)] for a, b, c, r in pairs],
                "images_per_class": {c: len(v) for c, v in samples.items()},
                "not_compared": sorted(set(samples) - set(usable)),
            },
        )
    ]


def mean_cosine(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(corrected, raw) cosine of the class means of unit embeddings ``a`` and ``b``.

    The raw cosine of two sample means grows with the sample size (the noise in each
    mean shrinks), so a fixed threshold would mean different things for 8 and for 20
    images. The corrected cosine divides by unbiased estimates of the population means'
    norms, ``|mu|^2 ≈ (|sum x|^2 - n) / (n (n - 1))``: two samples of one distribution
    score about 1 whatever their size, and copies of the same images score above 1.
    """
    sa, sb = a.sum(axis=0), b.sum(axis=0)
    na, nb = len(a), len(b)
    dot = float(sa @ sb) / (na * nb)
    raw = dot / max(float(np.sqrt((sa @ sa) * (sb @ sb))) / (na * nb), 1e-12)
    ua = (float(sa @ sa) - na) / (na * (na - 1))
    ub = (float(sb @ sb) - nb) / (nb * (nb - 1))
    return dot / float(np.sqrt(max(ua, 1e-12) * max(ub, 1e-12))), raw


def _sample_images(
    items: list[HealthItem], load_image: LoadImage, per_class: int, seed: int
) -> dict[str, list[Image.Image]]:
    """Up to ``per_class`` images per class: whole images, or padded box crops."""
    from PIL.Image import Resampling

    BILINEAR = Resampling.BILINEAR
    rng = random.Random(seed)
    by_class: dict[str, list[tuple[int, Box | None]]] = defaultdict(list)
    for idx, item in enumerate(items):
        if item.boxes is None:
            if item.label is not None:
                by_class[item.label].append((idx, None))
        else:
            for b in item.boxes:
                if min(b.x2 - b.x1, b.y2 - b.y1) >= TINY_BOX_SIDE:
                    by_class[b.label].append((idx, b))
    wanted: dict[int, list[tuple[str, Box | None]]] = defaultdict(list)
    for cls in sorted(by_class):
        refs = by_class[cls]
        for idx, ref in rng.sample(refs, min(per_class, len(refs))):
            wanted[idx].append((cls, ref))
    out: dict[str, list[Image.Image]] = defaultdict(list)
    for idx in sorted(wanted):
        try:
            img = load_image(items[idx])
            if items[idx].boxes is None:  # crops need the full resolution
                img.draft("RGB", (EMBED_SIZE, EMBED_SIZE))
            img = img.convert("RGB")
        except (OSError, ValueError) as exc:
            log.warning("health: cannot read %s: %s", items[idx].key, exc)
            continue
        for cls, ref in wanted[idx]:
            picked = img if ref is None else _crop(img, ref, items[idx])
            # keep only what the backbone sees: hundreds of full-size decodes held at once
            # pushed the 10,000-image import bench past 1 GB
            out[cls].append(picked.resize((EMBED_SIZE, EMBED_SIZE), BILINEAR))
    return dict(out)


def _crop(img: Image.Image, box: Box, item: HealthItem) -> Image.Image:
    """The box with 10 % padding, in the coordinates of ``img`` (scaled if it was drafted)."""
    sx = img.width / item.width if item.width else 1.0
    sy = img.height / item.height if item.height else 1.0
    pw, ph = 0.1 * (box.x2 - box.x1), 0.1 * (box.y2 - box.y1)
    x1, x2 = max(0.0, (box.x1 - pw) * sx), min(img.width, (box.x2 + pw) * sx)
    y1, y2 = max(0.0, (box.y1 - ph) * sy), min(img.height, (box.y2 + ph) * sy)
    return img.crop((int(x1), int(y1), max(int(x1) + 1, round(x2)), max(int(y1) + 1, round(y2))))


def embed_images(samples: Mapping[str, list[Image.Image]]) -> dict[str, np.ndarray]:
    """Unit-length backbone embeddings (one row per image) of each class's images."""
    import torch

    model = _backbone()
    out: dict[str, np.ndarray] = {}
    for cls, images in samples.items():
        feats = []
        for start in range(0, len(images), EMBED_BATCH):
            chunk = images[start : start + EMBED_BATCH]
            batch = torch.stack([_to_tensor(im) for im in chunk])
            with torch.inference_mode():
                feats.append(torch.nn.functional.normalize(model(batch), dim=1))
        if feats:
            out[cls] = torch.cat(feats).numpy().astype(np.float64)
    return out


@lru_cache(maxsize=1)
def _backbone() -> nn.Module:
    from autolearn.models.zoo import create_model

    return create_model(EMBED_BACKBONE, num_classes=0, pretrained=True).eval()


def _to_tensor(img: Image.Image) -> Any:
    import torch
    from PIL import Image as PILImage

    small = img.convert("RGB").resize((EMBED_SIZE, EMBED_SIZE), PILImage.Resampling.BILINEAR)
    x = torch.from_numpy(np.asarray(small, dtype=np.float32).copy()).permute(2, 0, 1)
    return (x / 127.5) - 1.0  # lite0: mean = std = 0.5
