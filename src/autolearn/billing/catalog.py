"""The resource catalogue: specs (node shapes with a price per hour) and regions (named
worker pools with the specs each offers), read from one YAML file.

One source for the scheduler (what a worker asks its cluster for), billing (what a
task costs) and the faces (the spec list in the form). The package ships a default
(``resources.yaml`` here); ``AUTOLEARN_RESOURCES_FILE`` names a site's own file. The
file is re-read when it changes, so an operator edits prices without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from autolearn.billing.money import MoneyError, to_cents

DEFAULT_FILE = Path(__file__).with_name("resources.yaml")
EVERY_SPEC = "*"


class CatalogError(ValueError):
    """The resources file is malformed, or a task asks for what it does not offer."""


class UnknownResourceSpec(CatalogError):
    """The task names a spec that is not in the catalogue."""


@dataclass(frozen=True)
class ResourceSpec:
    """The shape of one node of a spec: vCPUs, memory, (for GPU specs) the GPU, and its
    price per hour in cents."""

    cpus: float
    memory_gb: float
    gpus: int = 0
    gpu_model: str | None = None  # Ray's accelerator_type name (T4, V100, A10)
    description: str = ""
    price_cents: int = 0  # per node and hour

    def to_dict(self, name: str) -> dict[str, Any]:
        from autolearn.billing.money import fmt

        return {
            "name": name,
            "cpus": self.cpus,
            "memory_gb": self.memory_gb,
            "gpus": self.gpus,
            "gpu_model": self.gpu_model,
            "description": self.description,
            "price_per_hour": fmt(self.price_cents),
            "price_cents_per_hour": self.price_cents,
        }


@dataclass(frozen=True)
class Region:
    """A named worker pool and the specs it can place."""

    name: str
    specs: tuple[str, ...]
    description: str = ""

    def offers(self, spec: str) -> bool:
        return EVERY_SPEC in self.specs or spec in self.specs


@dataclass(frozen=True)
class Catalog:
    specs: dict[str, ResourceSpec]
    regions: dict[str, Region]
    unlisted_specs: tuple[str, ...] = (EVERY_SPEC,)
    currency: str = "CNY"
    freeze_hours: int = 2
    source: str = field(default="", compare=False)

    def spec(self, name: str) -> ResourceSpec:
        """The catalogue row of ``name``; the error lists the names that exist."""
        try:
            return self.specs[name]
        except KeyError:
            known = ", ".join(sorted(self.specs))
            raise UnknownResourceSpec(
                f"unknown resource spec {name!r}; known specs: {known}"
            ) from None

    def region(self, name: str) -> Region:
        """A listed region, or an unlisted one with ``unlisted_regions``' specs."""
        return self.regions.get(name) or Region(name, self.unlisted_specs, "not in the catalogue")

    def check_placement(self, region: str, spec: str) -> None:
        """Refuse a spec the catalogue lacks or the region does not offer (the scheduler
        places a task only where its spec fits)."""
        self.spec(spec)
        pool = self.region(region)
        if not pool.offers(spec):
            offered = ", ".join(s for s in pool.specs if s in self.specs) or "none"
            raise CatalogError(
                f"region {region!r} does not offer resource spec {spec!r}; it offers: {offered}"
            )

    def region_specs(self, name: str) -> list[str]:
        pool = self.region(name)
        return [s for s in self.specs if pool.offers(s)]

    def to_dict(self) -> dict[str, Any]:
        """What the API's ``/billing/specs`` and the CLI's ``specs`` show."""
        return {
            "currency": self.currency,
            "freeze_hours": self.freeze_hours,
            "specs": [row.to_dict(name) for name, row in self.specs.items()],
            "regions": [
                {"name": r.name, "description": r.description, "specs": self.region_specs(r.name)}
                for r in self.regions.values()
            ],
            "unlisted_regions": [s for s in self.specs if EVERY_SPEC in self.unlisted_specs]
            or list(self.unlisted_specs),
            "source": self.source,
        }


def _spec(name: str, row: Any) -> ResourceSpec:
    if not isinstance(row, dict):
        raise CatalogError(f"spec {name!r}: expected a mapping of cpus, memory_gb, …")
    unknown = set(row) - {"cpus", "memory_gb", "gpus", "gpu_model", "description", "price_per_hour"}
    if unknown:
        raise CatalogError(f"spec {name!r}: unknown keys {sorted(unknown)}")
    try:
        price = to_cents(row.get("price_per_hour", "0"))
        spec = ResourceSpec(
            cpus=float(row["cpus"]),
            memory_gb=float(row["memory_gb"]),
            gpus=int(row.get("gpus", 0)),
            gpu_model=row.get("gpu_model"),
            description=str(row.get("description", "")),
            price_cents=price,
        )
    except (KeyError, TypeError, ValueError, MoneyError) as exc:
        raise CatalogError(f"spec {name!r}: {exc}") from None
    if spec.cpus <= 0 or spec.memory_gb <= 0 or spec.gpus < 0 or price < 0:
        raise CatalogError(f"spec {name!r}: cpus and memory_gb must be > 0, gpus and price ≥ 0")
    return spec


def parse(data: Any, source: str = "") -> Catalog:
    """A catalogue from the YAML's data; errors name the entry."""
    if not isinstance(data, dict) or not isinstance(data.get("specs"), dict):
        raise CatalogError(f"{source or 'resources file'}: needs a 'specs' mapping")
    specs = {str(name): _spec(str(name), row) for name, row in data["specs"].items()}
    regions: dict[str, Region] = {}
    for name, row in (data.get("regions") or {}).items():
        offered = tuple(str(s) for s in (row or {}).get("specs", [EVERY_SPEC]))
        missing = [s for s in offered if s != EVERY_SPEC and s not in specs]
        if missing:
            raise CatalogError(f"region {name!r} offers specs that are not defined: {missing}")
        regions[str(name)] = Region(str(name), offered, str((row or {}).get("description", "")))
    hours = int(data.get("freeze_hours", 2))
    if hours < 0:
        raise CatalogError("freeze_hours must be ≥ 0")
    unlisted = tuple(str(s) for s in data.get("unlisted_regions", [EVERY_SPEC]))
    return Catalog(specs, regions, unlisted, str(data.get("currency", "CNY")), hours, source)


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, size: int) -> Catalog:
    with open(path, encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle), path)


def catalog_path() -> Path:
    from autolearn.settings import get_settings

    return get_settings().resources_file or DEFAULT_FILE


def get_catalog() -> Catalog:
    """The catalogue of this process's settings (re-read when the file changes)."""
    path = catalog_path()
    try:
        stat = path.stat()
    except OSError as exc:
        raise CatalogError(f"cannot read the resources file {path}: {exc}") from None
    return _load(str(path), stat.st_mtime_ns, stat.st_size)
