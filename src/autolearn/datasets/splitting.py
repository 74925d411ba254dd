"""``dataset split``: fix a train/validation split into a new dataset version.

Stratified by class, or by group (a filename pattern, or runs of consecutive shot
numbers) so that near-duplicate shots never sit on both sides. The result is a
version like any other: tasks on it keep its split, and its lineage says how it
was made.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any, Literal

from autolearn.datasets.formats.base import DatasetError

Method = Literal["stratified", "pattern", "runs", "group"]


def split_version(
    ref: str,
    val_percent: float = 20.0,
    method: Method = "stratified",
    pattern: str = "",
    max_gap: int = 1,
    seed: int = 0,
) -> Any:
    """New version of ``ref`` with every item's split set; returns its VersionInfo."""
    from autolearn.datasets.service import commit_version, load_manifest, resolve_version
    from autolearn.datasets.split import group_split, stratified_split

    if not 0 < val_percent < 100:
        raise DatasetError(f"val percent must be between 0 and 100, got {val_percent}")
    version = resolve_version(ref)
    manifest = load_manifest(version)
    items = list(manifest.items)
    labels = [i.classes for i in items]
    if method == "stratified":
        flat = [lab[0] if lab else "" for lab in labels]
        train, val = stratified_split(flat, val_percent, seed)
        how = f"stratified {val_percent:g} % (seed {seed})"
    else:
        groups = _groups(items, method, pattern, max_gap)
        train, val = group_split(labels, groups, val_percent, seed)  # type: ignore[arg-type]
        how = (
            f"by group ({method} {pattern!r}): {len(set(groups))} groups, "
            f"{val_percent:g} % (seed {seed})"
        )
    sides = {i: "train" for i in train} | {i: "val" for i in val}
    new_items = [replace(item, split=sides[i]) for i, item in enumerate(items)]
    return commit_version(
        version.dataset,
        new_items,
        list(manifest.classes),
        manifest.scenario,
        parent=version,
        source=f"split of {version.ref}: {how}",
        report={
            "split": {
                "method": method,
                "pattern": pattern,
                "val_percent": val_percent,
                "seed": seed,
                "train": len(train),
                "val": len(val),
            }
        },
    )


def _groups(items: list[Any], method: str, pattern: str, max_gap: int) -> list[str]:
    from autolearn.datasets.grouping import group_keys

    if method == "group":
        missing = [i.source_path for i in items if not i.group]
        if missing:
            raise DatasetError(
                f"{len(missing)} images have no group column value, e.g. "
                f"{missing[0]}; import a 'group' column or use --by pattern/runs"
            )
        return [str(i.group) for i in items]
    if not pattern:
        raise DatasetError(f"--by {method} needs --pattern, a regular expression on file names")
    names = [PurePosixPath(i.source_path or i.blob).name for i in items]
    return group_keys(names, method, pattern, max_gap=max_gap)  # type: ignore[arg-type]
