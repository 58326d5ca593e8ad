# The two set-up commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The torch release this project is tested with, and the torchvision built for it (the
# two must match, or torchvision fails at import). These are the package index's builds:
# they carry CUDA and run on the CPU as well.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

export HF_HUB_OFFLINE := 1

.PHONY: run test lint format bench selftest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: $(VENV)/.runtime
	@$(BIN)/python -m gui.system_check
	$(BIN)/python main.py

test: $(VENV)/.dev
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n 2

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.dev
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench

selftest: $(VENV)/.runtime
	QT_QPA_PLATFORM=offscreen $(BIN)/python main.py --selftest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
