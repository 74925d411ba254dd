"""``autolearn predict``: a trained task's model on image files and folders.

torch loads inside the command (through ``autolearn.serving``), so ``autolearn --help``
stays instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from autolearn.cli.output import console, err_console, print_json, run, table

if TYPE_CHECKING:
    from autolearn.serving.predictor import Predictor, Result


def expand_inputs(inputs: list[Path]) -> list[Path]:
    """Files as given, folders as the image files anywhere inside them (sorted). Checked
    before the model loads, so a mistyped path fails at once and nothing is written."""
    from autolearn.datasets.formats.base import IMAGE_EXTENSIONS, walk_images

    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no such file or folder: {', '.join(missing)}")
    paths: list[Path] = []
    for path in inputs:
        if not path.is_dir():
            paths.append(path)
            continue
        found = walk_images(path)
        if not found:
            kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise FileNotFoundError(f"folder {path} holds no images ({kinds})")
        paths.extend(found)
    return paths


def write_json(path: Path, data: Any) -> None:
    """Temp file then rename (the local store's write): a reader never sees half a file."""
    from autolearn.storage.local import LocalStore

    folder = path.expanduser().resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2) + "\n"
    LocalStore(folder.as_uri()).put_bytes(path.name, text.encode())


def _check_outputs(out: Path | None, draw: Path | None) -> None:
    if out is not None and out.is_dir():
        raise typer.BadParameter(f"{out} is a folder; give a file name", param_hint="--out")
    if draw is not None and draw.exists() and not draw.is_dir():
        raise typer.BadParameter(f"{draw} is a file; give a folder", param_hint="--draw")


def _run_predictions(
    predictor: Predictor,
    paths: list[Path],
    draw: Path | None,
    threshold: float | None,
    top_k: int,
) -> list[Result]:
    """Predict batch by batch, drawing each image as its result arrives (so that images
    are not all held in memory)."""
    from autolearn.serving.draw import DrawingFolder

    folder = DrawingFolder(draw) if draw is not None else None
    results: list[Result] = []
    for path, image, result in predictor.iter_paths(paths, threshold=threshold, top_k=top_k):
        if folder is not None and image is not None:
            folder.save(path, image, result)
        results.append(result)
    return results


def _box(item: dict[str, Any]) -> str:
    return ", ".join(f"{v:.1f}" for v in item["box"])


def _rows(result: Result, detection: bool) -> list[list[Any]]:
    """Table rows of one image: one per detection or top-k class, the name on the first."""
    name = escape(str(result["image"]))
    if "error" in result:
        return [[name, "[red]error[/]", "", escape(result["error"])]]
    items = result["detections"] if detection else result["predictions"]
    if not items:
        return [[name, "[dim]nothing found[/]", "", ""]]
    return [
        [
            name if i == 0 else "",
            escape(item["label"]),
            f"{item['score']:.4f}",
            _box(item) if detection else str(i + 1),
        ]
        for i, item in enumerate(items)
    ]


def _print_results(results: list[Result], predictor: Predictor) -> None:
    detection = predictor.is_detection
    last = "box (x1, y1, x2, y2)" if detection else "rank"
    rows = [row for r in results for row in _rows(r, detection)]
    title = f"predictions of {predictor.scenario} model {predictor.meta['model']}"
    console.print(table(title, ["image", "label", "score", last], rows))


def _summary(results: list[Result], detection: bool) -> str:
    good = [r for r in results if "error" not in r]
    text = f"{len(results)} image(s)"
    if detection:
        text += f", {sum(len(r['detections']) for r in good)} detection(s)"
    failed = len(results) - len(good)
    return text + (f", [red]{failed} unreadable[/]" if failed else "")


def predict(
    task_id: int = typer.Argument(..., help="ID of a task with a trained model."),
    images: list[Path] = typer.Argument(
        ..., help="Image files and/or folders (searched recursively)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Also write the results (JSON) here."),
    draw: Path | None = typer.Option(
        None, "--draw", help="Write a picture of each image's predictions into this folder."
    ),
    threshold: float | None = typer.Option(
        None,
        min=0.0,
        max=1.0,
        help="Detection: keep boxes scoring at least this, whatever the class "
        "(default: each class's threshold tuned on validation).",
    ),
    top_k: int = typer.Option(5, "--top-k", min=1, help="Classification: classes per image."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Boxes (detection) or classes (classification) for each image. Exits 1 when an image
    could not be read (its result says why), after writing the others."""
    _check_outputs(out, draw)
    paths = run(lambda: expand_inputs(images))

    from autolearn.serving.predictor import Predictor

    predictor = run(lambda: Predictor.from_task(task_id))
    results = _run_predictions(predictor, paths, draw, threshold, top_k)
    if out is not None:
        write_json(out, results)
    if json_out:
        print_json(results)
    else:
        _print_results(results, predictor)
        console.print(_summary(results, predictor.is_detection), highlight=False)
        for target, what in ((out, "results"), (draw, "pictures")):
            if target is not None:
                console.print(f"{what}: {escape(str(target))}", highlight=False)
    failed = [r for r in results if "error" in r]
    if failed:
        err_console.print(f"[bold red]error:[/] {len(failed)} image(s) could not be read")
        raise typer.Exit(1)
