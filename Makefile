# The two set-up commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The torch release this project is tested with, and the torchvision built for it (the
# two must match, or torchvision fails at import). These are the package index's builds:
# they carry CUDA and run on the CPU as well.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

export HF_HUB_OFFLINE := 1

.PHONY: run test lint format bench selftest package package-selftest clean

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

# The second pass runs the seed, batch and file reproducibility tests again on the kernels
# a CPU without AVX-512 gets (MKL and oneDNN pick kernels by CPU; on such a CPU, or off
# x86, the two variables change nothing), so the promises are checked on both here.
test: $(VENV)/.dev
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n 2
	MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 QT_QPA_PLATFORM=offscreen \
		$(BIN)/python -m pytest -n 2 -m reproducibility

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

# The double-click app: dist/LatentStudio/ (slow, and not part of `make test`).
$(VENV)/.package: pyproject.toml $(VENV)/.dev
	$(BIN)/pip install --quiet -e ".[package]"
	touch $@

package: $(VENV)/.package
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/latentstudio.spec

# The bundle's own self-test with the network unreachable (a new network namespace;
# where that is not allowed, sockets are refused by the bundle's offline hook instead).
package-selftest:
	if unshare -rn true 2>/dev/null; then offline="unshare -rn"; else offline=""; fi; \
	QT_QPA_PLATFORM=offscreen LATENTSTUDIO_NO_NETWORK=1 $$offline \
		dist/LatentStudio/LatentStudio --selftest

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
