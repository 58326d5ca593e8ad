"""The GUI never pays for torch: importing it in a fresh interpreter leaves torch unloaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "torchvision", "diffusers", "transformers", "safetensors", "spandrel")
# What the GUI may not import from the engine: everything but its vocabulary (engine.api),
# the client, and the torch-free store and hashing.
ENGINE_INTERNALS = (
    "engine.worker",
    "engine.runtime",
    "engine.models",
    "engine.device",
    "engine.registry",
    "engine.cache",
    "engine.train",
    "engine.queue",
)


def modules_after_import(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_main_window_does_not_import_torch():
    loaded = modules_after_import("import gui.main_window, gui.app, engine.local_engine")
    assert "gui.main_window" in loaded
    assert not [m for m in HEAVY if m in loaded]


def test_importing_main_does_not_import_torch():
    loaded = modules_after_import("import main")
    assert not [m for m in HEAVY if m in loaded]


def test_gui_sources_never_import_the_model_stack():
    offenders = []
    for path in (ROOT / "gui").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            words = line.strip().split()
            if len(words) >= 2 and words[0] in ("import", "from"):
                top = words[1].split(".")[0]
                if top in HEAVY or words[1].startswith(ENGINE_INTERNALS):
                    offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def test_a_latent_lab_job_does_not_load_the_upscalers_stack():
    """spandrel and torchvision load with the first upscale job, not before."""
    loaded = modules_after_import(
        "from engine.runtime import Runtime\n"
        "from engine.context import JobContext\n"
        "from engine.api.requests import SampleRequest\n"
        "from engine.api.parts import ModelRef\n"
        "from engine.api.kinds import Family\n"
        "r = Runtime(device_preference='cpu')\n"
        "r.run(SampleRequest(model=ModelRef(Family.VAE, 'vae-digits'), count=2, save=False),"
        " JobContext(0))\n"
        "r.close()"
    )
    assert "engine.models.vae.runners" in loaded
    assert not [m for m in ("spandrel", "torchvision") if m in loaded]
