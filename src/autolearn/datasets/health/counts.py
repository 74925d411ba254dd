"""Checks on counts alone: images per class (the seed's 20 / 50), class imbalance, tiny
boxes, and the findings an earlier import report still supports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from autolearn.datasets.advisor import FEW_IMAGES, SMALL_CLASS
from autolearn.datasets.health.findings import (
    EXAMPLES,
    IMBALANCE_INFO,
    IMBALANCE_WARNING,
    TINY_BOX_AREA,
    TINY_BOX_SIDE,
    Finding,
    HealthItem,
)
from autolearn.datasets.health.leakage import _exact_leak_finding


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
