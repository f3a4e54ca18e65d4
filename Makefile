# Two entry points: `make run` (the service) and `make test` (what CI runs).
PY ?= python3
VENV := .venv
SDK1 := .venv-sdk1
NODE_SDK := tests/sdk_node
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist processes for make test (0: the tests run in pytest's own process). Two, one per
# core: the suite waits far more than it computes. tests/conftest.py keeps each module on one
# process (its module-scoped stacks start once) and the Docker-engine folders on one.
TEST_WORKERS ?= 2
# Every process of ours starts by importing the package: with PYTHONDONTWRITEBYTECODE set (as on
# CI's machines) nothing is cached and each start compiles ~220 modules again (about 0.8 s of CPU
# per API process). Compiling once up front is cheap; stale files are recompiled.
COMPILE := $(VENV)/bin/python -m compileall -q -j 0 orchestrator workers sandbox tests bench >/dev/null

.PHONY: install run test lint bench

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

# openai==1.20.0 is the last client that speaks assistants=v1; it needs httpx<0.28.
$(SDK1)/.installed:
	$(PY) -m venv $(SDK1)
	$(SDK1)/bin/pip install -q "openai==1.20.0" "httpx<0.28"
	touch $@

# The official node SDK (npm `openai`, pinned by the lockfile) for tests/sandbox's node stream test.
$(NODE_SDK)/node_modules/.installed: $(NODE_SDK)/package.json $(NODE_SDK)/package-lock.json
	cd $(NODE_SDK) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed $(SDK1)/.installed $(NODE_SDK)/node_modules/.installed

run: $(VENV)/.installed
	$(COMPILE)
	$(VENV)/bin/orchestrator dev --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports  # the layering contracts in pyproject.toml [tool.importlinter]

test: install lint
	$(COMPILE)
	ORCH_EDGE_CHECK=1 $(VENV)/bin/pytest -q -rs -n $(TEST_WORKERS) --dist loadgroup

bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench.bench_intake
