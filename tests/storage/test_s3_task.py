"""A whole import + training task with the platform store and the output path on S3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autolearn.settings import get_settings
from s3_server import S3Server

pytestmark = [pytest.mark.s3, pytest.mark.slow]


def test_import_and_train_with_everything_on_s3(
    autolearn_home: Path,
    s3_settings: S3Server,
    s3_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    from autolearn.datasets.service import import_dataset
    from autolearn.scheduler.worker import run_task
    from autolearn.storage import default_store, open_store
    from autolearn.tasks.service import create_task, get_task, parse_spec
    from autolearn.tasks.states import Status
    from autolearn.training.runner import load_model_file

    monkeypatch.setenv("AUTOLEARN_STORAGE_URL", f"{s3_uri}/platform")
    monkeypatch.setenv("AUTOLEARN_PROGRESS_INTERVAL_S", "0")
    monkeypatch.setenv("AUTOLEARN_NUM_WORKERS", "2")  # forked loaders read from S3 too
    get_settings.cache_clear()
    assert default_store().uri() == f"{s3_uri}/platform"

    folder = make_learnable_folder(autolearn_home / "colours", {"red": 20, "blue": 20})
    version = import_dataset(folder, name="colours")
    platform = open_store(f"{s3_uri}/platform")
    stored = platform.list()
    assert any(k.startswith("blobs/") for k in stored), stored
    assert any(k.endswith("manifest.json") for k in stored), stored
    assert version is not None

    output = f"{s3_uri}/runs/t1"
    spec = tiny_spec(hyperparams={"epochs": 2})
    spec["output"] = {"path": output}
    task_id = create_task(parse_spec(spec))["id"]
    status = run_task(task_id)

    task = get_task(task_id)
    assert status == Status.SUCCEED, task
    assert task["output_uri"] == output
    bucket, prefix = output[len("s3://") :].split("/", 1)
    listing = s3_settings.client().list_objects_v2(Bucket=bucket, Prefix=prefix + "/")
    keys = {obj["Key"][len(prefix) + 1 :] for obj in listing.get("Contents", [])}
    assert {"model/model.pt", "evaluation/report.json", "checkpoints/last.pt"} <= keys, keys
    assert open_store(output).exists("model/model.pt")

    model_uri = task["model_uri"]
    assert model_uri == f"{output}/model/model.pt"
    loaded = load_model_file(model_uri)
    assert "state_dict" in loaded
    assert not list(autolearn_home.glob("store/**/model.pt"))  # nothing fell back to disk
