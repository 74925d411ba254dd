"""Per-image and per-item checks of an import, written into an ``ImportReport``.

``inspect_image`` opens one file the way training will read it: only the formats we
accept (``ALLOWED_FORMATS``: never a Ghostscript-backed one), the pixel limit checked
from the header before any decoding, ``verify()`` for checksums, a full decode to catch
truncation, the RGB conversion tried for other modes, the EXIF orientation applied to
the reported size. The decoded pixels are dropped at once, so memory stays flat
however many images there are. ``validate`` runs it over all items in a thread pool
(Pillow and hashlib release the GIL), then checks boxes, classes and duplicates.

An item with an error row is marked ``ok=False``: the policy (see ``importer``)
refuses the import or skips it. Warnings fix or keep; infos are counted.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import stat
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from autolearn.datasets.formats.base import Box, RawItem, ReadResult
from autolearn.datasets.manifest import to_rgb
from autolearn.datasets.report import CODES, ImportReport, Severity

ALLOWED_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")  # JPEG opens MPO too
EXT_BY_FORMAT = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "BMP": ".bmp",
    "GIF": ".gif",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "MPO": ".jpg",
}
_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height
WORKERS: int | None = None  # validation threads; None: 2 per CPU core, at most 8


@dataclass(frozen=True)
class ImageFacts:
    sha256: str
    ext: str
    fmt: str
    mode: str
    width: int  # upright (after the EXIF orientation)
    height: int
    orientation: int
    dhash: int | None = None  # for the health advisor's near-duplicate checks


@dataclass(frozen=True)
class Finding:
    code: str
    message: str


@dataclass
class Checked:
    """One item after validation: ``ok`` False means it has an error row."""

    item: RawItem
    shown: str
    rel: str
    facts: ImageFacts | None = None
    boxes: tuple[Box, ...] | None = None
    ok: bool = True
    codes: set[str] = field(default_factory=set)


def _explain(exc: BaseException) -> Finding:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return Finding("too_many_pixels", f"{text}; downscale the image or remove it")
    if "truncated" in text.lower():
        return Finding(
            "truncated", f"{text}: the file is incomplete (interrupted copy?); replace or remove it"
        )
    if "cannot identify image file" in text:
        return Finding(
            "not_an_image",
            "not an image Pillow can read (wrong extension or corrupt; accepted: "
            f"{', '.join(ALLOWED_FORMATS)}); replace or remove it",
        )
    return Finding("corrupt", f"{text}; the image is corrupt: re-export or remove it")


def inspect_image(path: Path, max_pixels: int) -> ImageFacts | Finding:
    """Facts about the image at ``path``, or the one finding that makes it unusable."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return Finding("missing_file", "the image file does not exist; add it or fix the path")
    except OSError as exc:
        return Finding("unreadable", f"cannot be read ({exc.strerror or exc}); check permissions")
    if not stat.S_ISREG(st.st_mode):
        return Finding("not_a_file", "is not a regular file (folder, FIFO or device); remove it")
    if st.st_size == 0:
        return Finding("empty_file", "the file is empty; replace it with the image or remove it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Finding("unreadable", f"cannot be read ({exc.strerror or exc}); check permissions")
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
            fmt = img.format or ""
            width, height = img.size
            if width * height > max_pixels:
                return Finding(
                    "too_many_pixels",
                    f"{width}×{height} = {width * height:,} pixels, over the limit of "
                    f"{max_pixels:,} (a decompression bomb?); downscale it or raise "
                    "AUTOLEARN_IMPORT_MAX_PIXELS",
                )
            img.verify()
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
            img.load()
            mode = img.mode
            orientation = int(img.getexif().get(0x0112) or 1)
            if mode not in ("RGB", "L"):
                to_rgb(img)
            image_hash = _dhash(img)
    except Exception as exc:  # Pillow raises many kinds; each means "not a usable image"
        return _explain(exc)
    if orientation in _ROTATED:
        width, height = height, width
    return ImageFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        ext=EXT_BY_FORMAT.get(fmt, path.suffix.lower()),
        fmt=fmt,
        mode=mode,
        width=width,
        height=height,
        orientation=orientation,
        dhash=image_hash,
    )


def _dhash(img: Image.Image) -> int | None:
    """The advisor's dHash, taken while the image is decoded anyway (saves a second read)."""
    from autolearn.datasets.health import dhash

    try:
        return dhash(img)
    except (OSError, ValueError):
        return None


def _fmt_box(b: Box) -> str:
    return f"{b.label} [{b.x1:g}, {b.y1:g}, {b.x2:g}, {b.y2:g}]"


def check_boxes(c: Checked, classes: set[str] | None, report: ImportReport) -> tuple[Box, ...]:
    """The item's boxes clipped to the image, degenerate ones dropped; rows added."""
    assert c.facts is not None
    w, h = c.facts.width, c.facts.height
    kept: list[Box] = []
    for b in c.item.boxes or ():
        if classes is not None and b.label not in classes:
            _row(
                c,
                report,
                "unknown_class",
                "error",
                f"box class {b.label!r} is not declared "
                f"(known: {', '.join(sorted(classes))}); fix the class id or add the class",
            )
            continue
        coords = (b.x1, b.y1, b.x2, b.y2)
        if not all(math.isfinite(v) for v in coords) or b.x2 <= b.x1 or b.y2 <= b.y1:
            _row(
                c,
                report,
                "box_degenerate",
                "warning",
                f"box {_fmt_box(b)} has zero or "
                "negative area; dropped (fix it to x1 < x2, y1 < y2)",
                "dropped",
            )
            continue
        x1, x2 = (round(min(max(v, 0.0), w), 2) for v in (b.x1, b.x2))
        y1, y2 = (round(min(max(v, 0.0), h), 2) for v in (b.y1, b.y2))
        if x2 <= x1 or y2 <= y1:
            _row(
                c,
                report,
                "box_degenerate",
                "warning",
                f"box {_fmt_box(b)} lies outside the {w}×{h} image; dropped",
                "dropped",
            )
            continue
        if (x1, y1, x2, y2) != (b.x1, b.y1, b.x2, b.y2) and not _inside(b, w, h):
            _row(
                c,
                report,
                "box_out_of_bounds",
                "warning",
                f"box {_fmt_box(b)} reaches outside "
                f"the {w}×{h} image; clipped to [{x1:g}, {y1:g}, {x2:g}, {y2:g}]",
                "clipped",
            )
        kept.append(Box(b.label, x1, y1, x2, y2))
    return tuple(kept)


def _inside(b: Box, w: int, h: int) -> bool:
    return min(b.x1, b.y1) >= 0 and b.x2 <= w and b.y2 <= h


def _row(
    c: Checked,
    report: ImportReport,
    code: str,
    severity: Severity,
    message: str,
    action: str = "",
) -> None:
    default = {"error": "item skipped", "warning": "kept", "info": "counted"}[severity]
    report.add(code, severity, c.shown, message, action or default)
    c.codes.add(code)
    if severity == "error":
        c.ok = False


def _check_labels(
    c: Checked, scenario: str, classes: set[str] | None, report: ImportReport
) -> None:
    assert c.facts is not None
    if scenario == "detection":
        c.boxes = check_boxes(c, classes, report)
        if not c.boxes and c.ok:
            _row(c, report, "negative_image", "info", "no boxes: kept as a negative example")
        return
    if c.item.label is None:
        _row(
            c,
            report,
            "missing_label",
            "error",
            "the image has no class label; label it in the "
            "source (importing unlabelled images is not supported)",
        )
    elif classes is not None and c.item.label not in classes:
        _row(
            c,
            report,
            "unknown_class",
            "error",
            f"class {c.item.label!r} is not declared "
            f"(known: {', '.join(sorted(classes))}); fix the label or add the class",
        )


def _label_key(c: Checked) -> tuple[object, ...]:
    boxes = sorted((b.label, b.x1, b.y1, b.x2, b.y2) for b in c.boxes or ())
    return (c.item.label, tuple(boxes))


def check_duplicates(checked: Iterable[Checked], report: ImportReport) -> None:
    """Identical bytes: same labels → warning (kept); different class labels → error (all
    copies); detection copies whose boxes differ → warning, both kept (public detection
    sets have such pairs, e.g. raccoon's, and either box set may be right)."""
    by_sha: dict[str, list[Checked]] = {}
    for c in checked:
        if c.ok and c.facts is not None:
            by_sha.setdefault(c.facts.sha256, []).append(c)
    for copies in by_sha.values():
        if len(copies) < 2:
            continue
        first = copies[0]
        if len({_label_key(c) for c in copies}) > 1 and first.item.boxes is not None:
            for c in copies[1:]:
                _row(
                    c,
                    report,
                    "duplicate_boxes_differ",
                    "warning",
                    f"the same image as {first.shown} with other boxes; both copies kept "
                    "(check which boxes are right, and keep one)",
                )
        elif len({_label_key(c) for c in copies}) > 1:
            labels = "; ".join(f"{c.shown}: {_describe(c)}" for c in copies[:4])
            for c in copies:
                _row(
                    c,
                    report,
                    "duplicate_conflict",
                    "error",
                    f"the same image appears "
                    f"{len(copies)} times with different labels ({labels}); keep one copy "
                    "with the right label",
                )
            continue
        report.extra_copies += len(copies) - 1
        for c in copies[1:]:
            _row(
                c,
                report,
                "duplicate_image",
                "warning",
                f"the same image as {first.shown}; both copies kept (remove one unless intended)",
            )
        splits = {c.item.split for c in copies}
        if {"train", "val"} <= splits:
            for c in copies:
                if c.item.split == "val":
                    _row(
                        c,
                        report,
                        "val_in_train",
                        "warning",
                        "this validation image is also "
                        "in train, so validation overstates accuracy; remove one copy",
                    )


def _describe(c: Checked) -> str:
    if c.item.boxes is None and c.boxes is None:
        return repr(c.item.label)
    return f"{len(c.boxes or ())} box(es) {', '.join(sorted({b.label for b in c.boxes or ()}))}"


def validate(
    read: ReadResult,
    root: Path,
    shown: Callable[[RawItem], str],
    report: ImportReport,
    max_pixels: int,
    workers: int | None = None,
) -> list[Checked]:
    """Check every item of ``read``; rows go into ``report``, verdicts onto the items."""
    checked = [Checked(item=it, shown=shown(it), rel=_rel(it.path, root)) for it in read.items]
    workers = workers or WORKERS or max(1, min(8, (os.cpu_count() or 1) * 2))
    with warnings.catch_warnings():  # Pillow's bomb warning becomes an error for the pool
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            facts = list(pool.map(lambda c: inspect_image(c.item.path, max_pixels), checked))
    classes = set(read.classes) if read.classes is not None else None
    for c, fact in zip(checked, facts, strict=True):
        if isinstance(fact, Finding):
            if fact.code == "missing_file" and c.item.ref:
                c.shown = c.item.ref  # the name as the annotation gives it
            _row(c, report, fact.code, "error", fact.message)
            continue
        c.facts = fact
        report.add_image(fact.width, fact.height, fact.fmt, fact.mode, c.rel)
        if fact.mode == "L":
            _row(c, report, "grayscale", "info", "grayscale; replicated to RGB when read")
        elif fact.mode != "RGB":
            _row(
                c,
                report,
                "mode_converted",
                "warning",
                f"mode {fact.mode} is converted to RGB when read",
                "converted",
            )
        if 2 <= fact.orientation <= 8:
            report.exif_rotated += 1
            _row(
                c,
                report,
                "exif_rotated",
                "info",
                f"EXIF orientation {fact.orientation} "
                f"applied: upright size {fact.width}×{fact.height}",
                "rotated",
            )
        _check_labels(c, read.scenario, classes, report)
    check_duplicates(checked, report)
    _merge_format_problems(read, checked, report)
    return checked


def _merge_format_problems(read: ReadResult, checked: list[Checked], report: ImportReport) -> None:
    """The format's own rows; an error naming an item (by ref, path or shown name) marks it.
    A row whose code ``CODES`` documents as an error is raised to an error."""
    names: dict[str, list[Checked]] = {}
    for c in checked:
        for key in {c.item.ref, c.rel, c.shown, str(c.item.path)} - {""}:
            names.setdefault(key, []).append(c)
    for p in read.problems:
        if p.code in CODES and CODES[p.code][0] == "error" and p.severity != "error":
            p = replace(p, severity="error")  # e.g. a box of an unknown class the reader dropped
        default = {"error": "item skipped", "warning": "kept", "info": "counted"}[p.severity]
        report.add_problem(p, default)
        if p.severity == "error":
            for c in names.get(p.file, []):
                c.ok = False
                c.codes.add(p.code)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


__all__ = [
    "ALLOWED_FORMATS",
    "EXT_BY_FORMAT",
    "Checked",
    "Finding",
    "ImageFacts",
    "check_boxes",
    "check_duplicates",
    "inspect_image",
    "validate",
]
