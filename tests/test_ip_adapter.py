"""IP-Adapter end to end (issue 22), against bare diffusers' `load_ip_adapter`.

A tiny IP-Adapter (the layout of h94's ip-adapter_sd15.safetensors: `image_proj.proj`,
`image_proj.norm`, `ip_adapter.N.to_k_ip/to_v_ip` for each cross-attention, N = 1, 3,
5...) and a tiny CLIP vision encoder are built here for the tiny SD 1.x pipeline. The
oracle: the same pipeline folder loaded by diffusers alone, `load_ip_adapter` of the same
file with the same encoder folder, the same picture, scale and generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from engine.api.errors import BadInput
from engine.api.image_parts import IpAdapter
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.library.control import IP_ADAPTER, detect_control
from engine.library.header import read_header
from engine.models.sd.control.ip_adapter import vision_config
from tests.sd_original_layout import save_folder, tiny_pipeline

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning"),
]
TOKENS = 4  # image tokens the projection makes
VISION = dict(
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=16,  # the OpenCLIP towers' 16 heads, which shapes cannot show
    image_size=32,
    patch_size=8,
    projection_dim=16,
    hidden_act="gelu",
    layer_norm_eps=1e-5,
)


def tiny_ip_adapter(pipe, embed_dim: int, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    width = pipe.unet.config.cross_attention_dim
    state = {
        "image_proj.proj.weight": torch.randn(TOKENS * width, embed_dim) * 0.2,
        "image_proj.proj.bias": torch.randn(TOKENS * width) * 0.1,
        "image_proj.norm.weight": 1 + torch.randn(width) * 0.1,
        "image_proj.norm.bias": torch.randn(width) * 0.1,
    }
    key_id = 1
    for name in pipe.unet.attn_processors:
        if name.endswith("attn2.processor"):
            attn = pipe.unet.get_submodule(name[: -len(".processor")])
            hidden = attn.to_k.weight.shape[0]
            for part in ("to_k_ip", "to_v_ip"):
                state[f"ip_adapter.{key_id}.{part}.weight"] = torch.randn(hidden, width) * 0.3
            key_id += 2
    return state


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return comfy_files(tmp_path_factory, "sd1", "tiny")


def comfy_files(tmp_path_factory, family: str, name: str) -> dict:
    """ComfyUI's layout: models/checkpoints, models/ipadapter, models/clip_vision."""
    models = tmp_path_factory.mktemp("ComfyUI") / "models"
    pipe = tiny_pipeline(family, seed=5)
    checkpoint = save_folder(pipe, models / "checkpoints" / f"tiny-{family}")
    torch.manual_seed(7)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**VISION)).eval()
    encoder.save_pretrained(models / "clip_vision" / "tiny-vit")
    (models / "ipadapter").mkdir()
    adapter = models / "ipadapter" / f"ip-adapter_{name}.safetensors"
    save_file(tiny_ip_adapter(pipe, VISION["projection_dim"]), str(adapter))
    picture = tmp_path_factory.mktemp("pictures") / "style.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(picture)
    return {
        "checkpoint": checkpoint,
        "encoder": models / "clip_vision" / "tiny-vit",
        "adapter": adapter,
        "picture": picture,
        "models": models,
        "encoder_model": encoder,
    }


def request(files, weight=0.8, seed=11, adapters=None) -> Txt2ImgRequest:
    adapter = IpAdapter(
        ModelRef(Family.SD, str(files["adapter"])), ImageRef(str(files["picture"]), ""), weight
    )
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(files["checkpoint"])),
        prompt=Prompt("a cat", "blurry"),
        sampling=Sampling(steps=3, cfg_scale=7.0, seed=seed),
        size=Size(64, 64),
        ip_adapters=(adapter,) if adapters is None else adapters,
    )


def bare(
    files,
    weight: float,
    seed: int,
    with_adapter: bool = True,
    cls=StableDiffusionPipeline,
    fresh_encoder: bool = False,
    **call,
) -> np.ndarray:
    pipe = cls.from_pretrained(
        str(files["checkpoint"]), local_files_only=True, safety_checker=None, **call.pop("load", {})
    )
    pipe.set_progress_bar_config(disable=True)
    extra = {}
    if with_adapter:
        encoder = CLIPVisionModelWithProjection.from_pretrained(
            str(files["encoder"]), local_files_only=True
        )
        if fresh_encoder:  # its tensors copied out of the memory-mapped file: see below
            fresh = {k: v.clone() for k, v in encoder.state_dict().items()}
            encoder.load_state_dict(fresh, assign=True)
        pipe.register_modules(image_encoder=encoder)
        pipe.load_ip_adapter(
            str(files["adapter"].parent),
            subfolder="",
            weight_name=files["adapter"].name,
            image_encoder_folder=None,
            local_files_only=True,
        )
        pipe.set_ip_adapter_scale(weight)
        extra = {"ip_adapter_image": Image.open(files["picture"]).convert("RGB")}
    size = call.pop("size", {"width": 64, "height": 64})  # image to image: the image's
    images = pipe(
        prompt="a cat",
        negative_prompt="blurry",
        num_inference_steps=3,
        guidance_scale=7.0,
        **size,
        **call,
        generator=[torch.Generator("cpu").manual_seed(seed)],
        output_type="np",
        **extra,
    ).images
    return (images * 255).round().astype(np.uint8)


def test_a_job_with_an_ip_adapter_equals_bare_diffusers(sd_runtime, files):
    mine = sd_runtime.run(request(files, weight=0.8), JobContext(1)).images[0].rgb
    theirs = bare(files, 0.8, 11)[0]
    assert np.array_equal(mine, theirs)
    plain = bare(files, 0.8, 11, with_adapter=False)[0]
    assert not np.array_equal(mine, plain)  # the adapter did something
    # Unloaded after the job: the next job without it is the plain pipeline's picture.
    after = sd_runtime.run(request(files, adapters=()), JobContext(2)).images[0].rgb
    assert np.array_equal(after, plain)


def test_image_to_image_and_a_controlnet_with_an_ip_adapter_equal_bare_diffusers(
    sd_runtime, files, tmp_path
):
    from dataclasses import replace

    from diffusers import (
        ControlNetModel,
        StableDiffusionControlNetPipeline,
        StableDiffusionImg2ImgPipeline,
    )

    from engine.api.image_parts import ControlUnit, SourceImage

    source = tmp_path / "source.png"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(source)
    ask = replace(request(files, weight=0.6), source=SourceImage(ImageRef(str(source), ""), 0.7))
    mine = sd_runtime.run(ask, JobContext(1)).images[0].rgb
    theirs = bare(
        files,
        0.6,
        11,
        cls=StableDiffusionImg2ImgPipeline,
        image=Image.open(source),
        strength=0.7,
        size={},
    )
    assert np.array_equal(mine, theirs[0])

    pipe = tiny_pipeline("sd1", seed=5)
    torch.manual_seed(3)
    net = ControlNetModel.from_unet(pipe.unet)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    net.save_pretrained(tmp_path / "cn")
    unit = ControlUnit(ModelRef(Family.SD, str(tmp_path / "cn")), ImageRef(str(source), ""))
    ask = replace(request(files, weight=0.6), control=(unit,))
    mine = sd_runtime.run(ask, JobContext(2)).images[0].rgb
    theirs = bare(
        files,
        0.6,
        11,
        cls=StableDiffusionControlNetPipeline,
        load={"controlnet": ControlNetModel.from_pretrained(tmp_path / "cn")},
        image=Image.open(source).convert("RGB"),
    )
    assert np.array_equal(mine, theirs[0])


def test_a_single_file_clip_vision_encoder_gives_the_same_picture(sd_runtime, files, tmp_path):
    folder = files["encoder"]
    single = files["models"] / "clip_vision" / "tiny-vit.safetensors"
    state = files["encoder_model"].state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(single))
    header = read_header(single)
    assert {k: vision_config(header)[k] for k in VISION} == VISION
    folder.rename(tmp_path / "kept")  # only the single file is left to be found
    try:
        mine = sd_runtime.run(request(files, weight=0.5, seed=3), JobContext(1)).images[0].rgb
    finally:
        (tmp_path / "kept").rename(folder)
        single.unlink()
    # The oracle's encoder has the folder's very weights in memory of its own, as the
    # single file's are once loaded strictly. transformers 5 leaves a folder's tensors in
    # the memory-mapped file, at offsets MKL takes other (equally right) kernels for: the
    # embeddings then differ in the last bit, and a pixel or two after three steps.
    assert np.array_equal(mine, bare(files, 0.5, 3, fresh_encoder=True)[0])


def test_a_missing_clip_vision_encoder_is_a_sentence(sd_runtime, files, tmp_path):
    lonely = tmp_path / "elsewhere" / "ipadapter"
    lonely.mkdir(parents=True)
    adapter = lonely / files["adapter"].name
    adapter.write_bytes(files["adapter"].read_bytes())
    alone = dict(files, adapter=adapter)
    with pytest.raises(BadInput) as refused:
        sd_runtime.run(request(alone), JobContext(1))
    message = refused.value.message
    assert "needs a CLIP vision encoder" in message
    assert str(tmp_path / "elsewhere" / "clip_vision") in message
    # The worker lives on: the next job draws.
    assert sd_runtime.run(request(files), JobContext(2)).images


def test_an_ip_adapter_of_another_family_is_a_sentence(sd_runtime, files, tmp_path):
    xl = tmp_path / "ip-adapter_sdxl.safetensors"
    save_file(
        {
            "image_proj.proj.weight": torch.zeros(8, 4),
            "image_proj.norm.weight": torch.zeros(2048),
            "ip_adapter.1.to_k_ip.weight": torch.zeros(640, 2048),
        },
        str(xl),
    )
    assert detect_control(read_header(xl)).kind == IP_ADAPTER
    adapter = IpAdapter(ModelRef(Family.SD, str(xl)), ImageRef(str(files["picture"]), ""))
    with pytest.raises(BadInput, match="is an IP-Adapter for SDXL, and the checkpoint is SD 1.x"):
        sd_runtime.run(request(files, adapters=(adapter,)), JobContext(1))


def test_a_controlnet_given_as_ip_adapter_is_a_sentence(files, tmp_path):
    from engine.library.detect import SdFamily
    from engine.models.sd.control.ip_adapter import read_adapter

    not_ip = tmp_path / "control.safetensors"
    save_file({"control_model.input_hint_block.0.weight": torch.zeros(4, 3, 3, 3)}, str(not_ip))
    with pytest.raises(BadInput, match="control.safetensors is a ControlNet, not an IP-Adapter"):
        read_adapter(Path(not_ip), SdFamily.SD1)


def test_a_missing_encoder_is_refused_before_the_model_loads(
    sd_runtime, files, tmp_path, monkeypatch
):
    import shutil

    from engine.models.sd import runners

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the IP-Adapter was checked")

    monkeypatch.setattr(runners, "load_sd_pipeline", no_loading)
    fresh = shutil.copytree(files["checkpoint"], tmp_path / "not-cached")
    lonely = tmp_path / "elsewhere" / "ipadapter"
    lonely.mkdir(parents=True)
    adapter = lonely / files["adapter"].name
    adapter.write_bytes(files["adapter"].read_bytes())
    with pytest.raises(BadInput, match="needs a CLIP vision encoder"):
        sd_runtime.run(request(dict(files, adapter=adapter, checkpoint=fresh)), JobContext(1))
