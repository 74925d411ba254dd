"""The import report: every finding about a source, what the import did about it, and
the numbers of what was imported.

A report is built while an import runs, travels on ``DatasetImportError.report``
when the import is refused, and is stored with the version when it is committed
(``VersionInfo.report``, the ``to_dict()`` form). Each problem is a row
``{code, severity, file, message, action}``; ``CODES`` documents every code.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from autolearn.datasets.formats.base import DatasetImportError as _BaseImportError
from autolearn.datasets.formats.base import Problem

Severity = Literal["error", "warning", "info"]
REPORT_VERSION = 1
MAX_INFO_LISTED = 20  # per code: info findings beyond this are only counted
MAX_LISTED = 10_000  # a report never lists more rows than this (the counts stay exact)
MAX_IN_MESSAGE = 10

# code -> (usual severity, what it means and what to do). Formats may add their own codes.
CODES: dict[str, tuple[Severity, str]] = {
    # the source as a whole: always refuse the import, whatever the policy
    "source_missing": ("error", "the path does not exist or is not a folder/.zip"),
    "bad_name": ("error", "the dataset name is not allowed"),
    "bad_policy": ("error", "the policy is neither 'strict' nor 'lenient'"),
    "name_taken": ("error", "the dataset name belongs to another user (or is shared read-only)"),
    "zip_unreadable": ("error", "the .zip cannot be opened; re-create it"),
    "zip_slip": ("error", "a zip entry would be written outside the extraction folder ('..')"),
    "zip_absolute_path": ("error", "a zip entry has an absolute path or drive letter"),
    "zip_symlink": ("error", "a zip entry is a symbolic link"),
    "zip_entry_unreadable": ("error", "a zip entry cannot be extracted (corrupt, encrypted)"),
    "symlink_escape": ("error", "a symbolic link in the source folder points outside it"),
    "special_file": ("error", "a FIFO, socket or device file in the source folder"),
    "too_many_files": ("error", "more files than settings.import_max_files"),
    "too_large": ("error", "more bytes than settings.import_max_bytes"),
    "unknown_format": ("error", "no format recognises the layout, or the format is unknown"),
    "layout": ("error", "the format refused the folder layout (message says what to move)"),
    "scenario_mismatch": ("error", "the data is not of the scenario asked for"),
    "empty_dataset": ("error", "no usable images (none found, or every one was skipped)"),
    "too_few_classes": ("error", "a classifier needs at least 2 classes with images"),
    "no_boxes": ("error", "a detection dataset without a single box"),
    "val_class_not_in_train": ("error", "a class appears in val but not in train"),
    "mixed_splits": ("error", "some images have a train/val split and others none"),
    # one image or one annotation: an error refuses (strict) or skips the item (lenient)
    "missing_file": ("error", "the annotation names an image file that does not exist"),
    "not_a_file": ("error", "the image path is a folder, FIFO or device, not a file"),
    "unreadable": ("error", "the file cannot be read (permissions, I/O error)"),
    "empty_file": ("error", "the image file has 0 bytes"),
    "not_an_image": ("error", "Pillow cannot identify the file (wrong extension, text)"),
    "truncated": ("error", "the image data ends early (interrupted copy or download)"),
    "corrupt": ("error", "the image cannot be decoded (bad checksum, broken data)"),
    "too_many_pixels": ("error", "width × height over settings.import_max_pixels (bomb)"),
    "unknown_class": ("error", "a label or box class is not in the declared class list"),
    "missing_label": ("error", "a classification image has no class label"),
    "duplicate_conflict": ("error", "identical image bytes with different labels"),
    "mode_converted": ("warning", "palette, CMYK, 16-bit, alpha... converted to RGB on read"),
    "box_out_of_bounds": ("warning", "a box reaches outside the image; clipped to it"),
    "box_degenerate": ("warning", "a box with zero or negative area (or NaN); dropped"),
    "duplicate_image": ("warning", "identical image bytes with the same labels; kept"),
    "duplicate_boxes_differ": ("warning", "identical image bytes with other boxes; kept"),
    "val_in_train": ("warning", "a validation image is also in train (leaks into val)"),
    "val_class_empty": ("warning", "a class has no validation images"),
    "grayscale": ("info", "a grayscale image, replicated to 3 channels on read"),
    "exif_rotated": ("info", "EXIF orientation applied; sizes and boxes are upright"),
    "negative_image": ("info", "a detection image without boxes (kept as a negative)"),
}


class DatasetImportError(_BaseImportError):
    """An import was refused. ``report`` is the full report as JSON-able dict (always
    current), ``import_report`` the ``ImportReport`` itself, and ``problems`` the
    messages of its error rows (``"file: message"``)."""

    def __init__(self, message: str, report: ImportReport | None = None) -> None:
        self.import_report = report if report is not None else ImportReport()
        self.import_report.status = "refused"
        errors = [f"{p['file']}: {p['message']}" for p in self.import_report.errors()]
        super().__init__(message, errors)

    @property
    def report(self) -> dict[str, Any]:
        return self.import_report.to_dict()


def refuse(code: str, file: str, message: str, report: ImportReport | None = None) -> Exception:
    """A ``DatasetImportError`` for a source-level problem (raise what it returns)."""
    report = report if report is not None else ImportReport()
    report.add(code, "error", file, message, "import refused")
    text = message if not file or file in message else f"{file}: {message}"
    return DatasetImportError(text, report)


def _stats(values: list[int]) -> dict[str, float]:
    if not values:
        return {"min": 0, "median": 0, "max": 0}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


@dataclass
class ImportReport:
    """Findings and numbers of one import (see the module docstring)."""

    source: str = ""
    format: str = ""
    scenario: str = ""
    policy: str = "strict"
    status: Literal["pending", "imported", "refused"] = "pending"
    problems: list[dict[str, str]] = field(default_factory=list)
    code_counts: Counter[str] = field(default_factory=Counter)
    severity_counts: Counter[str] = field(default_factory=Counter)
    num_found: int = 0
    num_images: int = 0
    num_skipped: int = 0
    num_boxes: int = 0
    num_negatives: int = 0
    classes: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    image_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    widths: list[int] = field(default_factory=list, repr=False)
    heights: list[int] = field(default_factory=list, repr=False)
    formats: Counter[str] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    converted_examples: dict[str, list[str]] = field(default_factory=dict)
    exif_rotated: int = 0
    extra_copies: int = 0
    elapsed_s: float = 0.0  # set when the import ends; until then counted from ``started``
    started: float = field(default_factory=time.perf_counter, repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ building

    def add(self, code: str, severity: Severity, file: str, message: str, action: str) -> None:
        """Count a finding and list it (info rows beyond ``MAX_INFO_LISTED`` per code and
        any row beyond ``MAX_LISTED`` are only counted)."""
        self.code_counts[code] += 1
        self.severity_counts[severity] += 1
        if severity == "info" and self.code_counts[code] > MAX_INFO_LISTED:
            return
        if len(self.problems) >= MAX_LISTED:
            return
        self.problems.append(
            {"code": code, "severity": severity, "file": file, "message": message, "action": action}
        )

    def merge(self, other: ImportReport) -> None:
        """Take over the rows and counts of ``other`` (a sub-step's one-row report)."""
        for p in other.problems:
            if len(self.problems) < MAX_LISTED:
                self.problems.append(dict(p))
        self.code_counts.update(other.code_counts)
        self.severity_counts.update(other.severity_counts)

    def add_problem(self, problem: Problem, action: str) -> None:
        self.add(problem.code, problem.severity, problem.file, problem.message, action)

    def errors(self) -> list[dict[str, str]]:
        return [p for p in self.problems if p["severity"] == "error"]

    @property
    def num_errors(self) -> int:
        return self.severity_counts["error"]

    def set_action(self, severity: Severity, action: str) -> None:
        """Rewrite the action of every listed row of ``severity`` (the policy decides it)."""
        for p in self.problems:
            if p["severity"] == severity:
                p["action"] = action

    def add_image(self, width: int, height: int, fmt: str, mode: str, shown: str) -> None:
        self.widths.append(width)
        self.heights.append(height)
        self.formats[fmt] += 1
        self.modes[mode] += 1
        if mode != "RGB":
            examples = self.converted_examples.setdefault(mode, [])
            if len(examples) < 5:
                examples.append(shown)

    # ------------------------------------------------------------------ reading

    def warnings(self) -> list[str]:
        """One line per warning code (the CLI prints these)."""
        lines: list[str] = []
        for code, n in sorted(self.code_counts.items()):
            rows = [p for p in self.problems if p["code"] == code]
            if not rows or rows[0]["severity"] != "warning":
                continue
            first = rows[0]
            more = f" (and {n - 1} more)" if n > 1 else ""
            lines.append(f"{code}: {first['file']}: {first['message']}{more}")
        return lines

    def message_lines(self, severity: Severity = "error", limit: int = MAX_IN_MESSAGE) -> str:
        """The first ``limit`` rows of ``severity`` as ``file: message [code]`` lines."""
        rows = [p for p in self.problems if p["severity"] == severity]
        lines = [f"{p['file']}: {p['message']} [{p['code']}]" for p in rows[:limit]]
        more = self.severity_counts[severity] - len(lines)
        if more > 0:
            lines.append(f"… and {more} more")
        return "\n  ".join(lines)

    def to_dict(self) -> dict[str, Any]:
        modes = dict(sorted(self.modes.items()))
        converted = {m: n for m, n in modes.items() if m != "RGB"}
        listed = len(self.problems)
        total = sum(self.code_counts.values())
        return {
            "report_version": REPORT_VERSION,
            "status": self.status,
            "source": self.source,
            "format": self.format,
            "scenario": self.scenario,
            "policy": self.policy,
            "num_found": self.num_found,
            "num_images": self.num_images,
            "num_skipped": self.num_skipped,
            "num_boxes": self.num_boxes,
            "num_negatives": self.num_negatives,
            "num_classes": len(self.classes),
            "classes": list(self.classes),
            "counts": self.counts,
            "image_counts": self.image_counts,
            "image_size": {"width": _stats(self.widths), "height": _stats(self.heights)},
            "formats": dict(sorted(self.formats.items())),
            "modes": modes,
            "modes_converted": converted,
            "converted_examples": {m: self.converted_examples[m] for m in converted},
            "exif_rotated": self.exif_rotated,
            "duplicates": {
                "extra_copies": self.extra_copies,
                "conflicting": self.code_counts["duplicate_conflict"],
                "val_in_train": self.code_counts["val_in_train"],
            },
            "severity_counts": {s: self.severity_counts[s] for s in ("error", "warning", "info")},
            "code_counts": dict(sorted(self.code_counts.items())),
            "problems": self.problems,
            "problems_not_listed": total - listed,
            "warnings": self.warnings(),
            "elapsed_s": round(self.elapsed_s or time.perf_counter() - self.started, 3),
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
        }

    def summary(self) -> str:
        """A few plain lines for people: status, numbers, then one line per code."""
        d = self.to_dict()
        sev = d["severity_counts"]
        lines = [
            f"{self.status}: {self.num_images} of {self.num_found} image(s) "
            f"({self.scenario or 'unknown scenario'}, format {self.format or '?'}, "
            f"policy {self.policy}); {sev['error']} error(s), {sev['warning']} warning(s), "
            f"{self.num_skipped} skipped"
        ]
        if self.scenario == "detection":
            lines.append(f"{self.num_boxes} box(es), {self.num_negatives} negative image(s)")
        if d["modes_converted"]:
            listed = ", ".join(f"{m}: {n}" for m, n in d["modes_converted"].items())
            lines.append(f"converted to RGB on read: {listed}")
        for code, n in d["code_counts"].items():
            first = next((p for p in self.problems if p["code"] == code), None)
            example = f" e.g. {first['file']}: {first['message']}" if first else ""
            lines.append(f"  {code} × {n}{example}")
        return "\n".join(lines)

    def rows(self) -> list[list[str]]:
        """Table rows ``[severity, code, file, message, action]`` (the CLI's rich table)."""
        return [
            [p["severity"], p["code"], p["file"], p["message"], p["action"]] for p in self.problems
        ]


__all__ = ["CODES", "DatasetImportError", "ImportReport", "Severity", "refuse"]
