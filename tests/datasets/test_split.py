"""stratified_split: per-class proportions, determinism, coverage."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autolearn.datasets.split import stratified_split


def test_per_class_counts_and_determinism() -> None:
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 2 + ["d"]
    train, val = stratified_split(labels, 20, seed=3)
    val_counts = Counter(labels[i] for i in val)
    assert val_counts == {"a": 2, "b": 1, "c": 1}  # d: a single image stays in train
    assert stratified_split(labels, 20, seed=3) == (train, val)
    assert train == sorted(train) and val == sorted(val)


def test_seed_changes_choice_and_classes_are_independent() -> None:
    labels = ["a"] * 50 + ["b"] * 50
    _, v0 = stratified_split(labels, 30, seed=0)
    _, v1 = stratified_split(labels, 30, seed=1)
    assert v0 != v1
    # adding a class leaves the other classes' choices alone
    _, v2 = stratified_split([*labels, "c", "c", "c"], 30, seed=0)
    assert [i for i in v2 if i < 100] == v0


def test_rounding_and_clamping() -> None:
    assert len(stratified_split(["a"] * 10, 25)[1]) == 3  # 2.5 rounds half up
    assert len(stratified_split(["a"] * 3, 1)[1]) == 1  # at least one val
    assert len(stratified_split(["a"] * 3, 99)[0]) == 1  # at least one train
    assert stratified_split([], 20) == ([], [])


@pytest.mark.parametrize("bad", [0, 100, -5, 150])
def test_bad_percent(bad: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        stratified_split(["a", "b"], bad)


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.sampled_from(["x", "y", "z", "w"]), max_size=80),
    pct=st.floats(min_value=1, max_value=99),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_split_properties(labels: list[str], pct: float, seed: int) -> None:
    train, val = stratified_split(labels, pct, seed)
    assert not set(train) & set(val)
    assert sorted(train + val) == list(range(len(labels)))
    assert (train, val) == stratified_split(labels, pct, seed)
    counts = Counter(labels)
    val_counts = Counter(labels[i] for i in val)
    for cls, n in counts.items():
        k = val_counts.get(cls, 0)
        if n == 1:
            assert k == 0
        else:
            assert 1 <= k <= n - 1
            assert k == min(max(math.floor(n * pct / 100 + 0.5), 1), n - 1)
