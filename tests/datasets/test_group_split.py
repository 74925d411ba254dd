"""group_split: whole groups on one side, near the target share, classes on both sides."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autolearn.datasets.grouping import group_keys
from autolearn.datasets.split import group_split

MEALTRAY = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "mealtray"

Labels = list[str | list[str]]


@st.composite
def grouped_items(draw: st.DrawFn, max_items: int = 120) -> tuple[Labels, list[str]]:
    """Items with a group key each and a class (or, for detection, a list of classes)."""
    n = draw(st.integers(0, max_items))
    n_groups = draw(st.integers(1, 30))
    groups = [f"g{draw(st.integers(0, n_groups - 1))}" for _ in range(n)]
    classes = st.sampled_from(["a", "b", "c", "d"])
    detection = draw(st.booleans())
    labels: Labels = [
        draw(st.lists(classes, max_size=3)) if detection else draw(classes) for _ in range(n)
    ]
    return labels, groups


def _side_groups(groups: list[str], idx: list[int]) -> set[str]:
    return {groups[i] for i in idx}


@settings(max_examples=150, deadline=None)
@given(grouped_items(), st.floats(1, 60), st.integers(0, 2**32))
def test_partition_properties(data: tuple[Labels, list[str]], pct: float, seed: int) -> None:
    labels, groups = data
    train, val = group_split(labels, groups, pct, seed=seed)
    assert sorted(train + val) == list(range(len(labels)))  # every item exactly once
    assert train == sorted(train) and val == sorted(val)
    assert not _side_groups(groups, train) & _side_groups(groups, val)  # no group split
    assert group_split(labels, groups, pct, seed=seed) == (train, val)  # deterministic
    n_groups = len(set(groups))
    if n_groups >= 2:  # both sides get at least one group
        assert train and val
    # a class found in two or more groups always keeps training items
    holders: dict[str, set[str]] = {}
    for label, group in zip(labels, groups, strict=True):
        for cls in [label] if isinstance(label, str) else label:
            holders.setdefault(cls, set()).add(group)
    train_classes = {
        c for i in train for c in ([labels[i]] if isinstance(labels[i], str) else labels[i])
    }
    assert {c for c, gs in holders.items() if len(gs) >= 2} <= train_classes


@settings(max_examples=60, deadline=None)
@given(grouped_items(), st.floats(5, 50), st.integers(0, 1000), st.randoms())
def test_item_order_does_not_matter(
    data: tuple[Labels, list[str]], pct: float, seed: int, rnd: random.Random
) -> None:
    labels, groups = data
    order = list(range(len(labels)))
    rnd.shuffle(order)
    _, val = group_split(labels, groups, pct, seed=seed)
    _, val2 = group_split([labels[i] for i in order], [groups[i] for i in order], pct, seed=seed)
    assert _side_groups(groups, val) == {groups[order[i]] for i in val2}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(1, 6), min_size=20, max_size=120),
    st.floats(5, 50),
    st.integers(0, 2**32),
)
def test_val_share_close_to_target_with_many_groups(
    sizes: list[int], pct: float, seed: int
) -> None:
    groups = [f"g{g}" for g, size in enumerate(sizes) for _ in range(size)]
    labels: Labels = ["x"] * len(groups)
    _, val = group_split(labels, groups, pct, seed=seed)
    target = len(groups) * pct / 100
    smallest = min(sizes)
    if target >= smallest / 2:  # otherwise the smallest group is validation's minimum
        assert abs(len(val) - target) <= max(sizes) / 2


def test_rare_class_reaches_both_sides_and_stays_mostly_in_train() -> None:
    # 20 groups of common classes; "rare" appears in three groups only
    labels: Labels = []
    groups: list[str] = []
    for g in range(20):
        for i in range(5):
            labels.append("rare" if g in (3, 11, 17) and i == 0 else ["a", "b"][i % 2])
            groups.append(f"run-{g}")
    for seed in range(10):
        train, val = group_split(labels, groups, 20, seed=seed)
        val_classes = Counter(labels[i] for i in val if isinstance(labels[i], str))
        train_classes = Counter(labels[i] for i in train if isinstance(labels[i], str))
        assert val_classes["rare"] >= 1 and train_classes["rare"] >= 1
        assert val_classes["rare"] <= 2  # at most twice its 20 % share of 3 items
        assert len(val) == 20  # four whole groups of five


def test_detection_labels_and_seed() -> None:
    labels: Labels = [["plate", "cup"] if i % 3 else [] for i in range(60)]
    groups = [f"tray{i // 4}" for i in range(60)]
    a = group_split(labels, groups, 25, seed=0)
    b = group_split(labels, groups, 25, seed=1)
    assert a != b
    for train, val in (a, b):
        assert len(val) == 16 or len(val) == 12  # whole groups of 4 around 15
        assert not _side_groups(groups, train) & _side_groups(groups, val)


def test_edge_cases() -> None:
    assert group_split([], [], 20) == ([], [])
    assert group_split(["a", "b", "a"], ["g", "g", "g"], 20) == ([0, 1, 2], [])  # one group
    # both groups bigger than twice the target: validation still gets the smaller one
    train, val = group_split(["a"] * 7, ["x"] * 4 + ["y"] * 3, 5)
    assert (train, val) == ([0, 1, 2, 3], [4, 5, 6])
    with pytest.raises(ValueError, match="val_percent"):
        group_split(["a"], ["g"], 0)
    with pytest.raises(ValueError, match="differ in length"):
        group_split(["a", "b"], ["g"], 20)


def _mealtray() -> tuple[list[str], Labels]:
    if not (MEALTRAY / "obj.names").is_file():
        pytest.skip(f"mealtray sample not found at {MEALTRAY}")
    names_cls = (MEALTRAY / "obj.names").read_text().split()
    images = sorted((MEALTRAY / "obj_train_data").glob("*.jpg"))
    labels: Labels = []
    for image in images:
        lines = image.with_suffix(".txt").read_text().splitlines()
        labels.append(sorted({names_cls[int(line.split()[0])] for line in lines if line.strip()}))
    return [p.name for p in images], labels


@pytest.mark.slow
def test_mealtray_runs_stay_on_one_side() -> None:
    names, labels = _mealtray()
    keys = group_keys(names, "runs", r"\((\d+)\)")
    sizes = Counter(keys)
    # the README's 10 runs of consecutive file numbers, found with max_gap=1
    assert len(sizes) == 10, sorted(sizes.items())
    assert sorted(sizes.values()) == [13, 15, 20, 30, 40, 43, 50, 52, 92, 132]
    for seed in range(5):
        train, val = group_split(labels, keys, 20, seed=seed)
        assert not _side_groups(keys, train) & _side_groups(keys, val)
        assert 0.15 <= len(val) / len(names) <= 0.25
        every = {c for label in labels for c in label}
        assert {c for i in val for c in labels[i]} == every  # all 8 classes validate
        assert {c for i in train for c in labels[i]} == every
