# The README's two commands: `make run` (the whole local job) and `make test` (the whole suite).
# Both create .venv and install exactly the versions in the lock files, once: a re-run reinstalls nothing.
# Bytecode is compiled at install time: with PYTHONDONTWRITEBYTECODE set, every step would otherwise
# recompile ~5,000 modules (30 s a step on 2 cores).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run shell test test-slow test-tools lint lock bench clean

run: $(VENV)/.runtime
	$(BIN)/edge-train run
	@echo ""
	@echo "edge-train, dvc, mlflow and gto are in $(BIN)/: run '. $(BIN)/activate' (or 'make shell') to use them"

# A shell with the project's tools on PATH (exit to leave): what `. .venv/bin/activate` does, in one word.
shell: $(VENV)/.runtime
	@echo "tools from $(BIN)/ are on PATH (edge-train, dvc, mlflow, gto); type 'exit' to leave"
	@. $(BIN)/activate && exec $${SHELL:-/bin/bash} -i

test: $(VENV)/.dev test-tools
	$(BIN)/pytest

# The slow suites (fault injection, large transfers, image builds): CI runs them after `make test`.
test-slow: $(VENV)/.dev test-tools
	$(BIN)/pytest -m slow

test-tools:
	@bash tests/tools/install.sh

lint: $(VENV)/.dev
	$(BIN)/pre-commit run --all-files

bench: $(VENV)/.dev
	$(BIN)/edge-train run --no-release  # bench_serving scores the trained model
	$(BIN)/python -m benchmarks

# Re-resolve the lock files after changing dependencies in pyproject.toml; the last line also regenerates the
# Azure ML job's environment (requirements-job.lock, components/environment/conda.yml, the base image).
lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 -q -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 -q --extra dev -o requirements-dev.lock
	$(BIN)/python -m ml.azure.environment --lock

$(BIN)/uv:
	@echo "creating $(VENV)/ with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv

$(VENV)/.runtime: requirements.lock pyproject.toml setup.py | $(BIN)/uv
	@echo "installing the locked packages into $(VENV)/ (the first time takes a minute or two)"
	$(BIN)/uv pip install --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@

$(VENV)/.dev: requirements-dev.lock pyproject.toml setup.py | $(BIN)/uv
	@echo "installing the locked packages, with the test tools, into $(VENV)/ (the first time: a few minutes)"
	$(BIN)/uv pip install --compile-bytecode --python $(BIN)/python -r requirements-dev.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@ $(VENV)/.runtime

clean:
	rm -rf $(VENV) .tools artifacts reports .edge-train mlflow.db mlruns mlartifacts
