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

The package, by concern: ``findings`` (``Finding``, ``HealthItem`` and the thresholds),
``counts`` (class counts, imbalance, tiny boxes, findings from an import report),
``leakage`` (dHash, thumbnails, leak and near-duplicate checks) and ``similarity``
(backbone embeddings, similar classes); ``assess`` below runs them together.
"""

from __future__ import annotations

from collections import Counter

from autolearn.datasets.health.counts import (
    check_tiny_boxes,
    findings_from_counts,
    findings_from_report,
)
from autolearn.datasets.health.findings import (
    DHASH_MAX_DISTANCE,
    EMBED_BACKBONE,
    EMBED_BATCH,
    EMBED_SIZE,
    EXAMPLES,
    IMBALANCE_INFO,
    IMBALANCE_WARNING,
    MAX_CANDIDATE_PAIRS,
    MAX_EMBED_IMAGES,
    MIN_EMBED_IMAGES,
    NEAR_DUP_WARNING_SHARE,
    SIMILAR_CLASS_COSINE,
    THUMB_MIN_CORRELATION,
    THUMB_SIZE,
    TINY_BOX_AREA,
    TINY_BOX_SIDE,
    Finding,
    HealthItem,
    LoadImage,
    Severity,
    _all_classes,
)
from autolearn.datasets.health.leakage import (
    check_leakage,
    dhash,
    hamming,
    signature,
    thumbnail_similarity,
)
from autolearn.datasets.health.similarity import (
    check_similar_classes,
    embed_images,
    mean_cosine,
)


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


__all__ = [
    "DHASH_MAX_DISTANCE",
    "EMBED_BACKBONE",
    "EMBED_BATCH",
    "EMBED_SIZE",
    "EXAMPLES",
    "IMBALANCE_INFO",
    "IMBALANCE_WARNING",
    "MAX_CANDIDATE_PAIRS",
    "MAX_EMBED_IMAGES",
    "MIN_EMBED_IMAGES",
    "NEAR_DUP_WARNING_SHARE",
    "SIMILAR_CLASS_COSINE",
    "THUMB_MIN_CORRELATION",
    "THUMB_SIZE",
    "TINY_BOX_AREA",
    "TINY_BOX_SIDE",
    "Finding",
    "HealthItem",
    "LoadImage",
    "Severity",
    "assess",
    "check_leakage",
    "check_similar_classes",
    "check_tiny_boxes",
    "dhash",
    "embed_images",
    "findings_from_counts",
    "findings_from_report",
    "hamming",
    "mean_cosine",
    "signature",
    "thumbnail_similarity",
]
