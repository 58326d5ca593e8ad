"""Latent Lab on the device: training steps per second through the app against a bare
PyTorch loop of the same network, and the latency of a latent slider's frame.

- `lab_train_app` / `lab_train_bare` (steps/s): the app's VAE training job, timed from
  its first progress event to its last (the loop with its live metrics and sample
  frames; not the data set's loading or the final file), against a bare loop of the same
  network, optimizer and batch on device-resident data, `loss.item()` once a step as a
  training script logs;
- `slider_frame_<model>` (ms): one slider move, i.e. a DecodeRequest of the moved
  latent vector, through the runtime, median over the moves (the GUI's paint is not
  in it: bench.latent_sliders measures that through the window on the CPU).
"""

from __future__ import annotations

import json
import statistics
import time

import torch

from bench.gpu_sections.harness import Check

SLIDER_MODELS = ("vae-shapes", "gan-shapes")


def training(check: Check) -> None:
    steps = check.sizes.train_steps
    runtime = check.runtime()
    try:
        _train(check, runtime, 2)  # warm: imports, the data set, kernels
        app = _train(check, runtime, steps)
    finally:
        runtime.close()
    bare = _bare_steps_per_s(check, steps)
    check.note(f"lab training: VAE, preset {check.sizes.train_preset}, {steps} steps")
    check.emit("lab_train_app", app, "steps/s")
    check.emit("lab_train_bare", bare, "steps/s")
    check.emit("lab_train_app_over_bare", app / bare, "x", 3)


def sliders(check: Check) -> None:
    from engine.api.kinds import Family
    from engine.api.parts import Latents, ModelRef
    from engine.api.requests import DecodeRequest
    from engine.context import JobContext
    from engine.resources import BUNDLED_MODELS_DIR

    runtime = check.runtime()
    try:
        for model in SLIDER_MODELS:
            config = json.loads((BUNDLED_MODELS_DIR / f"{model}.json").read_text())["config"]
            dim = config.get("latent_dim") or config["z_dim"]
            ref = ModelRef(Family(model.split("-")[0]), model)
            times = []
            for move in range(check.sizes.slider_moves + 1):  # move 0 loads and warms
                vector = tuple([0.05 * move] + [0.0] * (dim - 1))  # the first slider moved
                check.sync()
                started = time.perf_counter()
                runtime.run(DecodeRequest(model=ref, latents=Latents((vector,))), JobContext(move))
                check.sync()
                times.append(time.perf_counter() - started)
            label = model.replace("-", "_")
            check.emit(f"slider_frame_{label}", statistics.median(times[1:]) * 1000, "ms")
    finally:
        runtime.close()


def _train(check: Check, runtime, steps: int) -> float:
    """Steps per second of the app's training loop, from its own progress events."""
    from engine.api.events import Progress
    from engine.api.kinds import Family
    from engine.api.parts import DatasetRef, Training
    from engine.api.requests import TrainRequest
    from engine.context import JobContext

    preset = check.sizes.train_preset
    request = TrainRequest(
        family=Family.VAE,
        preset=preset,
        dataset=DatasetRef(preset),
        training=Training(steps=steps, seed=1, checkpoint_every=steps),
        output=str(check.work / f"vae-{preset}-{steps}.safetensors"),
    )
    seen: list[tuple[float, int]] = []  # (when, step) of each progress event of the loop

    def note(event: object) -> None:
        if isinstance(event, Progress) and event.step and event.total == steps:
            seen.append((time.perf_counter(), event.step))

    runtime.run(request, JobContext(0, emit=note))
    (first_s, first), (last_s, last) = seen[0], seen[-1]
    if last == first:
        raise RuntimeError(f"the training reported one step only ({seen})")
    return (last - first) / (last_s - first_s)


def _bare_steps_per_s(check: Check, steps: int) -> float:
    from engine.models.vae.net import Vae, elbo_loss
    from engine.models.vae.training import VAE_PRESETS

    preset = VAE_PRESETS[check.sizes.train_preset]
    config, batch = preset.config, preset.settings.batch_size
    torch.manual_seed(0)
    model = Vae(config).to(check.device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.settings.learning_rate)
    noise = torch.Generator(check.device).manual_seed(0)
    shape = (batch, config.channels, config.image_size, config.image_size)
    images = torch.rand(shape, generator=noise, device=check.device)

    def step() -> None:
        logits, mu, logvar = model(images, noise)
        loss = elbo_loss(logits, images, mu, logvar, preset.settings.beta)
        optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        optimizer.step()
        loss.total.item()

    step()  # warm
    check.sync()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    check.sync()
    return steps / (time.perf_counter() - started)
