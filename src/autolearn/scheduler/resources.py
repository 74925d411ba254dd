"""Resource specs (the form's ``resources.spec``) → what a worker asks its cluster for.

The specs themselves live in the resource catalogue (``billing/catalog.py``, a YAML
file: node shapes, prices, regions), the one source the scheduler, billing and the
faces read. Here they become requests: the local executor passes the CPU/GPU counts to
the worker's environment; the Ray executor turns them into actor options, so Ray places
the worker where the spec fits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from autolearn.billing.catalog import ResourceSpec, UnknownResourceSpec, get_catalog

GIB = 1024**3

__all__ = [
    "GIB",
    "SPECS",
    "ResourceRequest",
    "ResourceSpec",
    "UnknownResourceSpec",
    "lookup",
    "ray_options",
    "request_for",
]


class _CatalogSpecs(Mapping[str, ResourceSpec]):
    """``SPECS`` as a live view of the catalogue (a changed file shows at once)."""

    def __getitem__(self, name: str) -> ResourceSpec:
        return get_catalog().specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(get_catalog().specs)

    def __len__(self) -> int:
        return len(get_catalog().specs)


SPECS: Mapping[str, ResourceSpec] = _CatalogSpecs()


@dataclass(frozen=True)
class ResourceRequest:
    """What one task's worker needs: the spec's shape times ``count``."""

    spec: str
    count: int
    cpus: float
    memory_bytes: int
    gpus: int
    gpu_model: str | None


def lookup(name: str) -> ResourceSpec:
    """The catalogue row of ``name``; the error lists the names that exist."""
    return get_catalog().spec(name)


def request_for(spec: str, count: int = 1) -> ResourceRequest:
    """``count`` nodes of ``spec`` as one request.

    The worker is one process, so ``count`` scales the request on one node (two T4s
    for ``gpu-t4`` × 2) rather than spreading it: that reserves what the task is
    billed for, and distributed training can split it later.
    """
    if count < 1:
        raise ValueError(f"resource count must be at least 1, got {count}")
    row = lookup(spec)
    return ResourceRequest(
        spec=spec,
        count=count,
        cpus=row.cpus * count,
        memory_bytes=int(row.memory_gb * GIB * count),
        gpus=row.gpus * count,
        gpu_model=row.gpu_model,
    )


def ray_options(request: ResourceRequest, match_gpu_model: bool = True) -> dict[str, Any]:
    """Options for ``ray.remote(...).options(**here)``: CPUs, GPUs, memory, GPU model."""
    options: dict[str, Any] = {
        "num_cpus": request.cpus,
        "num_gpus": request.gpus,
        "memory": request.memory_bytes,
    }
    if request.gpus and request.gpu_model and match_gpu_model:
        options["accelerator_type"] = request.gpu_model
    return options


def local_env(request: ResourceRequest) -> dict[str, str]:
    """The request as a local worker's environment (``AUTOLEARN_TASK_CPUS`` / ``_GPUS``),
    for the training code to size itself by. Nothing is pinned: the local executor's
    bound is the queue worker's ``slots``, and capping threads would slow the tasks of a
    single-user install that never chose a spec."""
    return {
        "AUTOLEARN_TASK_CPUS": str(max(1, int(request.cpus))),
        "AUTOLEARN_TASK_GPUS": str(request.gpus),
    }
