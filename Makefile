# Two commands for a fresh machine: `make demo` and `make test`.
# The install is idempotent: it reruns only when pyproject.toml changes.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARCH := $(shell uname -m)
# torch + torchvision builds that install from this environment's package sources
# (x86_64: a CUDA build that also runs on the CPU; aarch64: a CPU build).
ifeq ($(ARCH),aarch64)
TORCH_SPEC ?= torch==2.9.1 torchvision==0.24.1
else
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
endif
PYTEST_ARGS ?=

.PHONY: install demo test test-fast lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/autolearn dataset import --sample digits
	$(VENV)/bin/autolearn task create --sample digits --name digits-demo --max-duration 5m --wait

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

test: install lint
	bash scripts/test-services.sh
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

format: install
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

bench: install
	$(PY) bench/classification.py --out bench/results/classification.json
	$(PY) bench/detection.py --runs raccoon,mealtray,sweep --out bench/results/detection.json
	$(PY) bench/api.py --out bench/results/api.json
	$(PY) bench/api.py --workers 2 --out bench/results/api_2workers.json
	$(PY) bench/serve.py --out bench/results/serve.json
	$(PY) bench/optimize.py --out bench/results/optimize.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
