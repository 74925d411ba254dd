"""Data-center service: import (folder, zip), validation, versioning, lookups, reading."""

from __future__ import annotations

import io
import json
import re
import shutil
import stat
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from autolearn.datasets import commit
from autolearn.datasets.service import (
    DatasetError,
    DatasetImportError,
    DatasetNotFoundError,
    commit_version,
    import_dataset,
    lineage,
    list_datasets,
    load_manifest,
    resolve_version,
    show_dataset,
)
from autolearn.storage import default_store

HYMENOPTERA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "hymenoptera"


def _no_dataset_written() -> None:
    assert list_datasets() == []
    assert default_store().list("datasets") == []


def test_import_class_folders(autolearn_home: Path, make_imagefolder) -> None:
    src = make_imagefolder(autolearn_home / "src" / "My Pets!", {"dog": 2, "cat": 3})
    v = import_dataset(src)
    assert v.dataset == "my-pets" and v.number == 1 and v.ref == "my-pets:v1"
    assert v.classes == ["cat", "dog"]
    assert v.class_counts == {"all": {"cat": 3, "dog": 2}}
    assert v.num_images == 5 and not v.has_fixed_val and v.parent_id is None
    assert v.report["image_size"]["width"] == {"min": 16, "median": 16, "max": 16}
    assert v.report["modes_converted"] == {}
    json.dumps(v.to_dict())  # JSON-serialisable

    store = default_store()
    key = f"datasets/my-pets/{v.content_hash}/manifest.json"
    assert v.manifest_uri == store.uri(key)
    manifest = store.get_json(key)
    assert manifest["format"] == "imagefolder" and manifest["scenario"] == "classification"
    assert manifest["classes"] == ["cat", "dog"]
    item = manifest["items"][0]
    assert item["blob"] == f"blobs/{item['sha256'][:2]}/{item['sha256']}.png"
    assert item["source_path"] == "cat/0.png" and item["split"] is None
    assert all(store.exists(it["blob"]) for it in manifest["items"])


def test_import_train_val(autolearn_home: Path, make_imagefolder) -> None:
    make_imagefolder(autolearn_home / "ab" / "train", {"a": 3, "b": 2})
    make_imagefolder(autolearn_home / "ab" / "val", {"a": 1, "b": 1}, seed=1)
    v = import_dataset(autolearn_home / "ab", name="ab")
    assert v.has_fixed_val
    assert v.class_counts == {"train": {"a": 3, "b": 2}, "val": {"a": 1, "b": 1}}
    assert v.train_counts == {"a": 3, "b": 2}
    m = load_manifest(v)
    assert m.has_fixed_val and len(m.items_in("val")) == 2 and len(m.items_in("train")) == 5


def test_val_class_missing_from_train(autolearn_home: Path, make_imagefolder) -> None:
    make_imagefolder(autolearn_home / "d" / "train", {"a": 2, "b": 2})
    make_imagefolder(autolearn_home / "d" / "val", {"a": 1, "c": 2}, seed=1)
    with pytest.raises(DatasetImportError, match=r"missing from train: c \(2 val images\)"):
        import_dataset(autolearn_home / "d")
    _no_dataset_written()


def test_too_few_classes(autolearn_home: Path, make_imagefolder) -> None:
    make_imagefolder(autolearn_home / "d", {"a": 3})
    with pytest.raises(DatasetImportError, match=r"1 class \('a'\).*at least 2 classes"):
        import_dataset(autolearn_home / "d")


def test_bad_names(autolearn_home: Path, make_imagefolder) -> None:
    src = make_imagefolder(autolearn_home / "d", {"a": 1, "b": 1})
    for bad in ["has space", "a:b", "x@y", "123", "-lead", ""]:
        with pytest.raises(DatasetImportError, match="not allowed"):
            import_dataset(src, name=bad)
    with pytest.raises(DatasetImportError, match="does not exist"):
        import_dataset(autolearn_home / "missing")


def _zip(folder: Path, archive: Path, arc_prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(folder.rglob("*")):
            zf.write(p, arc_prefix + p.relative_to(folder).as_posix())
    return archive


def test_zip_with_wrapper_folder(autolearn_home: Path, make_imagefolder) -> None:
    src = autolearn_home / "src"
    make_imagefolder(src / "train", {"x": 2, "y": 2})
    make_imagefolder(src / "val", {"x": 1, "y": 1}, seed=1)
    archive = _zip(src, autolearn_home / "Flowers 2024.zip", arc_prefix="flowers/")
    with zipfile.ZipFile(archive, "a") as zf:  # the junk macOS adds
        zf.writestr("__MACOSX/flowers/._train", b"junk")
    v = import_dataset(archive)
    assert v.dataset == "flowers-2024"
    assert v.class_counts == {"train": {"x": 2, "y": 2}, "val": {"x": 1, "y": 1}}
    assert v.source == str(archive)
    # the same content from the folder is the same version
    assert import_dataset(src, name="flowers-2024").id == v.id
    assert not list((autolearn_home / "tmp").iterdir())  # extraction folder removed


@pytest.mark.parametrize("entry", ["../../escaped.png", "/abs/escaped.png", "a/../../escaped.png"])
def test_zip_slip_refused(autolearn_home: Path, make_imagefolder, make_image, entry: str) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 1, "b": 1})
    archive = _zip(src, autolearn_home / "evil.zip")
    evil = make_image(autolearn_home / "evil.png", seed=7).read_bytes()
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(zipfile.ZipInfo(entry), evil)
    with pytest.raises(DatasetImportError, match=rf"'{re.escape(entry)}' in evil\.zip.*outside"):
        import_dataset(archive)
    assert not (autolearn_home.parent / "escaped.png").exists()
    assert not Path("/abs/escaped.png").exists()
    _no_dataset_written()


def test_zip_symlink_refused(autolearn_home: Path, make_imagefolder) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 1, "b": 1})
    archive = _zip(src, autolearn_home / "link.zip")
    info = zipfile.ZipInfo("a/link.png")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DatasetImportError, match=r"'a/link\.png' in link\.zip is a symbolic link"):
        import_dataset(archive)


def test_not_a_zip(autolearn_home: Path) -> None:
    bad = autolearn_home / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DatasetImportError, match="not a readable zip"):
        import_dataset(bad)


def test_truncated_jpeg_refused(autolearn_home: Path, make_imagefolder, make_image) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 2, "b": 2}, ext=".jpg")
    good = make_image(autolearn_home / "big.jpg", seed=3, size=(128, 128)).read_bytes()
    (src / "b" / "broken.jpg").write_bytes(good[: len(good) // 2])
    (src / "a" / "fake.png").write_bytes(b"this is text")
    with pytest.raises(DatasetImportError) as info:
        import_dataset(src)
    msg = str(info.value)
    assert "2 error(s) in" in msg and "strict policy refuses" in msg
    assert "b/broken.jpg: image file is truncated" in msg
    assert "fake.png: not an image" in msg
    assert len(info.value.problems) == 2
    assert info.value.report["code_counts"] == {"truncated": 1, "not_an_image": 1}
    _no_dataset_written()
    assert default_store().list("blobs") == []  # nothing written before validation passed


def test_truncated_jpeg_in_zip_named_by_entry(autolearn_home: Path, make_imagefolder) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 1, "b": 1}, ext=".jpg")
    data = (src / "a" / "0.jpg").read_bytes()
    (src / "a" / "0.jpg").write_bytes(data[: len(data) - 200])
    archive = _zip(src, autolearn_home / "d.zip", arc_prefix="d/")
    with pytest.raises(DatasetImportError, match=r"(?i)d\.zip:d/a/0\.jpg: .*truncated.*incomplete"):
        import_dataset(archive)


def test_reimport_and_new_version(autolearn_home: Path, make_imagefolder, make_image) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 2, "b": 2})
    v1 = import_dataset(src, name="ds", description="first")
    # same images under other file names: same content hash, same version
    copy = autolearn_home / "copy"
    shutil.copytree(src, copy)
    (copy / "a" / "0.png").rename(copy / "a" / "renamed.png")
    again = import_dataset(copy, name="ds")
    assert again.id == v1.id and again.content_hash == v1.content_hash
    assert show_dataset("ds")["versions"][0]["id"] == v1.id
    assert len(show_dataset("ds")["versions"]) == 1

    make_image(src / "b" / "new.png", seed=12345)
    v2 = import_dataset(src, name="ds")
    assert (v2.number, v2.parent_id, v2.ref) == (2, v1.id, "ds:v2")
    assert v2.content_hash != v1.content_hash and v2.num_images == 5
    # a label change alone is a change too
    shutil.move(str(src / "b" / "new.png"), str(src / "a" / "new.png"))
    v3 = import_dataset(src, name="ds")
    assert v3.number == 3 and v3.parent_id == v2.id

    rows = list_datasets()
    assert rows == [
        {
            "name": "ds",
            "owner_id": None,
            "description": "first",
            "scenario": "classification",
            "versions": 3,
            "latest": "ds:v3",
            "num_images": 5,
            "classes": ["a", "b"],
        }
    ]


def test_resolve_version_forms(autolearn_home: Path, make_imagefolder, make_image) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 1, "b": 1})
    v1 = import_dataset(src, name="ants")
    make_image(src / "a" / "more.png", seed=77)
    v2 = import_dataset(src, name="ants")

    assert resolve_version("ants").id == v2.id
    assert resolve_version("ants:v1").id == v1.id
    assert resolve_version("ants:2").id == v2.id
    assert resolve_version(f"ants@{v1.content_hash[:8]}").id == v1.id
    assert resolve_version(f"ants@{v2.content_hash.upper()}").id == v2.id
    assert resolve_version(str(v1.id)).id == v1.id
    assert resolve_version(v2.id).ref == "ants:v2"

    with pytest.raises(
        DatasetNotFoundError, match=r"no dataset named 'bees'; known datasets: ants"
    ):
        resolve_version("bees")
    with pytest.raises(DatasetNotFoundError, match=r"no version v9; its versions: v1, v2"):
        resolve_version("ants:v9")
    with pytest.raises(DatasetNotFoundError, match=r"starting with '000000'.*v1 @"):
        resolve_version("ants@000000")
    with pytest.raises(DatasetNotFoundError, match=r"no dataset version with id 999"):
        resolve_version("999")
    with pytest.raises(DatasetError, match="at least 6 hex digits"):
        resolve_version("ants@abc")
    with pytest.raises(DatasetError, match="not a dataset reference"):
        resolve_version("ants:latest")
    with pytest.raises(DatasetNotFoundError, match=r"known datasets: ants"):
        show_dataset("nope")
    # "²" and "٣" are digits to str.isdigit() but not to int(): a clear refusal, not a crash
    for odd in ("²", "ants:v²", "ants:٣"):
        with pytest.raises((DatasetError, DatasetNotFoundError)):
            resolve_version(odd)


def test_not_found_when_empty(autolearn_home: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="no datasets exist yet"):
        resolve_version("anything")


def test_palette_and_exif(autolearn_home: Path, make_imagefolder, make_image) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 1, "b": 1})
    make_image(src / "a" / "pal.png", seed=5, mode="P")
    tall = Image.new("RGB", (20, 10), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° when shown
    tall.save(src / "b" / "rot.jpg", exif=exif)
    v = import_dataset(src, name="modes")
    assert v.report["modes_converted"] == {"P": 1}
    assert v.report["converted_examples"] == {"P": ["a/pal.png"]}
    assert v.report["image_size"]["height"]["max"] == 20  # EXIF orientation applied

    m = load_manifest(v)
    by_source = {it.source_path: it for it in m.items}
    pal = m.open_image(by_source["a/pal.png"])
    assert pal.mode == "RGB" and pal.size == (16, 16)
    rot = m.open_image(by_source["b/rot.jpg"])
    assert rot.mode == "RGB" and rot.size == (10, 20)
    assert by_source["b/rot.jpg"].blob.endswith(".jpg")


def test_load_manifest_through_bytes(autolearn_home: Path, make_imagefolder) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 1, "b": 1})
    v = import_dataset(src, name="bytes")
    m = load_manifest(v, store=default_store())
    m.store = _BytesOnlyStore(m.store)  # a non-local store: reads go through store.open
    img = m.open_image(m.items[0])
    assert img.mode == "RGB" and img.size == (16, 16)
    assert m.store.reads == [m.items[0].blob]


class _BytesOnlyStore:
    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.reads: list[str] = []

    def open(self, key: str) -> io.BytesIO:
        self.reads.append(key)
        return io.BytesIO(self.inner.get_bytes(key))


def test_db_failure_leaves_no_rows(autolearn_home: Path, make_imagefolder, monkeypatch) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 1, "b": 1})

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(commit, "_latest", boom)
    with pytest.raises(RuntimeError, match="went away"):
        import_dataset(src, name="fails")
    assert list_datasets() == []
    assert default_store().list("datasets") == []  # the manifest went with the row
    monkeypatch.undo()
    assert import_dataset(src, name="fails").number == 1


@pytest.mark.slow
@pytest.mark.skipif(not HYMENOPTERA.is_dir(), reason=f"{HYMENOPTERA} is missing")
def test_hymenoptera(autolearn_home: Path) -> None:
    v = import_dataset(HYMENOPTERA)
    assert v.dataset == "hymenoptera" and v.has_fixed_val
    assert v.class_counts == {
        "train": {"ants": 124, "bees": 121},
        "val": {"ants": 70, "bees": 83},
    }
    assert v.num_images == 398
    assert v.report["modes_converted"] == {"P": 1}
    m = load_manifest(v)
    pal = next(it for it in m.items if it.source_path == v.report["converted_examples"]["P"][0])
    assert m.open_image(pal).mode == "RGB"
    assert import_dataset(HYMENOPTERA).id == v.id


def test_lineage_records_what_changed(autolearn_home: Path, make_imagefolder, make_image) -> None:
    src = make_imagefolder(autolearn_home / "src", {"a": 2, "b": 2})
    v1 = import_dataset(src, name="lin")
    assert v1.parent_id is None and v1.changes == {}
    make_image(src / "b" / "new.png", seed=4242)
    shutil.move(str(src / "a" / "0.png"), str(src / "b" / "moved.png"))
    make_image(src / "c" / "0.png", seed=4343)
    v2 = import_dataset(src, name="lin")
    assert v2.parent_id == v1.id
    assert v2.changes == {
        "parent": "lin:v1",
        "images_added": 2,
        "images_removed": 0,
        "images_relabelled": 1,
        "images_moved_split": 0,
        "boxes_added": 0,
        "boxes_removed": 0,
        "classes_added": ["c"],
        "classes_removed": [],
    }
    assert [v.ref for v in lineage("lin")] == ["lin:v2", "lin:v1"]
    assert show_dataset("lin")["versions"][1]["changes"]["images_added"] == 2


def test_commit_version_from_edited_items(autolearn_home: Path, make_imagefolder) -> None:
    """What a labelling API does: edit a version's items, commit them with that parent."""
    v1 = import_dataset(make_imagefolder(autolearn_home / "src", {"a": 2, "b": 2}), name="ed")
    v2 = import_dataset(make_imagefolder(autolearn_home / "more", {"a": 3, "b": 2}), name="ed")
    items = load_manifest(v1).items
    edited = [replace(items[0], label="b"), *items[1:]]
    v3 = commit_version("ed", edited, ["a", "b"], "classification", parent=v1, source="edit")
    assert (v3.number, v3.parent_id) == (3, v1.id) and v2.number == 2
    assert v3.changes["images_relabelled"] == 1 and v3.changes["parent"] == "ed:v1"
    assert v3.class_counts == {"all": {"a": 1, "b": 3}}
    again = commit_version("ed", edited, ["a", "b"], "classification", parent=v1)
    assert again.id == v3.id  # same content: the same version, nothing written
    with pytest.raises(DatasetError, match="holds classification data"):
        commit_version("ed", [replace(items[0], boxes=())], ["a"], "detection")
    assert len(show_dataset("ed")["versions"]) == 3


def test_detection_manifest_and_hash_survive_export(autolearn_home: Path, make_image) -> None:
    root = autolearn_home / "det"
    rows = ["path,xmin,ymin,xmax,ymax,label,split"]
    for i in range(4):
        make_image(root / "images" / f"{i}.png", seed=900 + i, size=(40, 30))
        split = "val" if i == 3 else "train"
        rows.append(f"images/{i}.png,1.234,2,20.5,25,{'cup' if i % 2 else 'plate'},{split}")
    rows.append("images/0.png,3,3,9,9,cup,train")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    v = import_dataset(root, name="dishes")
    assert v.scenario == "detection" and v.num_boxes == 5 and v.has_fixed_val
    assert v.class_counts == {"train": {"cup": 2, "plate": 2}, "val": {"cup": 1, "plate": 0}}
    m = load_manifest(v)
    first = next(it for it in m.items if it.source_path == "images/0.png")
    assert first.label is None and first.boxes is not None and len(first.boxes) == 2
    assert (first.width, first.height, first.boxes[0].x1) == (40, 30, 1.23)
    raw = default_store().get_json(f"datasets/dishes/{v.content_hash}/manifest.json")
    assert raw["scenario"] == "detection" and raw["classes"] == ["cup", "plate"]

    from autolearn.datasets.export import export_version

    export_version(v.ref, "coco", autolearn_home / "exported")
    again = import_dataset(autolearn_home / "exported", name="dishes")
    assert again.id == v.id and again.content_hash == v.content_hash
