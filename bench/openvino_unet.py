"""Stable Diffusion's UNet evaluated by OpenVINO on the CPU, where OpenVINO is installed.

Not wired into the app: on this 2-core AVX-512 CPU it measured 1.14x eager fp32 per
full-size UNet evaluation (README, "the CPU's faster fp32 paths"), short of the 1.3x an
optional backend must win by. `bench.cpu_speed fast` measures it through this module, so
a CPU where it wins (one with AMX, say) can be measured with the app's own code.

`use_openvino(unet, ...)` replaces the UNet's own forward on that instance only, so the
pipeline, LoRA loading (peft) and the model cache still see the diffusers UNet. A call
OpenVINO's static graph cannot take (LoRAs active, ControlNet residuals, IP-Adapter
embeddings, a per-sample timestep, anything beyond the plain text-conditioned UNet)
goes to the torch forward unchanged, so every feature keeps working, only not faster.

The converted graph is kept on disk (OpenVINO IR) under the cache folder, named by the
checkpoint's sha256 and the input shapes: converting the full SD 1.5 UNet takes minutes
on 2 cores, once per model and picture size. OpenVINO's own compiled blobs are cached
beside it (its CACHE_DIR), so a later run's compile is a read.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

IR_VERSION = 1  # bump when the wrapper's inputs change: old IR files are then not read


def available() -> bool:
    """Whether the optional OpenVINO runtime is installed (nothing is imported)."""
    return importlib.util.find_spec("openvino") is not None


class _PlainUnet(torch.nn.Module):
    """The UNet as a function of (latents, timestep, text embeddings): what is traced."""

    def __init__(self, unet: torch.nn.Module, torch_forward: Callable[..., Any]) -> None:
        super().__init__()
        self.unet = unet  # a submodule: its weights are what the trace reads
        # The class's forward, not unet(...): that would be the patched one, re-entering
        # the conversion under its lock.
        self.torch_forward = torch_forward

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.torch_forward(x, t, encoder_hidden_states=text, return_dict=False)[0]


class OpenVinoForward:
    """A UNet's forward: OpenVINO where the call is the plain one, torch otherwise."""

    def __init__(
        self, unet: Any, cache_dir: Path, identity: Callable[[], str], threads: int
    ) -> None:
        self.unet = unet
        self.torch_forward = type(unet).forward.__get__(unet)  # the class's, unpatched
        self.cache_dir = Path(cache_dir)
        self.identity = identity  # the checkpoint's sha256, asked for when first needed
        self.threads = threads
        self.compiled: dict[tuple, Any] = {}
        self.lock = threading.Lock()  # one conversion per shape, even from two lanes
        self.calls = {"openvino": 0, "torch": 0}  # what ran: for the tests and the log

    def __call__(
        self,
        sample: torch.Tensor,
        timestep: Any,
        encoder_hidden_states: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        return_dict = kwargs.pop("return_dict", True)
        if args or not self._plain(sample, timestep, encoder_hidden_states, kwargs):
            self.calls["torch"] += 1
            return self.torch_forward(
                sample, timestep, encoder_hidden_states, *args, return_dict=return_dict, **kwargs
            )
        self.calls["openvino"] += 1
        t = torch.as_tensor(timestep, dtype=torch.float32).reshape(())
        inputs = (sample.float().contiguous(), t, encoder_hidden_states.float().contiguous())
        out = self._compiled(inputs)([tensor.numpy() for tensor in inputs])[0]
        result = torch.from_numpy(out).to(sample.dtype)
        if not return_dict:
            return (result,)
        from diffusers.models.unets.unet_2d_condition import UNet2DConditionOutput

        return UNet2DConditionOutput(sample=result)

    def _plain(self, sample: Any, timestep: Any, text: Any, kwargs: dict[str, Any]) -> bool:
        """Only the text-conditioned call, on the CPU, in fp32, with no adapters loaded."""
        # The pipeline names every argument; only those given a value change the call.
        extra = [
            key for key, value in kwargs.items() if value is not None and not _empty_dict(value)
        ]
        return (
            not extra
            and isinstance(sample, torch.Tensor)
            and isinstance(text, torch.Tensor)
            and sample.device.type == "cpu"
            and sample.dtype == torch.float32
            and torch.as_tensor(timestep).numel() == 1
            and not getattr(self.unet, "_hf_peft_config_loaded", False)  # LoRAs: peft
            and getattr(self.unet, "encoder_hid_proj", None) is None  # IP-Adapter
        )

    def _compiled(self, inputs: tuple[torch.Tensor, ...]) -> Any:
        shapes = tuple(tuple(tensor.shape) for tensor in inputs)
        with self.lock:
            if shapes not in self.compiled:
                self.compiled[shapes] = self._compile(inputs, shapes)
            return self.compiled[shapes]

    def _compile(self, inputs: tuple[torch.Tensor, ...], shapes: tuple) -> Any:
        import openvino

        folder = self.cache_dir / "openvino"
        name = "-".join("x".join(map(str, shape)) or "1" for shape in shapes)
        ir = folder / f"unet-v{IR_VERSION}-{self.identity()[:32]}-{name}.xml"
        core = openvino.Core()
        core.set_property({"CACHE_DIR": str(folder / "compiled")})
        if not ir.exists():
            with torch.no_grad():
                model = openvino.convert_model(
                    _PlainUnet(self.unet, self.torch_forward), example_input=inputs
                )
            folder.mkdir(parents=True, exist_ok=True)
            # compress_to_fp16=False: the weights stay fp32, as eager's are.
            openvino.save_model(model, ir.with_suffix(".tmp.xml"), compress_to_fp16=False)
            ir.with_suffix(".tmp.bin").replace(ir.with_suffix(".bin"))
            ir.with_suffix(".tmp.xml").replace(ir)  # last: an .xml is always whole
        config = {
            "INFERENCE_NUM_THREADS": self.threads,
            "INFERENCE_PRECISION_HINT": "f32",  # no silent bf16 on CPUs that have it
            "PERFORMANCE_HINT": "LATENCY",
        }
        return core.compile_model(str(ir), "CPU", config)


def _empty_dict(value: Any) -> bool:
    return isinstance(value, dict) and not value


def use_openvino(
    unet: Any, cache_dir: Path, identity: Callable[[], str], threads: int | None = None
) -> OpenVinoForward:
    """Route `unet`'s plain calls through OpenVINO (this instance only)."""
    forward = OpenVinoForward(unet, cache_dir, identity, threads or torch.get_num_threads())
    unet.forward = forward
    return forward
