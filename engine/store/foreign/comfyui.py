"""ComfyUI's `prompt` text chunk: the API graph it ran (nodes.py SaveImage writes
`prompt` and, from extra_pnginfo, `workflow`, each as JSON).

The graph is {node id: {"class_type": ..., "inputs": {...}}}; an input that comes from
another node is a link [node id, output index]. From the sampler (KSampler or
KSamplerAdvanced) its inputs are followed: `model` back through LoraLoader chains to
CheckpointLoaderSimple, `positive`/`negative` to CLIPTextEncode, `latent_image` to
EmptyLatentImage. A graph of other shapes is kept whole, as raw text, with a note.
"""

from __future__ import annotations

from typing import Any

from engine.store.foreign.jsontext import load_object, text_of
from engine.store.foreign.names import COMFY, sampler_name
from engine.store.foreign.result import Draft

SAMPLERS = ("KSampler", "KSamplerAdvanced")
CHECKPOINT_LOADERS = ("CheckpointLoaderSimple", "CheckpointLoader")
LORA_LOADERS = ("LoraLoader", "LoraLoaderModelOnly")
TEXT_ENCODERS = ("CLIPTextEncode",)
LATENTS = ("EmptyLatentImage", "EmptySD3LatentImage")
MAX_HOPS = 64  # links followed from one input: a real chain has a handful; cycles stop

# Sampler input -> our field, for inputs that hold a value rather than a link.
SAMPLER_FIELDS = {"seed": "seed", "noise_seed": "seed", "steps": "steps", "cfg": "cfg_scale"}


def is_comfyui(texts: dict[str, str]) -> bool:
    return "prompt" in texts or "workflow" in texts


def read_comfyui(texts: dict[str, str]) -> Draft:
    """The fields of the common graphs; the graph itself (and the UI's `workflow`) is
    kept raw only when it could not be mapped, so a mapped picture's line stays short."""
    draft = Draft(tool="comfyui")
    raw = texts.get("prompt")
    graph = load_object(raw, "ComfyUI's prompt graph", draft) if raw else None
    sampler = _the_sampler(graph, draft) if graph is not None else None
    if sampler is not None:
        _read_sampler(graph, sampler, draft)  # type: ignore[arg-type]
        return draft
    if raw is None:
        draft.notes.append("Only the workflow (the UI's graph) is here: it is shown raw.")
    draft.keep("prompt", raw)
    draft.keep("workflow", texts.get("workflow"))
    return draft


def _the_sampler(graph: dict[str, Any], draft: Draft) -> dict[str, Any] | None:
    found = [n for n in graph.values() if _kind(n) in SAMPLERS]
    if len(found) != 1:
        many = f"{len(found)} samplers" if found else "no KSampler"
        draft.notes.append(f"The graph has {many}: it is shown raw, not mapped.")
        return None
    return found[0]


def _read_sampler(graph: dict[str, Any], node: dict[str, Any], draft: Draft) -> None:
    inputs = _inputs(node)
    for key, field in SAMPLER_FIELDS.items():
        if _is_link(inputs.get(key)):
            draft.notes.append(f"The sampler's {key} comes from another node: not read.")
        elif key in inputs:
            draft.put(field, inputs[key])
    if _kind(node) == "KSamplerAdvanced" and inputs.get("add_noise") == "disable":
        draft.notes.append("The sampler adds no noise of its own: the seed is not used.")
    if "denoise" in inputs and not _is_link(inputs["denoise"]) and inputs["denoise"] != 1:
        draft.put("denoising_strength", inputs["denoise"])
    name, schedule = text_of(inputs.get("sampler_name")), text_of(inputs.get("scheduler"))
    if name:
        # ComfyUI's first releases (early 2023) named them after k-diffusion's
        # functions: "sample_dpmpp_2m" for today's "dpmpp_2m".
        name = name.removeprefix("sample_")
        draft.put("sampler", sampler_name(COMFY, name, schedule or "", draft.notes))
    draft.put("scheduler", schedule)
    draft.put("prompt", _text(graph, inputs.get("positive"), draft, "prompt"))
    draft.put("negative_prompt", _text(graph, inputs.get("negative"), draft, "negative"))
    _model_chain(graph, inputs.get("model"), draft)
    _latent(graph, inputs.get("latent_image"), draft)


def _model_chain(graph: dict[str, Any], link: Any, draft: Draft) -> None:
    """From the sampler's `model` back to the checkpoint, collecting LoRAs on the way."""
    loras: list[tuple[Any, Any]] = []
    seen: set[str] = set()
    for _ in range(MAX_HOPS):
        node = _linked(graph, link)
        if node is None:
            break
        if str(link[0]) in seen:
            draft.notes.append("The model's LoRA chain loops back on itself: not followed.")
            break
        seen.add(str(link[0]))
        inputs = _inputs(node)
        if _kind(node) in CHECKPOINT_LOADERS:
            draft.put("model", text_of(inputs.get("ckpt_name")))
            break
        if _kind(node) not in LORA_LOADERS:
            draft.notes.append(f"The model passes through {_kind(node)!r}: not followed.")
            break
        loras.append((inputs.get("lora_name"), inputs.get("strength_model", 1.0)))
        link = inputs.get("model")
    draft.loras.extend(reversed(loras))  # in the order they are applied to the checkpoint


def _text(graph: dict[str, Any], link: Any, draft: Draft, which: str) -> str | None:
    node = _linked(graph, link)
    if node is None:
        return None
    if _kind(node) not in TEXT_ENCODERS:
        draft.notes.append(f"The {which} comes from {_kind(node)!r}: not read.")
        return None
    text = _inputs(node).get("text")
    if _is_link(text):
        draft.notes.append(f"The {which}'s text comes from another node: not read.")
        return None
    return text_of(text)


def _latent(graph: dict[str, Any], link: Any, draft: Draft) -> None:
    node = _linked(graph, link)
    if node is not None and _kind(node) in LATENTS:
        inputs = _inputs(node)
        draft.put("width", inputs.get("width"))
        draft.put("height", inputs.get("height"))
        if inputs.get("batch_size", 1) != 1:
            draft.keep("batch_size", inputs.get("batch_size"))
    elif node is not None:
        draft.notes.append(f"The latent comes from {_kind(node)!r}: the size is the picture's.")


def _linked(graph: dict[str, Any], link: Any) -> dict[str, Any] | None:
    if not _is_link(link):
        return None
    node = graph.get(str(link[0]))
    return node if isinstance(node, dict) else None


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def _kind(node: Any) -> str:
    kind = node.get("class_type") if isinstance(node, dict) else None
    return kind if isinstance(kind, str) else ""


def _inputs(node: dict[str, Any]) -> dict[str, Any]:
    inputs = node.get("inputs")
    return inputs if isinstance(inputs, dict) else {}
