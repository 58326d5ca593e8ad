"""The VAE family: a small MLP variational autoencoder, its files, and its sampling runner.

Files are `<name>.safetensors` (weights, plus the config and training record as JSON in
the safetensors metadata, so the weights file alone is enough to load) and a sidecar
`<name>.json` with the same record, for people and tools that do not read safetensors.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the conventional torch alias

from engine.context import JobContext
from engine.device import DeviceChoice
from engine.errors import BadModelFile
from engine.fingerprint import file_sha256
from engine.jobs import GeneratedImage, SampleRequest
from engine.resources import BUNDLED_MODELS_DIR

FAMILY = "vae"
FORMAT_VERSION = 1
METADATA_KEY = "latentstudio"  # one key: safetensors writes several in random order
BUNDLED = {"vae-digits": "vae-digits.safetensors"}
RETRAIN_HINT = "python -m engine.train vae --preset digits"


# ---------------------------------------------------------------- network


@dataclass(frozen=True)
class VaeConfig:
    """Hyper-parameters that fix the network's shape (and so its weight names and sizes)."""

    image_size: int = 8
    channels: int = 1
    hidden: tuple[int, ...] = (256, 128)
    latent_dim: int = 8

    @property
    def pixels(self) -> int:
        return self.channels * self.image_size * self.image_size

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VaeConfig:
        config = cls(**{**data, "hidden": tuple(int(h) for h in data["hidden"])})
        sizes = (config.image_size, config.channels, config.latent_dim, *config.hidden)
        if not config.hidden or min(sizes) < 1:
            raise ValueError(f"sizes must be positive: {config}")
        return config


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with SiLU between them and none after the last (it yields raw outputs)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class Vae(nn.Module):
    """x -> (mu, logvar) -> z -> Bernoulli logits per pixel."""

    def __init__(self, config: VaeConfig) -> None:
        super().__init__()
        self.config = config
        hidden = list(config.hidden)
        # The encoder's last layer emits mu and logvar side by side.
        self.encoder = _mlp([config.pixels, *hidden, 2 * config.latent_dim])
        self.decoder = _mlp([config.latent_dim, *reversed(hidden), config.pixels])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        c, s = self.config.channels, self.config.image_size
        return self.decoder(z).view(-1, c, s, s)

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        return self.decode_logits(z), mu, logvar


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """z = mu + sigma * eps: the noise is an input, so gradients flow to mu and logvar."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


# ---------------------------------------------------------------- loss


@dataclass(frozen=True)
class VaeLoss:
    """Per-image means over the batch; total = recon + beta * kl (the negative ELBO at beta=1)."""

    total: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) summed over latent dimensions, one value per image."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def elbo_loss(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
) -> VaeLoss:
    """Bernoulli reconstruction (BCE summed over pixels in [0, 1]) plus the KL term."""
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = kl_divergence(mu, logvar)
    recon, kl = recon.mean(), kl.mean()
    return VaeLoss(recon + beta * kl, recon, kl)


# ---------------------------------------------------------------- files


def sidecar_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def save_vae(path: Path, model: Vae, config: VaeConfig, meta: dict[str, Any]) -> None:
    """Write `<name>.safetensors` and `<name>.json`, each atomically (temp file + replace)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"VAE weights are saved as .safetensors, not {path.name}")
    record = {"family": FAMILY, "format": FORMAT_VERSION, "config": config.to_dict(), "meta": meta}
    tensors = {
        k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()
    }
    header = {METADATA_KEY: json.dumps(record, sort_keys=True)}
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, safetensors_bytes(tensors, metadata=header))
    sidecar = json.dumps(record, indent=2, sort_keys=True) + "\n"
    _write_atomic(sidecar_path(path), sidecar.encode("utf-8"))


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_vae(
    path: Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[Vae, VaeConfig, dict[str, Any]]:
    """Load a VAE saved by save_vae; any problem with the file becomes BadModelFile."""
    path = Path(path)
    _check_path(path)
    tensors, record = _read_safetensors(path)
    config = _config_from_record(path, record)
    model = Vae(config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise BadModelFile(
            f"{path.name} does not match the VAE settings stored in it ({_first_line(exc)}). "
            f"The file is damaged or was edited; train it again with `{RETRAIN_HINT}`."
        ) from exc
    model.to(device=device, dtype=dtype).eval()
    return model, config, dict(record.get("meta", {}))


def _check_path(path: Path) -> None:
    if path.suffix.lower() != ".safetensors":
        raise BadModelFile(
            f"{path.name} is not a .safetensors file. VAE models load only from .safetensors, "
            "because other formats (.ckpt, .pt, .pth) can run code when opened; "
            "choose the model's .safetensors file instead."
        )
    if not path.is_file():
        raise BadModelFile(
            f"The VAE model file {path} does not exist. Check the path, or recreate the "
            f"bundled model with `{RETRAIN_HINT}`."
        )


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            raw = (fh.metadata() or {}).get(METADATA_KEY)
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118 - not a dict
    except (SafetensorError, OSError, ValueError) as exc:
        raise BadModelFile(
            f"{path.name} is damaged or incomplete and cannot be read as safetensors "
            f"({_first_line(exc)}). Copy or download it again, or retrain it with "
            f"`{RETRAIN_HINT}`."
        ) from exc
    if raw is None:
        raise BadModelFile(
            f"{path.name} is a safetensors file but not a Latent Studio VAE: it carries no VAE "
            "settings. Choose a file written by Latent Studio's VAE training."
        )
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadModelFile(
            f"The VAE settings inside {path.name} are not valid JSON. The file is damaged; "
            f"train it again with `{RETRAIN_HINT}`."
        ) from exc
    return tensors, record


def _config_from_record(path: Path, record: dict[str, Any]) -> VaeConfig:
    family = record.get("family") if isinstance(record, dict) else None
    if family != FAMILY:
        raise BadModelFile(
            f"{path.name} holds a {family or 'unknown'} model, not a VAE. "
            "Choose it from the matching model family instead."
        )
    try:
        return VaeConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadModelFile(
            f"The VAE settings inside {path.name} are incomplete or invalid ({exc}). "
            f"The file is damaged or from a newer version; train it again with `{RETRAIN_HINT}`."
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---------------------------------------------------------------- sampling


def sample_latent(latent_dim: int, seed: int) -> torch.Tensor:
    """One 1 x latent_dim prior draw from a CPU generator: the same seed gives the same z
    on every device."""
    generator = torch.Generator("cpu").manual_seed(seed)
    return torch.randn((1, latent_dim), generator=generator, dtype=torch.float32)


@torch.inference_mode()
def decode_latents(model: Vae, z: torch.Tensor) -> np.ndarray:
    """Latents -> uint8 N x H x W x 3 (pixel means; grayscale replicated to RGB)."""
    param = next(model.parameters())
    probs = torch.sigmoid(model.decode_logits(z.to(param.device, param.dtype)).float())
    pixels = (probs * 255).round().clamp(0, 255).to(torch.uint8).cpu()
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return pixels.permute(0, 2, 3, 1).contiguous().numpy()


def resolve_model_path(model: str) -> Path:
    """A bundled id ("vae-digits") or a path to a .safetensors file."""
    if model in BUNDLED:
        return BUNDLED_MODELS_DIR / BUNDLED[model]
    return Path(model).expanduser()


@dataclass
class _Loaded:
    # Resolved path, inode, mtime_ns, size: a file retrained in place (save_vae replaces it,
    # so it gets a new inode) is loaded again.
    key: tuple[str, int, int, int]
    model: Vae
    config: VaeConfig
    sha256: str


@dataclass
class VaeRunner:
    """Draws samples from a VAE's prior. Keeps the last model loaded."""

    device: DeviceChoice
    _loaded: _Loaded | None = field(default=None, init=False, repr=False)

    def run(self, request: SampleRequest, ctx: JobContext) -> list[GeneratedImage]:
        request.validate()
        ctx.check_cancelled()
        loaded = self._load(request.model)
        ctx.restart_clock()
        info = self._info(request.model, loaded)
        images: list[GeneratedImage] = []
        for i in range(request.count):
            # One z per seed, decoded alone, so sample i of a batch is bitwise equal to a
            # single-sample run with seed + i.
            z = sample_latent(loaded.config.latent_dim, request.seed + i)
            rgb = decode_latents(loaded.model, z)[0]
            images.append(GeneratedImage(rgb, seed=request.seed + i, index=i, info=dict(info)))
            ctx.report(i + 1, request.count, preview=lambda rgb=rgb: rgb)
        return images

    def unload(self) -> None:
        """Forget the cached model (the runtime calls this when it shuts down)."""
        self._loaded = None

    def _load(self, model_id: str) -> _Loaded:
        path = resolve_model_path(model_id)
        _check_path(path)
        stat = path.stat()
        key = (str(path.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._loaded is None or self._loaded.key != key:
            model, config, _meta = load_vae(path, self.device.device, self.device.dtype)
            self._loaded = _Loaded(key, model, config, file_sha256(path))
        return self._loaded

    def _info(self, model_id: str, loaded: _Loaded) -> dict[str, Any]:
        return {
            "model": model_id,
            "model_sha256": loaded.sha256,
            "device": self.device.device,
            "dtype": self.device.dtype_name,
            "torch": torch.__version__,
            "family": FAMILY,
        }
