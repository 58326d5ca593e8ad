"""A toy model family written from inside a test: the proof that a family is one package.

`toy_family(root)` writes engine/models/toy/ (spec.py, and runners.py with a tiny torch
model that samples) under `root`, adds `root` to engine.models.__path__ for the block,
and takes it all away after: the path, the modules, the runner registrations.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

SPEC = '''
from dataclasses import dataclass, field

from engine.api.families import FamilySpec
from engine.api.kinds import Task
from engine.api.sample_options import SampleOptions


@dataclass(frozen=True, kw_only=True)
class DotsSampleOptions(SampleOptions):
    """How a toy draws."""

    spread: float = field(default=1.0, metadata={"help": "how far the toy's dots scatter"})


SPEC = FamilySpec(
    id="toy",
    title="Toy",
    about="A <b>toy</b>: four random numbers through one linear layer.",
    year=2030,
    tasks=(Task.SAMPLE,),
    lab=True,
    sample_options=DotsSampleOptions,
)
'''

RUNNERS = '''
import torch
from safetensors.torch import load_file

from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ResultImage
from engine.registry import runner


@runner(task=Task.SAMPLE, family=Family("toy"))
class ToySampleRunner:
    """Sample i is the layer applied to the noise of seed + i."""

    def __init__(self, env):
        self.env = env

    def run(self, request, ctx):
        ctx.check_cancelled()
        net = torch.nn.Linear(4, 8 * 8 * 3)
        net.load_state_dict(load_file(request.model.id))
        images = []
        for i in range(request.count):
            ctx.check_cancelled()
            seed = request.seed + i
            z = torch.randn(1, 4, generator=torch.Generator().manual_seed(seed))
            with torch.no_grad():
                rgb = torch.sigmoid(net(z)).reshape(8, 8, 3) * 255
            images.append(ResultImage(rgb.round().to(torch.uint8).numpy(), seed=seed, index=i))
            ctx.report(i + 1, request.count)
        ctx.check_cancelled()
        return ImagesOutcome(tuple(images))

    def unload(self):
        pass
'''


@contextlib.contextmanager
def toy_family(root: Path, runners: bool = True) -> Iterator[Path]:
    """engine/models/toy under `root`, importable for the block (`runners=False`: a
    half-added family, a spec and nothing else)."""
    import engine.models
    from engine import registry
    from engine.api import families

    package = root / "toy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A toy family."""\n')
    (package / "spec.py").write_text(SPEC)
    if runners:
        (package / "runners.py").write_text(RUNNERS)
    engine.models.__path__.append(str(root))
    importlib.invalidate_caches()
    families.refresh()
    try:
        yield package
    finally:
        engine.models.__path__.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("engine.models.toy")]:
            del sys.modules[name]
        # Only the toy's: runners other families registered meanwhile stay (their
        # modules stay imported, so they would never register again).
        for key in [key for key in registry._RUNNERS if key[1] == "toy"]:
            del registry._RUNNERS[key]
        families.refresh()


def write_toy_model(folder: Path, name: str = "toy-dots") -> Path:
    """A toy model file and its record, as the catalogue finds trained models."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    net = torch.nn.Linear(4, 8 * 8 * 3)
    torch.nn.init.normal_(net.weight, generator=torch.Generator().manual_seed(1))
    weights = folder / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(weights))
    record = {"family": "toy", "meta": {"dataset": "dots", "steps": 3}}
    weights.with_suffix(".json").write_text(json.dumps(record))
    return weights
