"""Resource specs → what a worker asks the cluster for; the Ray executor's plain parts
(names, the settings it passes on) without a cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autolearn.scheduler.executors.ray import actor_name, parse_actor_name, worker_env
from autolearn.scheduler.resources import (
    GIB,
    SPECS,
    UnknownResourceSpec,
    ray_options,
    request_for,
)


def test_cpu_spec_maps_to_cpus_and_memory() -> None:
    request = request_for("cpu-2c8g")
    assert ray_options(request) == {"num_cpus": 2, "num_gpus": 0, "memory": 8 * GIB}


def test_gpu_spec_asks_for_its_gpu_model_unless_told_not_to() -> None:
    request = request_for("gpu-t4")
    options = ray_options(request)
    assert options["num_gpus"] == 1 and options["num_cpus"] >= 1
    assert options["accelerator_type"] == "T4"
    assert "accelerator_type" not in ray_options(request, match_gpu_model=False)


def test_count_scales_the_request() -> None:
    one, three = request_for("gpu-a10"), request_for("gpu-a10", 3)
    assert (three.gpus, three.cpus, three.memory_bytes) == (
        3 * one.gpus,
        3 * one.cpus,
        3 * one.memory_bytes,
    )
    with pytest.raises(ValueError, match="at least 1"):
        request_for("gpu-a10", 0)


def test_an_unknown_spec_names_the_known_ones() -> None:
    with pytest.raises(UnknownResourceSpec) as err:
        request_for("gpu-h900")
    message = str(err.value)
    assert "gpu-h900" in message and all(name in message for name in SPECS)


def test_every_spec_the_form_suggests_is_in_the_catalogue() -> None:
    from autolearn.tasks.spec import ResourceConfig

    assert ResourceConfig().spec in SPECS
    assert {"gpu-t4", "gpu-v100", "gpu-a10"} <= set(SPECS)


def test_actor_names_round_trip_and_foreign_names_are_ignored() -> None:
    name = actor_name(42, 7)
    assert name.startswith("task-42-s7-")
    assert parse_actor_name(name) == (42, 7)
    assert parse_actor_name(actor_name(5, None)) == (5, 0)
    for foreign in ("task-x-s1-ab", "other-1-s2-cd", "task-1-2-ef", "task-1"):
        assert parse_actor_name(foreign) is None


def test_worker_env_passes_settings_and_home_only_when_set(
    autolearn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autolearn.settings import Settings

    monkeypatch.setenv("AUTOLEARN_S3_SECRET_ACCESS_KEY", "s3cr3t")
    env = worker_env(Settings())
    assert env["AUTOLEARN_DATABASE_URL"].startswith("sqlite:///")
    assert env["AUTOLEARN_S3_SECRET_ACCESS_KEY"] == "s3cr3t"
    assert env["AUTOLEARN_HOME"] == str(autolearn_home.resolve())
    assert "**" not in env.get("AUTOLEARN_SECRET_KEY", "")  # secrets unwrapped, not masked
    parsed = Settings.model_validate({k[len("AUTOLEARN_") :].lower(): v for k, v in env.items()})
    assert parsed.database_url == env["AUTOLEARN_DATABASE_URL"]  # it reads back as sent
    monkeypatch.delenv("AUTOLEARN_HOME")
    assert "AUTOLEARN_HOME" not in worker_env(Settings())


def test_the_scheduler_does_not_import_ray() -> None:
    """Heavy imports stay out of the CLI and API paths (DESIGN.md §2)."""
    code = (
        "import sys, autolearn.scheduler.supervisor, autolearn.scheduler.executors.ray; "
        "assert 'ray' not in sys.modules, 'ray was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
