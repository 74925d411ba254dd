"""A corpus of broken and hostile import sources, made in code.

Every case is named (its pytest id) and expects one documented code of
``report.CODES`` (or of a format's own rows). Three kinds:

- ``SOURCE``: the source as a whole is refused under either policy;
- ``ITEM``: one bad item; ``strict`` refuses, ``lenient`` imports without it and lists it;
- ``FINDING``: imported; the report lists the finding (warning or info) with its action.

After every refusal: no Dataset or DatasetVersion row, no manifest, no blob, and no
temporary folder are left behind.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from autolearn.datasets.report import CODES
from autolearn.datasets.service import DatasetImportError, import_dataset, load_manifest
from autolearn.db import Dataset, DatasetVersion, session_scope
from autolearn.storage import default_store


@dataclass
class Kit:
    """What a case builder gets: a scratch folder and the conftest image helpers."""

    tmp: Path
    image: Callable[..., Path]
    folder: Callable[..., Path]

    def classes(self, name: str = "src", **extra: int) -> Path:
        """An ImageFolder with classes a and b (2 images each) plus ``extra``."""
        return self.folder(self.tmp / name, {"a": 2, "b": 2, **extra})

    def detection(self, rows: list[str], n: int = 3, size: int = 32) -> Path:
        """A CSV detection set: ``n`` images of ``size`` px with one valid box each,
        then ``rows`` (``path,xmin,ymin,xmax,ymax,label``) appended."""
        root = self.tmp / "det"
        lines = ["path,xmin,ymin,xmax,ymax,label"]
        for i in range(n):
            self.image(root / "images" / f"{i}.png", seed=500 + i, size=(size, size))
            lines.append(f"images/{i}.png,2,2,20,20,{'cat' if i % 2 else 'dog'}")
        (root / "labels.csv").write_text("\n".join([*lines, *rows]) + "\n")
        return root

    def coco(self, annotations: list[dict[str, Any]], images: list[dict[str, Any]]) -> Path:
        """A COCO set: 2 images on disk with one box each, categories 1 cat, 2 dog."""
        root = self.tmp / "coco"
        entries = []
        anns = []
        for i in range(2):
            self.image(root / "images" / f"{i}.png", seed=700 + i, size=(32, 32))
            entries.append({"id": i + 1, "file_name": f"{i}.png", "width": 32, "height": 32})
            anns.append(
                {
                    "id": i + 1,
                    "image_id": i + 1,
                    "category_id": i + 1,
                    "bbox": [2, 2, 10, 10],
                    "iscrowd": 0,
                }
            )
        data = {
            "images": entries + images,
            "annotations": anns + annotations,
            "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        }
        (root / "instances.json").write_text(json.dumps(data))
        return root

    def zip_with(self, entries: dict[str, bytes], infos: list[zipfile.ZipInfo] = ()) -> Path:  # type: ignore[assignment]
        """A zip of a valid ImageFolder plus ``entries`` (name → bytes) and raw ``infos``."""
        src = self.classes("zipsrc")
        archive = self.tmp / "data.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for p in sorted(src.rglob("*.png")):
                zf.write(p, p.relative_to(src).as_posix())
            for name, data in entries.items():
                zf.writestr(zipfile.ZipInfo(name), data)
            for info in infos:
                zf.writestr(info, b"/etc/passwd")
        return archive


@dataclass
class Case:
    build: Callable[[Kit], Path]
    code: str
    env: dict[str, str] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    check: Callable[[dict[str, Any]], None] | None = None


def _write(path: Path, data: bytes, source: Path) -> Path:
    """Write ``data`` to ``path``; the case's source is ``source``."""
    path.write_bytes(data)
    return source


def _png_bytes(kit: Kit, seed: int = 1, size: tuple[int, int] = (16, 16)) -> bytes:
    return kit.image(kit.tmp / f"scratch{seed}.png", seed=seed, size=size).read_bytes()


def _save(path: Path, img: Image.Image, **kw: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)


def _symlink_in_zip(kit: Kit) -> Path:
    info = zipfile.ZipInfo("a/link.png")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return kit.zip_with({}, [info])


def _zip_bad_crc(kit: Kit) -> Path:
    archive = kit.tmp / "crc.zip"
    payload = bytes(range(256)) * 8
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("a/0.png", _png_bytes(kit, 1))
        zf.writestr("b/0.png", _png_bytes(kit, 2))
        zf.writestr("a/blob.bin", payload)
    data = bytearray(archive.read_bytes())
    at = data.find(payload) + 100
    data[at] ^= 0xFF
    archive.write_bytes(bytes(data))
    return archive


def _symlink_out_of_folder(kit: Kit) -> Path:
    src = kit.classes()
    outside = kit.image(kit.tmp / "outside.png", seed=99)
    os.symlink(outside, src / "a" / "link.png")
    return src


def _fifo_in_folder(kit: Kit) -> Path:
    src = kit.classes()
    os.mkfifo(src / "a" / "pipe.png")
    return src


def _truncated_jpeg(kit: Kit) -> Path:
    src = kit.classes()
    good = kit.image(kit.tmp / "big.jpg", seed=3, size=(128, 128)).read_bytes()
    (src / "a" / "bad.jpg").write_bytes(good[: len(good) // 2])
    return src


def _png_bad_crc(kit: Kit) -> Path:
    src = kit.classes()
    data = bytearray(_png_bytes(kit, 5))
    at = data.find(b"IDAT")
    (length,) = struct.unpack(">I", data[at - 4 : at])
    data[at + 4 + length] ^= 0xFF  # the chunk's CRC
    (src / "a" / "bad.png").write_bytes(bytes(data))
    return src


def _bomb_header(kit: Kit) -> Path:
    """A PNG whose header claims 60000×60000 pixels (3.6 gigapixels) in a few bytes."""
    src = kit.classes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 1, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    (src / "a" / "bomb.png").write_bytes(png + chunk(b"IEND", b""))
    return src


def _big_image(kit: Kit) -> Path:
    src = kit.classes()
    kit.image(src / "a" / "big.png", seed=8, size=(64, 64))
    return src


def _eps_as_jpg(kit: Kit) -> Path:
    src = kit.classes()
    (src / "a" / "doc.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    return src


def _duplicate(kit: Kit, same_label: bool) -> Path:
    src = kit.classes()
    data = (src / "a" / "0.png").read_bytes()
    (src / ("a" if same_label else "b") / "copy.png").write_bytes(data)
    return src


def _val_copy_of_train(kit: Kit) -> Path:
    root = kit.tmp / "tv"
    kit.folder(root / "train", {"a": 2, "b": 2})
    kit.folder(root / "val", {"a": 1, "b": 1}, seed=1)
    (root / "val" / "a" / "copy.png").write_bytes((root / "train" / "a" / "0.png").read_bytes())
    return root


def _mode_image(mode: str, **save: Any) -> Callable[[Kit], Path]:
    def build(kit: Kit) -> Path:
        src = kit.classes()
        if mode == "I;16":
            import numpy as np

            arr = (np.arange(256, dtype=np.uint16).reshape(16, 16) * 250).astype(np.uint16)
            img = Image.fromarray(arr)
        else:
            img = Image.new("RGB", (16, 16), (200, 30, 30)).convert(mode)
        ext = ".jpg" if mode == "CMYK" else ".png"
        _save(src / "a" / f"mode{ext}", img, **save)
        return src

    return build


def _exif_rotated(kit: Kit) -> Path:
    src = kit.classes()
    exif = Image.Exif()
    exif[0x0112] = 6
    _save(src / "b" / "rot.jpg", Image.new("RGB", (40, 20), (10, 200, 10)), exif=exif)
    return src


def _check_rotated(report: dict[str, Any]) -> None:
    assert report["image_size"]["height"]["max"] == 40  # upright: 20 wide, 40 high
    assert report["exif_rotated"] == 1


def _layout_loose(kit: Kit) -> Path:
    src = kit.classes()
    kit.image(src / "stray.png", seed=77)
    return src


def _unknown_layout(kit: Kit) -> Path:
    root = kit.tmp / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("no images")
    return root


def _train_val(kit: Kit, val: dict[str, int]) -> Path:
    root = kit.tmp / "tv"
    kit.folder(root / "train", {"a": 2, "b": 2})
    kit.folder(root / "val", val, seed=1)
    return root


def _csv_mixed_splits(kit: Kit) -> Path:
    root = kit.tmp / "mixed"
    rows = ["path,label,split"]
    for i, (label, split) in enumerate([("a", "train"), ("b", "train"), ("a", "val"), ("b", "")]):
        kit.image(root / "images" / f"{i}.png", seed=40 + i)
        rows.append(f"images/{i}.png,{label},{split}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def _empty_csv(kit: Kit) -> Path:
    root = kit.tmp / "empty"
    (root / "images").mkdir(parents=True)
    (root / "labels.csv").write_text("path,label\n")
    return root


def _negatives_only(kit: Kit) -> Path:
    root = kit.tmp / "neg"
    lines = ["path,xmin,ymin,xmax,ymax,label"]
    for i in range(2):
        kit.image(root / "images" / f"{i}.png", seed=60 + i, size=(32, 32))
        lines.append(f"images/{i}.png,,,,,")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


def _check_box(expected: list[float] | None, negatives: int = 0) -> Callable[[dict], None]:
    def check(report: dict[str, Any]) -> None:
        assert report["num_negatives"] == negatives
        if expected is not None:
            clipped = [p for p in report["problems"] if p["code"] == "box_out_of_bounds"]
            assert clipped and clipped[0]["action"] == "clipped"
            assert "clipped to [" + ", ".join(f"{v:g}" for v in expected) in clipped[0]["message"]

    return check


def _zip_size_lies(kit: Kit) -> Path:
    """A zip whose central directory understates an entry's size (a classic bomb trick)."""
    archive = kit.zip_with({"a/big.bin": b"\0" * 50_000})
    data = bytearray(archive.read_bytes())
    name = b"a/big.bin"
    cd = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    struct.pack_into("<I", data, cd + 24, 10)  # uncompressed size: 10 bytes, it says
    archive.write_bytes(bytes(data))
    return archive


# ---------------------------------------------------------------------- the corpus

SOURCE: dict[str, Case] = {
    "zip_slip_dotdot": Case(lambda k: k.zip_with({"../../evil.png": b"x"}), "zip_slip"),
    "zip_slip_nested": Case(lambda k: k.zip_with({"a/../../evil.png": b"x"}), "zip_slip"),
    "zip_absolute_path": Case(lambda k: k.zip_with({"/abs/evil.png": b"x"}), "zip_absolute_path"),
    "zip_drive_letter": Case(lambda k: k.zip_with({"C:/evil.png": b"x"}), "zip_absolute_path"),
    "zip_symlink_entry": Case(_symlink_in_zip, "zip_symlink"),
    "zip_bad_crc": Case(_zip_bad_crc, "zip_entry_unreadable"),
    "zip_size_header_lies": Case(_zip_size_lies, "zip_entry_unreadable"),
    "not_a_zip": Case(
        lambda k: _write(k.tmp / "x.zip", b"PK no", k.tmp / "x.zip"), "zip_unreadable"
    ),
    "zip_too_many_files": Case(
        lambda k: k.zip_with({}), "too_many_files", env={"AUTOLEARN_IMPORT_MAX_FILES": "3"}
    ),
    "zip_too_large": Case(
        lambda k: k.zip_with({}), "too_large", env={"AUTOLEARN_IMPORT_MAX_BYTES": "500"}
    ),
    "folder_symlink_leaves_tree": Case(_symlink_out_of_folder, "symlink_escape"),
    "folder_fifo": Case(_fifo_in_folder, "special_file"),
    "folder_too_many_files": Case(
        lambda k: k.classes(), "too_many_files", env={"AUTOLEARN_IMPORT_MAX_FILES": "3"}
    ),
    "folder_too_large": Case(
        lambda k: k.classes(), "too_large", env={"AUTOLEARN_IMPORT_MAX_BYTES": "500"}
    ),
    "source_missing": Case(lambda k: k.tmp / "nowhere", "source_missing"),
    "unknown_format": Case(_unknown_layout, "unknown_format"),
    "loose_image_layout": Case(_layout_loose, "layout"),
    "empty_dataset": Case(_empty_csv, "empty_dataset"),
    "single_class": Case(lambda k: k.folder(k.tmp / "one", {"a": 3}), "too_few_classes"),
    "val_class_missing_from_train": Case(
        lambda k: _train_val(k, {"a": 1, "c": 2}), "val_class_not_in_train"
    ),
    "mixed_splits": Case(_csv_mixed_splits, "mixed_splits"),
    "detection_without_any_box": Case(_negatives_only, "no_boxes"),
    "scenario_mismatch": Case(
        lambda k: k.classes(), "scenario_mismatch", kwargs={"scenario": "detection"}
    ),
}

ITEM: dict[str, Case] = {
    "truncated_jpeg": Case(_truncated_jpeg, "truncated"),
    "zero_byte_file": Case(
        lambda k: _write(k.classes() / "a" / "empty.jpg", b"", k.tmp / "src"), "empty_file"
    ),
    "text_named_jpg": Case(
        lambda k: _write(k.classes() / "a" / "notes.jpg", b"hello", k.tmp / "src"),
        "not_an_image",
    ),
    "eps_named_jpg_never_reaches_ghostscript": Case(_eps_as_jpg, "not_an_image"),
    "png_bad_crc": Case(_png_bad_crc, "corrupt"),
    "decompression_bomb_header": Case(_bomb_header, "too_many_pixels"),
    "pixel_limit_from_settings": Case(
        _big_image, "too_many_pixels", env={"AUTOLEARN_IMPORT_MAX_PIXELS": "1000"}
    ),
    "missing_image_in_annotation": Case(
        lambda k: k.detection(["images/gone.png,1,1,9,9,cat"]), "missing_file"
    ),
    "duplicate_with_conflicting_labels": Case(
        lambda k: _duplicate(k, same_label=False), "duplicate_conflict"
    ),
    "unknown_class_id": Case(
        lambda k: k.coco([{"id": 9, "image_id": 1, "category_id": 7, "bbox": [1, 1, 4, 4]}], []),
        "unknown_class",
    ),
}

FINDING: dict[str, Case] = {
    "png_16bit_converted": Case(_mode_image("I;16"), "mode_converted"),
    "cmyk_jpeg_converted": Case(_mode_image("CMYK"), "mode_converted"),
    "palette_with_transparency_converted": Case(_mode_image("P", transparency=0), "mode_converted"),
    "rgba_converted": Case(_mode_image("RGBA"), "mode_converted"),
    "la_converted": Case(_mode_image("LA"), "mode_converted"),
    "grayscale_counted": Case(_mode_image("L"), "grayscale"),
    "exif_rotated_size_swapped": Case(_exif_rotated, "exif_rotated", check=_check_rotated),
    "duplicate_same_label": Case(lambda k: _duplicate(k, same_label=True), "duplicate_image"),
    "val_image_also_in_train": Case(_val_copy_of_train, "val_in_train"),
    "val_class_without_images": Case(lambda k: _train_val(k, {"a": 1}), "val_class_empty"),
    "orphan_annotation": Case(
        lambda k: k.coco([{"id": 9, "image_id": 42, "category_id": 1, "bbox": [1, 1, 4, 4]}], []),
        "orphan_annotation",
    ),
    "box_out_of_bounds_clipped": Case(
        lambda k: k.detection(["images/0.png,20,20,40,40,cat"]),
        "box_out_of_bounds",
        check=_check_box([20, 20, 32, 32]),
    ),
    "box_zero_area_dropped": Case(
        lambda k: k.detection(["images/0.png,5,5,5,12,cat"]), "box_degenerate"
    ),
    "box_negative_dropped": Case(
        lambda k: k.detection(["images/0.png,12,12,5,5,cat"]), "box_degenerate"
    ),
    "box_outside_image_dropped": Case(
        lambda k: k.detection(["images/0.png,40,40,50,50,cat"]), "box_degenerate"
    ),
    "detection_negative_counted": Case(
        lambda k: k.detection([], n=2) and _add_negative(k),
        "negative_image",
        check=_check_box(None, negatives=1),
    ),
}


def _add_negative(kit: Kit) -> Path:
    root = kit.tmp / "det"
    kit.image(root / "images" / "neg.png", seed=999, size=(32, 32))
    with (root / "labels.csv").open("a") as fh:
        fh.write("images/neg.png,,,,,\n")
    return root


# ---------------------------------------------------------------------- the checks


@pytest.fixture
def kit(autolearn_home: Path, make_image, make_imagefolder) -> Kit:
    scratch = autolearn_home / "cases"
    scratch.mkdir()
    return Kit(scratch, make_image, make_imagefolder)


def _apply_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    from autolearn.settings import get_settings

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


def _nothing_left(home: Path) -> None:
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Dataset)) == 0
        assert s.scalar(select(func.count()).select_from(DatasetVersion)) == 0
    store = default_store()
    assert store.list("datasets") == [] and store.list("blobs") == []
    tmp = home / "tmp"
    assert not tmp.exists() or not list(tmp.iterdir())  # extraction folders removed
    assert not (home.parent / "evil.png").exists() and not (home / "evil.png").exists()


def _codes(report: dict[str, Any]) -> dict[str, int]:
    return report["code_counts"]


def _documented(code: str, severity: str) -> None:
    if code in CODES:
        assert CODES[code][0] == severity, f"{code} is documented as {CODES[code][0]}"


@pytest.mark.parametrize("policy", ["strict", "lenient"])
@pytest.mark.parametrize("case", list(SOURCE.values()), ids=list(SOURCE))
def test_source_refused(kit: Kit, monkeypatch, case: Case, policy: str) -> None:
    source = case.build(kit)
    _apply_env(monkeypatch, case.env)
    with pytest.raises(DatasetImportError) as info:
        import_dataset(source, name="hostile", policy=policy, **case.kwargs)  # type: ignore[arg-type]
    report = info.value.report
    assert report["status"] == "refused" and report["policy"] == policy
    assert case.code in _codes(report), (case.code, report["problems"])
    row = next(p for p in report["problems"] if p["code"] == case.code)
    _documented(case.code, row["severity"])
    assert row["severity"] == "error" and row["message"]
    json.dumps(report)
    _nothing_left(kit.tmp.parent)


@pytest.mark.parametrize("case", list(ITEM.values()), ids=list(ITEM))
def test_item_error_strict_refuses_lenient_skips(kit: Kit, monkeypatch, case: Case) -> None:
    source = case.build(kit)
    _apply_env(monkeypatch, case.env)
    with pytest.raises(DatasetImportError) as info:
        import_dataset(source, name="hostile", **case.kwargs)
    report = info.value.report
    assert case.code in _codes(report), (case.code, report["problems"])
    row = next(p for p in report["problems"] if p["code"] == case.code)
    assert row["severity"] == "error" and row["action"] == "import refused"
    _documented(case.code, "error")
    assert row["file"] and row["file"] in str(info.value)  # the message names the file
    _nothing_left(kit.tmp.parent)

    version = import_dataset(source, name="hostile", policy="lenient", **case.kwargs)
    listed = [p for p in version.report["problems"] if p["code"] == case.code]
    assert listed and listed[0]["action"] == "item skipped"
    assert version.report["policy"] == "lenient"
    assert version.report["num_images"] == version.num_images
    bad = {p["file"] for p in listed}
    kept = {it.source_path for it in load_manifest(version).items}
    assert not any(f.endswith("/" + k) or f == k for f in bad for k in kept)


@pytest.mark.parametrize("case", list(FINDING.values()), ids=list(FINDING))
def test_finding_imported_and_listed(kit: Kit, monkeypatch, case: Case) -> None:
    source = case.build(kit)
    _apply_env(monkeypatch, case.env)
    version = import_dataset(source, name="finding", **case.kwargs)
    report = version.report
    assert report["status"] == "imported" and report["severity_counts"]["error"] == 0
    assert case.code in _codes(report), (case.code, report["problems"])
    row = next(p for p in report["problems"] if p["code"] == case.code)
    assert row["severity"] in ("warning", "info") and row["action"]
    _documented(case.code, row["severity"])
    if case.check is not None:
        case.check(report)
    json.dumps(version.to_dict())
    manifest = load_manifest(version)
    for item in manifest.items:  # every kept image reads back as RGB at its upright size
        img = manifest.open_image(item)
        assert img.mode == "RGB" and img.size == (item.width, item.height)


def test_corpus_size() -> None:
    """The issue asks for at least 25 named cases."""
    assert len(SOURCE) + len(ITEM) + len(FINDING) >= 25
    assert all(
        c.code in CODES or c.code == "orphan_annotation"
        for c in [*SOURCE.values(), *ITEM.values(), *FINDING.values()]
    )


def test_box_rows_are_clipped_dropped_and_rounded(kit: Kit) -> None:
    root = kit.detection(
        [
            "images/0.png,20.123,20.456,40,40,cat",
            "images/1.png,5,5,5,12,dog",
            "images/2.png,-3,1.005,9.999,9,cat",
        ]
    )
    version = import_dataset(root, name="boxes")
    items = {it.source_path: it for it in load_manifest(version).items}
    assert items["images/0.png"].boxes is not None
    assert [(b.x1, b.y1, b.x2, b.y2) for b in items["images/0.png"].boxes][-1] == (
        20.12,
        20.46,
        32.0,
        32.0,
    )
    assert len(items["images/1.png"].boxes or ()) == 1  # the zero-area box dropped
    assert version.report["code_counts"]["box_out_of_bounds"] == 2
    assert version.report["code_counts"]["box_degenerate"] == 1
    assert version.num_boxes == 3 + 2
    assert version.scenario == "detection"
    assert version.class_counts == {"all": {"cat": 3, "dog": 2}}
    assert version.report["image_counts"] == {"all": {"cat": 3, "dog": 2}}


def test_report_summary_names_codes(kit: Kit) -> None:
    with pytest.raises(DatasetImportError) as info:
        import_dataset(_truncated_jpeg(kit), name="x")
    text = info.value.import_report.summary()
    assert text.startswith("refused: ") and "truncated × 1" in text
    assert info.value.import_report.rows()[0][:2] == ["error", "truncated"]
