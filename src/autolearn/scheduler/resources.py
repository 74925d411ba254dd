"""Resource specs (the form's ``resources.spec``) → what a worker asks its cluster for.

The catalogue is data only: one row per spec name with the node shape it stands for.
Billing prices the same names, so a new spec is one new row here (and a price there).
The local executor ignores it (a task runs on the queue worker's machine); the Ray
executor turns it into actor options, so Ray places the worker where the spec fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 1024**3


@dataclass(frozen=True)
class ResourceSpec:
    """The shape of one node of a spec: vCPUs, memory and (for GPU specs) the GPU."""

    cpus: float
    memory_gb: float
    gpus: int = 0
    gpu_model: str | None = None  # Ray's accelerator_type name (T4, V100, A10)
    description: str = ""


SPECS: dict[str, ResourceSpec] = {
    "cpu-2c8g": ResourceSpec(cpus=2, memory_gb=8, description="2 vCPU, 8 GiB"),
    "cpu-4c16g": ResourceSpec(cpus=4, memory_gb=16, description="4 vCPU, 16 GiB"),
    "cpu-8c32g": ResourceSpec(cpus=8, memory_gb=32, description="8 vCPU, 32 GiB"),
    "gpu-t4": ResourceSpec(
        cpus=8, memory_gb=32, gpus=1, gpu_model="T4", description="1 × T4 16 GB, 8 vCPU, 32 GiB"
    ),
    "gpu-v100": ResourceSpec(
        cpus=8, memory_gb=64, gpus=1, gpu_model="V100", description="1 × V100, 8 vCPU, 64 GiB"
    ),
    "gpu-a10": ResourceSpec(
        cpus=8, memory_gb=32, gpus=1, gpu_model="A10", description="1 × A10 24 GB, 8 vCPU, 32 GiB"
    ),
}


class UnknownResourceSpec(ValueError):
    """The task names a spec that is not in the catalogue."""


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
    try:
        return SPECS[name]
    except KeyError:
        known = ", ".join(sorted(SPECS))
        raise UnknownResourceSpec(f"unknown resource spec {name!r}; known specs: {known}") from None


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
