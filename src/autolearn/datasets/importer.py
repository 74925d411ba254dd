"""The import pipeline: source → (zip) → format → read → validate → policy → blobs →
manifest + version row.

Nothing is written before validation has passed: a refused import raises
``DatasetImportError`` whose ``report`` lists every finding, and leaves no blob, no
manifest and no database row. Policy ``strict`` refuses on any error row; ``lenient``
skips the items with errors and lists each. Warnings never refuse. Problems of the
source as a whole (hostile archives, limits, layout, too few classes, ...) refuse
under either policy. Temporary folders (zip extraction) are always removed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from sqlalchemy import Engine

from autolearn.accounts.principal import Principal
from autolearn.datasets.archive import check_name, local_source, sanitize_name, source_folder
from autolearn.datasets.commit import commit_version, dataset_scenario, ensure_writable
from autolearn.datasets.formats import detect_format, get_format, unwrap
from autolearn.datasets.formats.base import DatasetError, RawItem, ReadResult
from autolearn.datasets.formats.base import DatasetImportError as _LayoutError
from autolearn.datasets.manifest import ManifestItem, blob_key, class_counts, compute_content_hash
from autolearn.datasets.remote import fetched, is_remote
from autolearn.datasets.report import DatasetImportError, ImportReport, refuse
from autolearn.datasets.validate import Checked, validate
from autolearn.datasets.versions import VersionInfo, _find_existing
from autolearn.storage import ObjectStore, default_store

Policy = Literal["strict", "lenient"]


def import_dataset(
    source: str | Path,
    name: str | None = None,
    fmt: str = "auto",
    description: str = "",
    store: ObjectStore | None = None,
    engine: Engine | None = None,
    policy: Policy = "strict",
    scenario: str | None = None,
    actor: Principal | None = None,
    source_name: str | None = None,
) -> VersionInfo:
    """Validate a folder or ``.zip`` and record it as a new version of dataset ``name``.

    Identical content (same images, labels, boxes, splits, groups) returns the existing
    version. Raises ``DatasetImportError`` (with ``.report``) when the import is refused.
    ``source_name`` is how the report and the version name the source instead of its
    path (an upload's temporary file means nothing to the person who sent it).
    """
    report = ImportReport(policy=policy, source=source_name or str(source))
    try:
        if policy not in ("strict", "lenient"):
            raise refuse(
                "bad_policy", "", f"policy {policy!r} is not 'strict' or 'lenient'", report
            )
        remote = is_remote(str(source))
        src = None if remote else local_source(source, report)
        report.source = source_name or str(src or source)
        if name is None:
            name = sanitize_name(_stem(src or PurePosixPath(str(source).rstrip("/"))))
        check_name(name, report)
        try:
            ensure_writable(name, actor, engine)
        except DatasetError as exc:
            raise refuse("name_taken", "", str(exc), report) from None
        store = store or default_store()
        with ExitStack() as stack:
            if src is None:  # fetched only once the name is known to be usable
                src = stack.enter_context(fetched(str(source), report))
            folder, prefix = stack.enter_context(source_folder(src, report))
            if remote and not prefix:
                prefix = str(source).rstrip("/") + "/"
            return _import_folder(
                folder, prefix, name, fmt, description, store, engine, scenario, report, actor
            )
    finally:
        report.elapsed_s = time.perf_counter() - report.started


def _stem(src: Path | PurePosixPath) -> str:
    """The name a source suggests: a zip's stem, a folder's name."""
    is_zip = src.suffix.lower() == ".zip" and (isinstance(src, PurePosixPath) or src.is_file())
    return src.stem if is_zip else src.name


@contextmanager
def _adopt(
    report: ImportReport,
    code: str = "layout",
    where: str = "",
    shown: Callable[[str], str] = str,
) -> Iterator[None]:
    """Re-raise refusals with this import's report: rows of another report are merged,
    a plain ``DatasetImportError`` (a format's layout error) becomes a ``code`` row whose
    message names paths as ``shown`` does."""
    try:
        yield
    except DatasetImportError as exc:
        if exc.import_report is report:
            raise
        report.merge(exc.import_report)
        raise DatasetImportError(str(exc), report) from None
    except _LayoutError as exc:
        raise refuse(code, shown(where), shown(str(exc)), report) from None


def _in_archive(text: str, folder: Path, prefix: str) -> str:
    """``text`` with paths inside a zip's temporary extraction ``folder`` named as the
    archive's entries (``photos.zip:cats/``): the temporary folder is gone by the time
    anyone reads the message, and was never theirs."""
    if not prefix:
        return text
    text = text.replace(f"{folder}/", prefix).replace(str(folder), prefix.rstrip(":"))
    return text.replace(f"{folder.name}/", prefix)


def _import_folder(
    folder: Path,
    prefix: str,
    name: str,
    fmt: str,
    description: str,
    store: ObjectStore,
    engine: Engine | None,
    scenario: str | None,
    report: ImportReport,
    actor: Principal | None = None,
) -> VersionInfo:
    from autolearn.settings import get_settings

    tick = time.perf_counter()
    root = unwrap(folder)

    def in_archive(text: str) -> str:
        return _in_archive(text, folder, prefix)

    with _adopt(report, "unknown_format", str(root), in_archive):
        fmt_name = detect_format(root) if fmt == "auto" else fmt
        dataset_format = get_format(fmt_name)
    report.format = dataset_format.name
    with _adopt(report, "layout", str(root), in_archive):
        read = dataset_format.read(root)
    report.scenario = read.scenario
    report.num_found = len(read.items)
    tick = _lap(report, "read", tick)
    _check_scenario(read, scenario, name, engine, report)
    if not read.items:
        raise refuse(
            "empty_dataset",
            str(root),
            f"no images found in {report.source}; add "
            "images in one of the layouts of format "
            f"{dataset_format.name!r} ({dataset_format.description})",
            report,
        )

    def shown(item: RawItem) -> str:
        """Where the item is, relative to the source (the report names the source)."""
        try:
            return f"{prefix}{item.path.relative_to(folder).as_posix()}"
        except ValueError:
            return f"{prefix}{item.ref or item.path.name}"

    checked = validate(read, root, shown, report, get_settings().import_max_pixels)
    tick = _lap(report, "validate", tick)
    kept = _apply_policy(checked, report)
    kept = _normalise_splits(kept, report)
    classes = _classes(kept, read, report)
    items = [_manifest_item(c) for c in kept]
    _count(items, classes, read.scenario, report)

    content_hash = compute_content_hash(items, classes, read.scenario)
    existing = _find_existing(name, content_hash, engine)
    if existing is not None:
        return existing
    _write_blobs(kept, store)
    tick = _lap(report, "write_blobs", tick)
    health = _health(kept, classes, read.scenario)
    _lap(report, "health", tick)
    report.status = "imported"
    return commit_version(
        name,
        items,
        classes,
        read.scenario,
        parent=None,
        source=report.source,
        report={**report.to_dict(), "health": health},
        description=description,
        fmt=dataset_format.name,
        store=store,
        engine=engine,
        actor=actor,
    )


def _health(kept: list[Checked], classes: list[str], scenario: str) -> list[dict[str, Any]]:
    """The data-health advisor's findings, stored with the version (and shown again when a
    task is created on it)."""
    from PIL import Image

    from autolearn.datasets.health import HealthItem, assess
    from autolearn.settings import get_settings

    items, paths = [], {}
    for c in kept:
        assert c.facts is not None
        paths[c.rel] = c.item.path
        items.append(
            HealthItem(
                key=c.rel,
                sha256=c.facts.sha256,
                label=c.item.label,
                boxes=c.boxes,
                split=c.item.split,
                width=c.facts.width,
                height=c.facts.height,
                group=c.item.group,
                dhash=c.facts.dhash,
            )
        )

    def load(item: HealthItem) -> Image.Image:
        return Image.open(paths[item.key])

    embeddings = get_settings().import_health_embeddings
    findings = assess(items, classes, scenario, load_image=load, embeddings=embeddings)
    return [f.to_dict() for f in findings]


def _lap(report: ImportReport, phase: str, since: float) -> float:
    now = time.perf_counter()
    report.timings[f"{phase}_s"] = now - since
    return now


def _check_scenario(
    read: ReadResult,
    scenario: str | None,
    name: str,
    engine: Engine | None,
    report: ImportReport,
) -> None:
    if scenario is not None and scenario != read.scenario:
        raise refuse(
            "scenario_mismatch",
            report.source,
            f"the {report.format} data in "
            f"{report.source} is {read.scenario}, not {scenario}; import it without "
            "a scenario or pick data of that scenario",
            report,
        )
    existing = dataset_scenario(name, engine)
    if existing is not None and existing != read.scenario:
        raise refuse(
            "scenario_mismatch",
            report.source,
            f"dataset {name!r} holds {existing} "
            f"data and this is {read.scenario}; import it under another name",
            report,
        )


def _apply_policy(checked: list[Checked], report: ImportReport) -> list[Checked]:
    if report.num_errors and report.policy == "strict":
        report.set_action("error", "import refused")
        raise DatasetImportError(
            f"{report.num_errors} error(s) in {report.source}; the strict policy refuses the "
            "import: fix or remove these files and import again (or import with policy "
            f"'lenient' to skip them):\n  {report.message_lines()}",
            report,
        )
    kept = [c for c in checked if c.ok]
    report.num_skipped = len(checked) - len(kept)
    if not kept:
        raise refuse(
            "empty_dataset",
            report.source,
            f"none of the {len(checked)} image(s) "
            "is usable (every one has an error, listed in the report)",
            report,
        )
    return kept


def _normalise_splits(kept: list[Checked], report: ImportReport) -> list[Checked]:
    splits = {c.item.split for c in kept}
    if None in splits and len(splits) > 1:
        example = next(c.shown for c in kept if c.item.split is None)
        raise refuse(
            "mixed_splits",
            example,
            "some images have a train/val split and others "
            "(like this one) none; give every image a split or none of them",
            report,
        )
    if splits == {"train"}:  # a train set without a validation set: no fixed val
        for c in kept:
            c.item = RawItem(
                path=c.item.path,
                label=c.item.label,
                split=None,
                boxes=c.item.boxes,
                group=c.item.group,
                ref=c.item.ref,
            )
    return kept


def _labels(c: Checked, scenario: str) -> set[str]:
    if scenario == "detection":
        return {b.label for b in c.boxes or ()}
    return {c.item.label} if c.item.label is not None else set()


def _classes(kept: list[Checked], read: ReadResult, report: ImportReport) -> list[str]:
    present = set().union(*(_labels(c, read.scenario) for c in kept))
    classes = list(read.classes) if read.classes is not None else sorted(present)
    if read.scenario == "classification" and len(present) < 2:
        found = f"1 class ({next(iter(present))!r})" if present else "no classes"
        raise refuse(
            "too_few_classes",
            report.source,
            f"found {found}; a classifier needs at "
            "least 2 classes: add a folder of images for each further class",
            report,
        )
    if read.scenario == "detection" and not present:
        raise refuse(
            "no_boxes",
            report.source,
            f"none of the {len(kept)} image(s) has a box; a detector needs labelled boxes",
            report,
        )
    train = set().union(*(_labels(c, read.scenario) for c in kept if c.item.split != "val"))
    val_only: dict[str, int] = {}
    for c in kept:
        if c.item.split == "val":
            for label in _labels(c, read.scenario) - train:
                val_only[label] = val_only.get(label, 0) + 1
    if val_only:
        listed = ", ".join(f"{cls} ({n} val images)" for cls, n in sorted(val_only.items()))
        raise refuse(
            "val_class_not_in_train",
            report.source,
            f"the validation set has classes "
            f"missing from train: {listed}; add training images for them or remove "
            "them from the validation folder",
            report,
        )
    if any(c.item.split == "val" for c in kept):
        in_val = set().union(*(_labels(c, read.scenario) for c in kept if c.item.split == "val"))
        for cls in sorted(train - in_val):
            report.add(
                "val_class_empty",
                "warning",
                report.source,
                f"class {cls!r} has no validation images; its accuracy will not be measured",
                "kept",
            )
    report.classes = classes
    return classes


def _manifest_item(c: Checked) -> ManifestItem:
    assert c.facts is not None
    return ManifestItem(
        blob=blob_key(c.facts.sha256, c.facts.ext),
        sha256=c.facts.sha256,
        split=c.item.split,
        label=c.item.label if c.boxes is None else None,
        boxes=c.boxes,
        group=c.item.group,
        source_path=c.rel,
        width=c.facts.width,
        height=c.facts.height,
    )


def _count(
    items: list[ManifestItem], classes: list[str], scenario: str, report: ImportReport
) -> None:
    report.counts, report.image_counts = class_counts(items, classes, scenario)
    report.num_images = len(items)
    report.num_boxes = sum(len(it.boxes or ()) for it in items)
    report.num_negatives = sum(1 for it in items if it.boxes is not None and not it.boxes)


def _write_blobs(kept: list[Checked], store: ObjectStore) -> None:
    """Copy each distinct image into the store once (content-addressed, atomic puts)."""
    todo: dict[str, Path] = {}
    for c in kept:
        assert c.facts is not None
        todo.setdefault(blob_key(c.facts.sha256, c.facts.ext), c.item.path)

    def put(pair: tuple[str, Path]) -> None:
        key, path = pair
        if not store.exists(key):
            store.put_file(key, str(path))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(put, todo.items()))


__all__ = ["Policy", "import_dataset", "sanitize_name"]
