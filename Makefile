# Everything a fresh machine needs, from python3 and make alone.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(abspath $(PY))
export UV_NO_PROGRESS := 1

.PHONY: run test fuzz system-packages lint typecheck contracts pytest bench-cli bench-dataplane bench-inbound bench-outbound bench-lookup bench-scale clean lock dashboard-picture

$(UV):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --inexact keeps uv itself (not in the lock) inside the venv.
$(VENV)/.main: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --inexact --no-dev
	touch $@

$(VENV)/.dev: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --inexact --extra dev
	touch $@ $(VENV)/.main

run: $(VENV)/.main
	$(VENV)/bin/privlink serve

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy src

contracts: $(VENV)/.dev
	$(VENV)/bin/lint-imports

pytest: $(VENV)/.dev system-packages
	$(VENV)/bin/pytest --durations=15

# The Debian packages the suite runs for real; installed when missing (as root).
system-packages:
	@bash scripts/system-packages.sh

test: system-packages lint typecheck contracts pytest

# The API fuzzed for longer than `make test` does (same test, more examples per operation).
fuzz: $(VENV)/.dev
	PRIVLINK_FUZZ_EXAMPLES=$${PRIVLINK_FUZZ_EXAMPLES:-230} $(VENV)/bin/pytest -q tests/fuzz \
	  -p no:cacheprovider -o timeout=3600

bench-cli: $(VENV)/.main
	$(PY) benchmarks/cli_startup.py

bench-inbound: $(VENV)/.main
	$(PY) benchmarks/inbound.py

bench-outbound: $(VENV)/.main
	$(PY) benchmarks/outbound.py

bench-scale: $(VENV)/.main system-packages
	$(PY) benchmarks/scale.py

bench-lookup: $(VENV)/.main
	$(PY) benchmarks/local_lookup.py

lock: $(UV)
	$(UV) lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

dashboard-picture: $(VENV)/.dev system-packages
	@command -v prometheus >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus)
	$(PY) scripts/dashboard_picture.py

bench-dataplane: $(VENV)/.main system-packages
	$(PY) benchmarks/dataplane.py
