# The two set-up commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The torch release this project is tested with, and the torchvision built for it (the
# two must match, or torchvision fails at import). These are the package index's builds:
# they carry CUDA and run on the CPU as well.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
# Every package of the runtime, dev and package extras, at one exact version each: run,
# test and package install through it (`-c`: a constraint, so each installs only what its
# extras need, at the locked version). Pyproject's lower bounds alone let every fresh
# install resolve to a different program. Updated on purpose with `make lock`.
LOCK := packaging/lock.txt

export HF_HUB_OFFLINE := 1

.PHONY: run test lint format bench gpu-check selftest package package-selftest lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(LOCK) $(TORCH_SPEC)
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(LOCK) $(VENV)/.runtime
	$(BIN)/pip install --quiet -c $(LOCK) -e ".[dev]"
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

# The one-shot GPU check (bench/gpu.py), at most about 8 minutes, nothing downloaded. On
# a machine without a CUDA GPU it says so in one line and exits 0.
gpu-check: $(VENV)/.dev
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench.gpu

selftest: $(VENV)/.runtime
	QT_QPA_PLATFORM=offscreen $(BIN)/python main.py --selftest

# The double-click app: dist/LatentStudio/ (slow, and not part of `make test`).
$(VENV)/.package: pyproject.toml $(LOCK) $(VENV)/.dev
	$(BIN)/pip install --quiet -c $(LOCK) -e ".[package]"
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

# A fresh resolve of pyproject's dependencies, every extra, in a throwaway venv, written to
# the lock as `pip freeze` prints it. Plain pip, not pip-tools or uv: the lock is then
# exactly what pip installed, and there is no resolver tool to install and pin as well.
# Resolved here (CPython 3.11, Linux x86_64). Run it on purpose, then `make test` and
# `make package package-selftest` on the new lock before committing it.
LOCK_VENV := build/lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet $(TORCH_SPEC) ".[dev,package]"
	{ echo "# Written by \`make lock\` from a fresh resolve (`$(LOCK_VENV)/bin/python -V`, `uname -sm`)."; \
	  echo "# Do not edit by hand: change pyproject.toml, then run \`make lock\`."; \
	  $(LOCK_VENV)/bin/pip freeze --exclude latent-studio; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
