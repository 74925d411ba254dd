"""The resource catalogue (one YAML file for the scheduler, billing and the faces) and
money in integer cents."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from autolearn.billing.catalog import CatalogError, get_catalog
from autolearn.billing.money import MoneyError, cost_cents, fmt, to_cents
from autolearn.scheduler.resources import SPECS, request_for

SITE = """
currency: EUR
freeze_hours: 3
specs:
  cpu-small: {cpus: 1, memory_gb: 2, price_per_hour: "0.05"}
  gpu-l4: {cpus: 4, memory_gb: 16, gpus: 1, gpu_model: L4, price_per_hour: "3.10"}
regions:
  cpu-pool: {specs: [cpu-small]}
unlisted_regions: []
"""


def test_money_is_cents_and_never_a_float() -> None:
    assert to_cents("12.34") == 1234 and to_cents(5) == 500 and to_cents(Decimal("0.1")) == 10
    assert fmt(1234) == "12.34" and fmt(-5) == "-0.05"
    for bad in (0.1, "1.005", "ten", "NaN"):
        with pytest.raises(MoneyError):
            to_cents(bad)  # type: ignore[arg-type]
    assert cost_cents(1200, 1, 61) == 21  # 20.33… rounded up
    assert cost_cents(1200, 2, 3600) == 2400 and cost_cents(1200, 1, 0) == 0


def test_the_default_catalogue_serves_the_scheduler(autolearn_home: Path) -> None:
    catalogue = get_catalog()
    assert {"cpu-2c8g", "gpu-t4", "gpu-v100", "gpu-a10"} <= set(SPECS)
    assert catalogue.spec("gpu-t4").price_cents == 1200 and catalogue.freeze_hours == 2
    assert catalogue.region("anything").offers("gpu-v100")  # unlisted regions: every spec


def test_a_site_file_replaces_it_for_every_reader(
    autolearn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autolearn.settings import get_settings

    site = autolearn_home / "resources.yaml"
    site.write_text(SITE)
    monkeypatch.setenv("AUTOLEARN_RESOURCES_FILE", str(site))
    get_settings.cache_clear()
    catalogue = get_catalog()
    assert sorted(SPECS) == ["cpu-small", "gpu-l4"] and catalogue.currency == "EUR"
    assert request_for("gpu-l4", 2).gpus == 2
    catalogue.check_placement("cpu-pool", "cpu-small")
    with pytest.raises(CatalogError, match="does not offer resource spec 'gpu-l4'"):
        catalogue.check_placement("cpu-pool", "gpu-l4")
    with pytest.raises(CatalogError, match="offers: none"):
        catalogue.check_placement("elsewhere", "cpu-small")
    site.write_text(SITE.replace('"3.10"', '"2.90"') + "\n")  # edited: read again
    assert get_catalog().spec("gpu-l4").price_cents == 290
    site.write_text("specs: {bad: {cpus: 1}}")
    with pytest.raises(CatalogError, match="spec 'bad'"):
        get_catalog()
