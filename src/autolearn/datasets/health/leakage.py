"""Train/val leakage and near-duplicates: dHash candidates confirmed on thumbnails."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from autolearn.datasets.health.findings import (
    DHASH_MAX_DISTANCE,
    EXAMPLES,
    MAX_CANDIDATE_PAIRS,
    NEAR_DUP_WARNING_SHARE,
    THUMB_MIN_CORRELATION,
    THUMB_SIZE,
    Finding,
    HealthItem,
    LoadImage,
)

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)


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
