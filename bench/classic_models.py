"""The Latent Lab's classic models on the CPU: sampling latency, training throughput, quality.

- `sample64_<model>`: 64 samples of a bundled model through the runtime, warm, median
  (DDPM: 50 DDIM steps), as 64 images each with its recipe text; `sample64_sheet_<model>`:
  the same as the Lab makes it, one sheet with one recipe;
- `train_ratio_<family>`: the app's training job (events, throttled metrics, sample
  previews; periodic checkpoints off) against a bare PyTorch loop of the same network,
  loss, optimizer and batch size, run interleaved; images/s of each and their ratio (1.0: no cost);
- `train_ratio_window`: the same VAE training started from the Train tab of the real
  window (live plot and canvas previews) against the engine alone;
- `quality_<model>_<figure>`: the quality meter on 500 samples of each bundled model.

`python -m bench.classic_models [sample] [train] [window] [quality]` runs only those parts.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RUNS = 3
TRAIN_STEPS = {"vae": 1500, "gan": 1500, "ddpm": 300}


PARTS = ("sample", "train", "window", "quality")


def main(parts: list[str]) -> None:
    from engine.api.catalogue import lab_models

    work = Path(tempfile.mkdtemp())
    os.environ["LATENTSTUDIO_DATA_DIR"] = str(work / "data")
    runtime = _runtime(work)
    models = [entry.ref for entry in lab_models()]
    if "sample" in parts:
        for ref in models:
            latency = _sample_latency(runtime, ref) * 1000
            print(f"sample64_{ref.id}: {latency:.0f} ms", flush=True)
            sheet = _sample_latency(runtime, ref, grid=True) * 1000
            print(f"sample64_sheet_{ref.id}: {sheet:.0f} ms", flush=True)
    if "train" in parts:
        for family in ("vae", "gan", "ddpm"):
            app, bare = _train_rates(runtime, family, work)
            print(f"train_app_{family}: {app:.0f} images/s")
            print(f"train_bare_{family}: {bare:.0f} images/s")
            print(f"train_ratio_{family}: {bare / app:.3f} x", flush=True)
    if "window" in parts:
        engine_rate, window_rate = _window_rates(work)
        print(f"train_engine_vae: {engine_rate:.0f} images/s")
        print(f"train_window_vae: {window_rate:.0f} images/s")
        print(f"train_ratio_window: {engine_rate / window_rate:.3f} x", flush=True)
    if "quality" in parts:
        for ref in models:
            for name, value in _quality(runtime, ref).items():
                print(f"quality_{ref.id}_{name}: {value:.4g}", flush=True)
    runtime.close()


def _runtime(work: Path):
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    return Runtime(device_preference="cpu", hashes=HashService(HashCache(work / "hashes.db")))


def _sample_latency(runtime, ref, grid: bool = False) -> float:
    """64 samples as separate images, each with its recipe text; or (grid) as the Lab
    makes them: one sheet, one recipe."""
    from engine.api.requests import SampleRequest
    from engine.context import JobContext

    request = SampleRequest(model=ref, seed=1, count=64, save=False, grid=grid)
    runtime.run(request, JobContext(0, previews=False))  # load and warm
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        runtime.run(request, JobContext(0, previews=False))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ---------------------------------------------------------------- training throughput


def _train_request(family: str, out: Path, checkpoint_every: int = 10_000_000):
    from engine.api.kinds import Family
    from engine.api.parts import DatasetRef, Training
    from engine.api.requests import TrainRequest

    return TrainRequest(
        family=Family(family),
        preset="digits",
        dataset=DatasetRef("digits"),
        # Periodic checkpoints off: they write files (and fit the VAE's prior), which a
        # bare loop does not do; what is compared is the loop, its events and previews.
        training=Training(steps=TRAIN_STEPS[family], seed=0, checkpoint_every=checkpoint_every),
        output=str(out),
    )


def _app_rate(runtime, family: str, work: Path, checkpoint_every: int = 10_000_000) -> float:
    from engine.context import JobContext

    events: list = []
    request = _train_request(family, work / f"{family}.safetensors", checkpoint_every)
    runtime.run(request, JobContext(1, events.append))
    return _last_rate(events)


def _last_rate(events: list) -> float:
    """images/s as the training loop measured it over the whole run, in its last report."""
    from engine.api.events import Metrics

    return [e for e in events if isinstance(e, Metrics)][-1].values["images_per_s"]


def _train_rates(runtime, family: str, work: Path) -> tuple[float, float]:
    app, bare = [], []
    for _ in range(RUNS):
        app.append(_app_rate(runtime, family, work))
        bare.append(BARE_LOOPS[family](TRAIN_STEPS[family]))
    return statistics.median(app), statistics.median(bare)


def _digits_batches(batch: int, seed: int = 0):
    import torch

    from engine.data.digits import load_digits

    images, labels = load_digits()  # N x 1 x 8 x 8 in [0, 1]
    x, y = torch.from_numpy(images), torch.from_numpy(labels).long()
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(order) - batch + 1, batch):
            yield x[order[i : i + batch]], y[order[i : i + batch]]


def _timed(steps: int, batch: int, step) -> float:
    step()  # the first step allocates; not counted on either side
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - started)


def _bare_vae(steps: int) -> float:
    import torch

    from engine.models.vae.net import Vae, elbo_loss
    from engine.models.vae.training import VAE_PRESETS

    preset = VAE_PRESETS["digits"]
    batch = preset.settings.batch_size
    model = Vae(preset.config)
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.settings.learning_rate)
    data = _digits_batches(batch)

    def step() -> None:
        x, _ = next(data)
        logits, mu, logvar = model(x)
        loss = elbo_loss(logits, x, mu, logvar, preset.settings.beta).total
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()

    return _timed(steps, batch, step)


def _bare_gan(steps: int) -> float:
    import copy

    import torch
    from torch.nn import functional as F  # noqa: N812

    from engine.models.gan.net import Discriminator, Generator
    from engine.models.gan.training import GAN_PRESETS

    preset = GAN_PRESETS["digits"]
    batch, config = preset.settings.batch_size, preset.config
    g, d = Generator(config), Discriminator(config)
    average = copy.deepcopy(g)
    g_opt = torch.optim.Adam(g.parameters(), preset.settings.learning_rate, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), preset.settings.learning_rate, betas=(0.5, 0.999))
    data = _digits_batches(batch)

    def step() -> None:
        real = next(data)[0] * 2 - 1
        fake = g(torch.randn(batch, config.z_dim))
        d_loss = F.relu(1 - d(real)).mean() + F.relu(1 + d(fake.detach())).mean()
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        g_loss = -d(fake).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        with torch.no_grad():  # the same moving average of the generator the app keeps
            for a, p in zip(average.parameters(), g.parameters(), strict=True):
                a.mul_(preset.settings.ema).add_(p, alpha=1 - preset.settings.ema)
        d_loss.item(), g_loss.item()

    return _timed(steps, batch, step)


def _bare_ddpm(steps: int) -> float:
    import copy

    import torch
    from diffusers import DDPMScheduler
    from torch.nn import functional as F  # noqa: N812

    from engine.models.ddpm.net import UNet
    from engine.models.ddpm.training import DDPM_PRESETS

    preset = DDPM_PRESETS["digits"]
    batch, config = preset.settings.batch_size, preset.config
    unet = UNet(config)
    average = copy.deepcopy(unet)
    optimizer = torch.optim.Adam(unet.parameters(), lr=preset.settings.learning_rate)
    scheduler = DDPMScheduler(
        num_train_timesteps=config.timesteps, beta_schedule=config.beta_schedule
    )
    data = _digits_batches(batch)

    def step() -> None:
        x, y = next(data)
        x0 = x * 2 - 1
        noise = torch.randn_like(x0)
        t = torch.randint(0, config.timesteps, (batch,))
        loss = F.mse_loss(unet(scheduler.add_noise(x0, noise, t), t, y), noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for a, p in zip(average.parameters(), unet.parameters(), strict=True):
                a.mul_(preset.settings.ema).add_(p, alpha=1 - preset.settings.ema)
        loss.item()

    return _timed(steps, batch, step)


BARE_LOOPS = {"vae": _bare_vae, "gan": _bare_gan, "ddpm": _bare_ddpm}


# ---------------------------------------------------------------- the window


def _window_rates(work: Path) -> tuple[float, float]:
    """VAE training images/s: the engine alone, then from the real window's Train tab."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from engine.api.events import Finished
    from gui.app import create_main_window
    from gui.settings import AppSettings

    _app = QApplication.instance() or QApplication([])
    engine_rates, window_rates = [], []
    runtime = _runtime(work)
    settings = AppSettings(work / "config")
    settings.output_dir = work / "out"
    window = create_main_window(settings)
    window.show()
    window.set_mode(1)
    lab = window.lab_panel
    lab.tabs.setCurrentWidget(lab.train)
    train = lab.train
    train.family.setCurrentIndex(train.family.findData("vae"))
    train.data.setCurrentIndex(train.data.findData("digits"))
    train.steps.setValue(TRAIN_STEPS["vae"])
    events: list = []
    window.client.event.connect(events.append)
    loop = QEventLoop()

    def idle() -> bool:
        """The training ended, and so did the quality measurement the tab starts after it
        (which would otherwise run beside the next engine-only training)."""
        return any(isinstance(e, Finished) for e in events) and not window.jobs.active()

    # Woken by the jobs model, not polled: a 10 ms timer would itself wake the GUI thread
    # 100 times a second and take its share of the cores the training runs on.
    window.jobs.changed.connect(lambda _state: idle() and loop.quit())
    window.jobs.removed.connect(lambda _job: idle() and loop.quit())
    for _ in range(RUNS):
        # The Train tab checkpoints every 500 steps; so does the engine-only run here.
        engine_rates.append(_app_rate(runtime, "vae", work, checkpoint_every=500))
        events.clear()
        train.start_button.click()
        loop.exec()
        window_rates.append(_last_rate(events))
    window.close()
    runtime.close()
    return statistics.median(engine_rates), statistics.median(window_rates)


# ---------------------------------------------------------------- quality


def _quality(runtime, ref) -> dict[str, float]:
    from engine.api.requests import ScoreRequest
    from engine.context import JobContext

    outcome = runtime.run(ScoreRequest(model=ref), JobContext(0, previews=False))
    return {name: v[0] for name, v in zip(outcome.labels, outcome.vectors, strict=True)}


if __name__ == "__main__":
    main([part for part in sys.argv[1:] if part in PARTS] or list(PARTS))
