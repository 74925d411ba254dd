"""Data-health advisor: each check triggered by data made in code, and mealtray's runs."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from autolearn.datasets import health
from autolearn.datasets.formats.base import Box
from autolearn.datasets.grouping import group_keys
from autolearn.datasets.health import Finding, HealthItem, assess, findings_from_counts
from autolearn.datasets.split import group_split

MEALTRAY = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "mealtray"


def smooth(seed: int, size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A photo-like image: a random 5×4 colour field, bicubic-upscaled."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    return Image.fromarray(cells).resize(size, Image.Resampling.BICUBIC)


def save(root: Path, name: str, img: Image.Image) -> tuple[str, str]:
    """Write ``img`` as PNG under ``root``; return (key, sha256)."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return name, hashlib.sha256(path.read_bytes()).hexdigest()


def loader(root: Path) -> Callable[[HealthItem], Image.Image]:
    return lambda item: Image.open(root / item.key)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def by_code(findings: list[Finding], code: str) -> Finding:
    return next(f for f in findings if f.code == code)


# --------------------------------------------------------------------------- findings


def test_finding_is_json_able_and_converts_to_advice() -> None:
    f = Finding("few_images", "warning", "few", "add", {"classes": {"a": 3}})
    data = json.loads(json.dumps(f.to_dict()))
    assert Finding.from_dict(data) == f
    advice = f.to_advice()
    assert (advice.code, advice.level, advice.message) == ("few_images", "warning", "few; add")
    assert str(f) == "warning: few → add"


# --------------------------------------------------------------------------- counts


def test_seed_thresholds() -> None:
    findings = findings_from_counts({"a": 12, "b": 30, "c": 60, "d": 0})
    few, small = by_code(findings, "few_images"), by_code(findings, "small_classes")
    assert few.severity == "warning" and few.details["classes"] == {"d": 0, "a": 12}
    assert "expect lower accuracy" in few.message and "20" in few.suggestion
    assert small.severity == "info" and small.details["classes"] == {"d": 0, "a": 12, "b": 30}
    assert "lower lr by 10" in small.suggestion
    assert findings_from_counts({"a": 50, "b": 60}) == []


@pytest.mark.parametrize(
    ("counts", "severity", "ratio"),
    [({"big": 1000, "mid": 200, "tiny": 80}, "warning", 12.5), ({"a": 240, "b": 60}, "info", 4.0)],
)
def test_class_imbalance(counts: dict[str, int], severity: str, ratio: float) -> None:
    f = by_code(findings_from_counts(counts), "class_imbalance")
    assert f.severity == severity and f.details["ratio"] == ratio
    assert f.details["largest"][0] == next(iter(counts))
    assert "add data for the small classes" in f.suggestion and "merge" in f.suggestion


def test_balanced_enough_is_quiet() -> None:
    assert findings_from_counts({"a": 150, "b": 60}) == []  # 2.5× is fine


def test_assess_counts_training_items_and_declared_classes() -> None:
    items = [HealthItem(f"a{i}", label="a") for i in range(60)]
    items += [HealthItem(f"b{i}", label="b", split="val") for i in range(60)]  # val only
    findings = assess(items, ["a", "b", "c"], "classification", embeddings=False)
    assert by_code(findings, "few_images").details["classes"] == {"b": 0, "c": 0}
    assert findings[0].severity == "warning"  # warnings come first


def test_findings_from_report() -> None:
    report = {
        "counts": {"train": {"a": 100, "b": 8}, "val": {"a": 10, "b": 2}},
        "duplicates": {"val_in_train": ["val/a/1.png"], "conflicting_labels": []},
    }
    got = codes(health.findings_from_report(report))
    assert sorted(got) == ["class_imbalance", "few_images", "leak_exact", "small_classes"]


# --------------------------------------------------------------------------- boxes


def test_tiny_boxes() -> None:
    items = [
        HealthItem("big.jpg", boxes=(Box("cup", 10, 10, 60, 60),), width=200, height=200),
        HealthItem(
            "wide.jpg",
            boxes=(Box("fork", 0, 0, 5, 40), Box("crumb", 0, 0, 20, 20)),
            width=1000,
            height=1000,
        ),
        HealthItem("none.jpg", boxes=(), width=100, height=100),
    ]
    f = by_code(assess(items, ["cup", "fork", "crumb"], "detection"), "tiny_boxes")
    assert f.severity == "warning" and f.details["count"] == 2 and f.details["total"] == 3
    assert f.details["by_class"] == {"fork": 1, "crumb": 1}  # 5 px side; 0.04 % of the image
    assert "input size" in f.suggestion and "tile" in f.suggestion
    clean = [HealthItem("ok.jpg", boxes=(Box("cup", 0, 0, 40, 40),), width=100, height=100)]
    assert "tiny_boxes" not in codes(assess(clean, ["cup"], "detection"))


# --------------------------------------------------------------------------- leakage


def test_signature_tells_copies_from_other_images() -> None:
    img = smooth(1, (256, 192))
    brighter = ImageEnhance.Brightness(img).enhance(1.08).resize((128, 96))
    h, t = health.signature(img)
    hb, tb = health.signature(brighter)
    ho, to = health.signature(smooth(2, (256, 192)))
    assert health.hamming(h, hb) <= health.DHASH_MAX_DISTANCE
    assert health.thumbnail_similarity(t, tb) >= health.THUMB_MIN_CORRELATION
    assert health.hamming(h, ho) > health.DHASH_MAX_DISTANCE
    assert health.thumbnail_similarity(t, to) < health.THUMB_MIN_CORRELATION
    assert health.dhash(img) == h


def test_exact_and_near_leaks_are_found_and_unrelated_images_are_not(tmp_path: Path) -> None:
    items = []
    for i in range(6):
        key, sha = save(tmp_path, f"train/{i}.png", smooth(i))
        items.append(HealthItem(key, sha, label="a", split="train"))
    key, sha = save(tmp_path, "val/exact.png", smooth(0))  # same pixels, same bytes
    items.append(HealthItem(key, sha, label="a", split="val"))
    near = ImageEnhance.Brightness(smooth(1, (128, 96))).enhance(1.08).resize((64, 48))
    key, sha = save(tmp_path, "val/near.png", near)
    items.append(HealthItem(key, sha, label="a", split="val"))
    for i in (100, 101):
        key, sha = save(tmp_path, f"val/other{i}.png", smooth(i))
        items.append(HealthItem(key, sha, label="a", split="val"))

    findings = health.check_leakage(items, loader(tmp_path))
    exact, leak = by_code(findings, "leak_exact"), by_code(findings, "leak_near")
    assert exact.severity == leak.severity == "warning"
    assert exact.details["examples"] == [["val/exact.png", "train/0.png"]]
    assert leak.details["count"] == 1 and leak.details["val_images"] == 4
    assert leak.details["examples"][0][:2] == ["val/near.png", "train/1.png"]
    assert "group split" in leak.suggestion

    # without pixels only the exact copy can be seen
    assert codes(health.check_leakage(items)) == ["leak_exact"]


def test_dhash_match_needs_confirmation_by_thumbnails(tmp_path: Path) -> None:
    x = np.linspace(0, 200, 64)
    ramp = np.tile(x, (48, 1))  # brightness rises left to right in every row...
    fan = ramp * np.linspace(0.3, 1.2, 48)[:, None]  # ...here too, but unevenly
    ramp_key, ramp_sha = save(tmp_path, "ramp.png", Image.fromarray(ramp.astype(np.uint8)))
    fan_key, fan_sha = save(tmp_path, "fan.png", Image.fromarray(fan.astype(np.uint8)))
    items = [
        HealthItem(ramp_key, ramp_sha, label="a", split="train"),
        HealthItem(fan_key, fan_sha, label="a", split="val"),
    ]
    hashes = [health.dhash(Image.open(tmp_path / i.key)) for i in items]
    assert health.hamming(*hashes) == 0  # the same 64-bit dHash
    assert health.check_leakage(items, loader(tmp_path)) == []  # thumbnails disagree
    # with precomputed hashes and no pixels, the hash match counts alone
    hashed = [
        HealthItem(i.key, i.sha256, "a", split=i.split, dhash=h)
        for i, h in zip(items, hashes, strict=True)
    ]
    assert codes(health.check_leakage(hashed)) == ["leak_near"]


def test_near_duplicates_before_a_split_respect_groups(tmp_path: Path) -> None:
    items = []
    for scene in range(4):
        for shot, size in enumerate(((96, 72), (64, 48))):  # each scene at two resolutions
            key, sha = save(tmp_path, f"s{scene}_{shot}.png", smooth(scene, size))
            items.append(HealthItem(key, sha, label="a", group=None))
    f = by_code(health.check_leakage(items, loader(tmp_path)), "near_duplicates")
    assert f.severity == "warning" and f.details == {**f.details, "images": 8, "pairs": 4}
    assert "group" in f.suggestion and "random" in f.message
    grouped = [HealthItem(i.key, i.sha256, "a", group=i.key[:2]) for i in items]
    assert health.check_leakage(grouped, loader(tmp_path)) == []
    wrong = [HealthItem(i.key, i.sha256, "a", group=i.key) for i in items]
    f = by_code(health.check_leakage(wrong, loader(tmp_path)), "near_duplicates")
    assert "in another group" in f.message and "max_gap" in f.suggestion


# --------------------------------------------------------------------------- embeddings


def test_mean_cosine_corrects_for_sample_size() -> None:
    rng = np.random.default_rng(0)
    mu = rng.normal(size=64)

    def sample(n: int, centre: np.ndarray) -> np.ndarray:
        x = centre + 1.5 * rng.normal(size=(n, 64)) * np.linalg.norm(centre) / 8
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    for n in (8, 40):
        corrected, raw = health.mean_cosine(sample(n, mu), sample(n, mu))
        assert corrected > 0.9 and raw < corrected  # one distribution: about 1
    corrected, _ = health.mean_cosine(sample(40, mu), sample(40, rng.normal(size=64)))
    assert corrected < 0.5


@pytest.mark.slow  # ~3 s alone (torch + timm import, lite0 on 40 images), ~6 s in a busy run
def test_similar_classes_from_the_pretrained_backbone(tmp_path: Path) -> None:
    pytest.importorskip("timm")
    rng = np.random.default_rng(0)
    items = []
    for i in range(10):
        base = smooth(i, (96, 72))
        for cls, img in (("cat", base), ("cats", ImageEnhance.Brightness(base).enhance(1.1))):
            key, _ = save(tmp_path, f"{cls}/{i}.png", img)
            items.append(HealthItem(key, label=cls))
        red = np.full((48, 64, 3), (200 + rng.integers(-20, 20), 30, 30), np.uint8)
        blue = np.clip(np.array([40, 70, 220]) + rng.integers(-40, 41, (48, 64, 3)), 0, 255)
        for cls, px in (("red", red), ("blue", blue)):
            key, _ = save(tmp_path, f"{cls}/{i}.png", Image.fromarray(px.astype(np.uint8)))
            items.append(HealthItem(key, label=cls))
    start = time.perf_counter()
    findings = assess(
        items, ["cat", "cats", "red", "blue"], "classification", load_image=loader(tmp_path)
    )
    elapsed = time.perf_counter() - start
    f = by_code(findings, "similar_classes")
    assert [p[:2] for p in f.details["pairs"]] == [["cat", "cats"]]  # red ~ blue is not
    assert f.severity == "warning" and "expect less" in f.suggestion
    assert "fewer than 20 images" in f.message  # both have 10
    assert elapsed < 30, f"embedding check took {elapsed:.1f} s"
    assert "similar_classes" not in codes(
        assess(
            items, ["cat", "cats"], "classification", load_image=loader(tmp_path), embeddings=False
        )
    )


# --------------------------------------------------------------------------- mealtray


def _mealtray_items() -> list[HealthItem]:
    if not (MEALTRAY / "obj.names").is_file():
        pytest.skip(f"mealtray sample not found at {MEALTRAY}")
    names = (MEALTRAY / "obj.names").read_text().split()
    items = []
    for path in sorted((MEALTRAY / "obj_train_data").glob("*.jpg")):
        with Image.open(path) as img:
            w, h = img.size
        boxes = []
        for line in path.with_suffix(".txt").read_text().splitlines():
            c, cx, cy, bw, bh = line.split()
            x, y, bw_px, bh_px = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
            boxes.append(
                Box(names[int(c)], x - bw_px / 2, y - bh_px / 2, x + bw_px / 2, y + bh_px / 2)
            )
        items.append(HealthItem(path.name, boxes=tuple(boxes), width=w, height=h))
    return items


@pytest.mark.slow
def test_mealtray_copies_stay_inside_runs() -> None:
    items = _mealtray_items()
    load = loader(MEALTRAY / "obj_train_data")
    classes = (MEALTRAY / "obj.names").read_text().split()
    # without a group key, the advisor sees the same trays at several resolutions
    f = by_code(
        assess(items, classes, "detection", load_image=load, embeddings=False), "near_duplicates"
    )
    assert f.severity == "warning" and f.details["images"] > 150
    keys = group_keys([i.key for i in items], "runs", r"\((\d+)\)")
    grouped = [
        HealthItem(i.key, boxes=i.boxes, width=i.width, height=i.height, group=k)
        for i, k in zip(items, keys, strict=True)
    ]
    assert "near_duplicates" not in codes(health.check_leakage(grouped, load))
    # a group split leaks nothing; a random split of the same size does
    labels: list[str | list[str]] = [[b.label for b in i.boxes or ()] for i in items]
    _, val = group_split(labels, keys, 20)
    as_split = [
        HealthItem(i.key, boxes=i.boxes, split="val" if n in set(val) else "train")
        for n, i in enumerate(items)
    ]
    assert health.check_leakage(as_split, load) == []
    shuffled = set(np.random.default_rng(0).permutation(len(items))[: len(val)].tolist())
    random_split = [
        HealthItem(i.key, split="val" if n in shuffled else "train") for n, i in enumerate(items)
    ]
    leak = by_code(health.check_leakage(random_split, load), "leak_near")
    assert leak.details["count"] > 20
