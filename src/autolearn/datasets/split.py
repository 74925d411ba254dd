"""Reproducible train/validation splits: stratified by class, or by group."""

from __future__ import annotations

import hashlib
import math
import zlib
from collections import Counter, defaultdict

import numpy as np


def stratified_split(
    labels: list[str], val_percent: float, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Split item indices into (train, val), class by class.

    Each class sends ``round(n * val_percent / 100)`` images (halves round up) to
    validation, clamped so that a class with two or more images keeps at least one
    image on each side; a class with a single image stays in train. The choice
    depends only on ``seed``, the class name and that class's items, so adding a
    class does not reshuffle the others. Both lists are sorted ascending.
    """
    if not 0 < val_percent < 100:
        raise ValueError(
            f"val_percent must be between 0 and 100 (exclusive), got {val_percent!r}; "
            "use e.g. 20 for a 20 % validation split"
        )
    by_class: dict[str, list[int]] = defaultdict(list)
    for idx, label in enumerate(labels):
        by_class[label].append(idx)

    train: list[int] = []
    val: list[int] = []
    for label, idxs in by_class.items():
        n = len(idxs)
        if n < 2:
            train.extend(idxs)
            continue
        k = math.floor(n * val_percent / 100 + 0.5)
        k = min(max(k, 1), n - 1)
        rng = np.random.default_rng([seed % 2**64, zlib.crc32(label.encode("utf-8"))])
        chosen = set(rng.permutation(n)[:k].tolist())
        for pos, idx in enumerate(idxs):
            (val if pos in chosen else train).append(idx)
    return sorted(train), sorted(val)


def group_split(
    labels: list[str | list[str]], groups: list[str], val_percent: float, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Split item indices into (train, val) by whole groups, e.g. runs of near-duplicate shots.

    ``labels[i]`` is the class of item ``i``, or the list of its classes (detection: the
    classes of its boxes; an empty list is a negative image). ``groups[i]`` is its group
    key: every item of a group lands on the same side, so copies and near-copies of a
    shot never sit on both sides of the split.

    Groups are visited in an order fixed by ``seed`` and each group key alone (hashed),
    so the result does not depend on the order of the items. Two greedy passes:

    1. coverage: for each class without a validation item yet (rarest class first), the
       first group holding it that fits under the target goes to validation (else the
       first that overshoots it);
    2. size: in the same order, groups that fit under ``val_percent`` of all items go to
       validation, then groups that overshoot it by less than they were short. Groups
       that would give a class more than twice its share of validation items are
       skipped (a rare class keeps its training images), unless validation would
       otherwise stay under half its target.

    A group is only moved when the move gets closer to the target and leaves at least one
    training item of each of its classes (classes found in a single group stay in
    train, like single images in ``stratified_split``). With two or more groups the
    validation side gets at least one group (the smallest movable one), and train always
    keeps at least one. Validation never overshoots the target by half a group or more;
    with a single class (or classes spread evenly) it also lands within half a group
    under it. Both lists are sorted ascending.
    """
    if not 0 < val_percent < 100:
        raise ValueError(
            f"val_percent must be between 0 and 100 (exclusive), got {val_percent!r}; "
            "use e.g. 20 for a 20 % validation split"
        )
    if len(labels) != len(groups):
        raise ValueError(
            f"labels and groups differ in length ({len(labels)} vs {len(groups)}); "
            "give one group key per item"
        )
    members: dict[str, list[int]] = defaultdict(list)
    per_group: dict[str, Counter[str]] = defaultdict(Counter)  # items of each class
    for idx, (label, group) in enumerate(zip(labels, groups, strict=True)):
        members[group].append(idx)
        per_group[group].update({label} if isinstance(label, str) else set(label))
    classes_of = {g: set(c) for g, c in per_group.items()}
    totals: Counter[str] = Counter()
    for counts in per_group.values():
        totals.update(counts)
    if len(members) < 2:
        return list(range(len(labels))), []

    order = sorted(members, key=lambda g: (_group_rank(seed, g), g))
    train_groups: dict[str, int] = defaultdict(int)  # class -> groups in train holding it
    for group in order:
        for cls in classes_of[group]:
            train_groups[cls] += 1
    target = len(labels) * val_percent / 100
    val: set[str] = set()
    val_size = 0
    has_val: set[str] = set()

    def movable(group: str) -> bool:
        keeps_train = len(val) + 1 < len(order)
        return keeps_train and all(train_groups[c] > 1 for c in classes_of[group])

    val_counts: Counter[str] = Counter()

    def fair(group: str) -> bool:  # leaves each class at most twice its share in val
        share = 2 * val_percent / 100
        return all(val_counts[c] + n <= share * totals[c] for c, n in per_group[group].items())

    def fits(group: str) -> bool:
        return val_size + len(members[group]) <= target

    def improves(group: str) -> bool:
        return abs(val_size + len(members[group]) - target) < abs(val_size - target)

    def move(group: str) -> None:
        nonlocal val_size
        val.add(group)
        val_size += len(members[group])
        val_counts.update(per_group[group])
        for cls in classes_of[group]:
            train_groups[cls] -= 1
            has_val.add(cls)

    # 1. coverage: rarest classes first, each into val through its first movable group
    holders: dict[str, list[str]] = defaultdict(list)
    for group in order:
        for cls in classes_of[group]:
            holders[cls].append(group)
    for cls in sorted(holders, key=lambda c: (len(holders[c]), c)):
        if cls in has_val:
            continue
        free = [g for g in holders[cls] if g not in val and movable(g) and improves(g)]
        if free:  # the first that fits under the target, else the first that overshoots
            move(next((g for g in free if fits(g)), free[0]))
    # 2. size: fill up to the target in seeded order, then overshoot once if that is closer;
    # with groups that keep every class within twice its share of val, and with any group
    # only if val is still under half its target
    for keep_fair in (True, False):
        if not keep_fair and val_size >= target / 2:
            break
        for test in (fits, improves):
            for group in order:
                if group in val or not movable(group) or not test(group):
                    continue
                if keep_fair and not fair(group):
                    continue
                move(group)
    if not val:  # the target is below half the smallest group: still validate on something
        candidates = [g for g in order if movable(g)] or order[:1]
        move(min(candidates, key=lambda g: len(members[g])))

    train_idx = sorted(i for g in order if g not in val for i in members[g])
    val_idx = sorted(i for g in val for i in members[g])
    return train_idx, val_idx


def _group_rank(seed: int, group: str) -> bytes:
    """A seeded pseudo-random rank for a group, stable under adding other groups."""
    return hashlib.blake2b(f"{seed}\x00{group}".encode(), digest_size=8).digest()
