"""``autolearn predict``: a trained task's model, or a published model version of any
format (``--model name:vN``), on image files and folders, batch by batch with a progress
bar; ``--out`` writes every result as JSON.

torch loads inside the command (through ``autolearn.serving``), so ``autolearn --help``
stays instant. A published version loads through ``serving.runtime.load_runtime`` and is
used only through the ``Runtime`` protocol, so a PyTorch and an ONNX model predict alike.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from autolearn.cli.output import console, err_console, print_json, run, table

if TYPE_CHECKING:
    from autolearn.serving.predictor import Result
    from autolearn.serving.runtime import Runtime


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
    runtime: Runtime,
    paths: list[Path],
    draw: Path | None,
    threshold: float | None,
    top_k: int,
    progress: bool = False,
) -> list[Result]:
    """Predict batch by batch, drawing each image as its result arrives (so that images
    are not all held in memory); a progress bar on stderr for people."""
    from rich.progress import Progress

    from autolearn.serving.draw import DrawingFolder

    folder = DrawingFolder(draw) if draw is not None else None
    results: list[Result] = []
    with Progress(console=err_console, transient=True, disable=not progress) as bar:
        job = bar.add_task("predicting", total=len(paths))
        for path, image, result in runtime.iter_paths(paths, threshold=threshold, top_k=top_k):
            if folder is not None and image is not None:
                folder.save(path, image, result)
            results.append(result)
            bar.advance(job)
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


def _print_results(results: list[Result], runtime: Runtime) -> None:
    detection = runtime.is_detection
    last = "box (x1, y1, x2, y2)" if detection else "rank"
    rows = [row for r in results for row in _rows(r, detection)]
    title = f"predictions of {runtime.meta.get('scenario')} model {runtime.meta.get('model')}"
    console.print(table(title, ["image", "label", "score", last], rows))


def _summary(results: list[Result], detection: bool) -> str:
    good = [r for r in results if "error" not in r]
    text = f"{len(results)} image(s)"
    if detection:
        text += f", {sum(len(r['detections']) for r in good)} detection(s)"
    failed = len(results) - len(good)
    return text + (f", [red]{failed} unreadable[/]" if failed else "")


def _split_inputs(inputs: list[str], model: str | None) -> tuple[int | None, list[Path]]:
    """``TASK_ID IMAGES...``, or only ``IMAGES...`` with ``--model``."""
    if model is not None:
        return None, [Path(i) for i in inputs]
    first, rest = inputs[0], inputs[1:]
    if not (first.isascii() and first.isdigit()):
        raise typer.BadParameter(
            f"{first!r} is not a task id; give TASK_ID IMAGES... or --model NAME:vN IMAGES...",
            param_hint="TASK_ID",
        )
    if not rest:
        raise typer.BadParameter("give at least one image file or folder", param_hint="IMAGES")
    return int(first), [Path(i) for i in rest]


def _load(task_id: int | None, model: str | None) -> Runtime:
    """The task's ``model.pt``, or the published version (downloaded first from a
    server), as a ``Runtime``."""
    from autolearn.serving.runtime import load_runtime

    if task_id is not None:
        from autolearn.serving.predictor import Predictor

        return Predictor.from_task(task_id)
    from autolearn.cli.model_backend import current_models

    backend = current_models()
    if not backend.remote:
        from autolearn.models.published import ready_version

        return load_runtime(ready_version(str(model))["artifact_uri"])
    folder = Path(tempfile.mkdtemp(prefix="autolearn-model-"))
    return load_runtime(str(backend.download(str(model), folder)))


def predict(
    inputs: list[str] = typer.Argument(
        ...,
        metavar="[TASK_ID] IMAGES...",
        help="A task id, then image files and/or folders (searched recursively); "
        "with --model only the images.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="A published model version (name:vN, name for the latest, or id), any format, "
        "instead of a task's model.",
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
    could not be read (its result says why), after predicting and writing the others."""
    task_id, images = _split_inputs(inputs, model)
    _check_outputs(out, draw)
    paths = run(lambda: expand_inputs(images))
    runtime = run(lambda: _load(task_id, model))
    results = _run_predictions(runtime, paths, draw, threshold, top_k, progress=not json_out)
    if out is not None:
        write_json(out, results)
    if json_out:
        print_json(results)
    else:
        _print_results(results, runtime)
        console.print(_summary(results, runtime.is_detection), highlight=False)
        for target, what in ((out, "results"), (draw, "pictures")):
            if target is not None:
                console.print(f"{what}: {escape(str(target))}", highlight=False)
    failed = [r for r in results if "error" in r]
    if failed:
        err_console.print(f"[bold red]error:[/] {len(failed)} image(s) could not be read")
        raise typer.Exit(1)
