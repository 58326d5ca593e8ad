"""Dispatch: request type -> runner, then save what it made. Runs on the worker thread.

This is where torch enters the process; nothing on the GUI side imports this module.
The Stable Diffusion runner imports engine.models.hf_env (HF_HUB_OFFLINE=1) before any
hugging-face library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from engine.context import JobContext
from engine.device import DeviceChoice, choose_device
from engine.jobs import (
    DeviceInfo,
    GeneratedImage,
    Request,
    ResultImage,
    SampleRequest,
    Txt2ImgRequest,
)
from engine.store import GalleryStore, StoreError, png_text


class Runner(Protocol):
    def run(self, request: Request, ctx: JobContext) -> list[GeneratedImage]: ...


def _make_runner(kind: type[Request], device: DeviceChoice) -> Runner:
    # Imported on first use so a Latent Lab job never pays for diffusers.
    if kind is SampleRequest:
        from engine.models.vae import VaeRunner

        return VaeRunner(device)
    if kind is Txt2ImgRequest:
        from engine.models.sd import SdRunner

        return SdRunner(device)
    raise TypeError(f"no runner for {kind.__name__}")


class Runtime:
    def __init__(
        self,
        store: Callable[[], GalleryStore | None] = lambda: None,
        device_preference: str = "auto",
    ) -> None:
        self._store = store
        self.device = choose_device(device_preference)
        self._runners: dict[type[Request], Runner] = {}

    def device_info(self) -> DeviceInfo:
        return self.device.info()

    def run(self, request: Request, ctx: JobContext) -> tuple[ResultImage, ...]:
        request.validate()
        runner = self._runners.get(type(request))
        if runner is None:
            runner = self._runners[type(request)] = _make_runner(type(request), self.device)
        images = runner.run(request, ctx)
        ctx.check_cancelled()  # a job cancelled at its last step leaves nothing on disk
        store = self._store()
        return tuple(save_result(store, image, request) for image in images)

    def close(self) -> None:
        for runner in self._runners.values():
            unload = getattr(runner, "unload", None)
            if unload is not None:
                unload()
        self._runners.clear()


def save_result(store: GalleryStore | None, image: GeneratedImage, request: Request) -> ResultImage:
    """Write one image; a failed save keeps the pixels in the result so nothing is lost."""
    height, width = image.rgb.shape[:2]
    result = ResultImage(image.rgb, image.seed, width, height)
    if store is None:
        return result
    try:
        return replace(result, path=str(store.save(image, request)))
    except StoreError as exc:
        text = png_text(image, request, datetime.now().astimezone())
        return replace(result, save_error=exc.message, png_text=text)
