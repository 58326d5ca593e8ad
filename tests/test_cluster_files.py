"""What travels to a cluster worker with a job (no Ray needed): every file a request names
is found and put back where the worker holds it, and the worker's model cache keeps to
its size limit, least recently used out first, never a file a running job uses."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit, Hires, IpAdapter, Mask, SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, LoraSpec, ModelRef, Prompt
from engine.api.requests import ReconstructRequest, Txt2ImgRequest, request_to_dict
from engine.cluster.cache_limit import CacheEntry, to_evict
from engine.cluster.model_shipping import Manifest, ManifestFile
from engine.cluster.model_store import IN_USE_PREFIX, ModelStore
from engine.cluster.request_files import (
    named_files,
    runs_remotely,
    sentence_with_user_paths,
    with_files,
    with_user_paths,
)

# Every file slot of a Stable Diffusion request, spelled as a user's paths.
FILES = {
    "model": "/m/sd15.safetensors",
    "lora": "/m/Lora/ink.safetensors",
    "vae": "/m/VAE/vae.pt",
    "embedding": "/m/embeddings/bad.pt",
    "tiny_vae": "/m/VAE-approx/taesd",
    "control": "/m/ControlNet/canny.safetensors",
    "annotator": "/m/annotators/depth.pt",
    "hires": "/m/ESRGAN/4x.pth",
    "source": "/pictures/cat.png",
    "mask": "mask.png",  # relative: as the user's working folder has it
    "control_image": "/pictures/edges.png",
}


def full_request() -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, FILES["model"]),
        prompt=Prompt("a cat <lora:ink:0.5>"),
        loras=(LoraSpec(FILES["lora"], 0.5),),
        vae=FILES["vae"],
        embeddings=(FILES["embedding"],),
        tiny_vae=FILES["tiny_vae"],
        source=SourceImage(ImageRef(FILES["source"], "ab" * 32)),
        mask=Mask(ImageRef(FILES["mask"], "")),
        control=(
            ControlUnit(
                ModelRef(Family.SD, FILES["control"]),
                ImageRef(FILES["control_image"], ""),
                preprocessor="depth",
                settings=(("low", 100.0),),
                annotator=ModelRef(Family.SD, FILES["annotator"]),
            ),
        ),
    )


def test_every_file_a_request_names_is_found_once_and_put_back_where_the_worker_has_it():
    request = full_request()
    expected = sorted(set(FILES.values()) - {FILES["hires"]})
    assert sorted(named_files(request)) == expected
    placed = {text: f"/cache/{i}/{Path(text).name}" for i, text in enumerate(expected)}
    there = with_files(request, placed)
    assert sorted(named_files(there)) == sorted(placed.values())
    # Nothing else changed: the request as data, each path swapped, is the worker's.
    text = json.dumps(request_to_dict(request))
    for here, worker_path in placed.items():
        text = text.replace(json.dumps(here), json.dumps(worker_path))
    assert json.loads(text) == request_to_dict(there)
    assert with_files(request, {}) is request  # no file placed: the very same request
    # A picture's info names the user's files again.
    info = {"source": {"path": placed[FILES["source"]]}, "loras": [placed[FILES["lora"]]]}
    info["hashes"] = {placed[FILES["control"]]: "9bc1d02d"}  # paths as keys too
    assert with_user_paths(info, placed) == {
        "source": {"path": FILES["source"]},
        "loras": [FILES["lora"]],
        "hashes": {FILES["control"]: "9bc1d02d"},
    }
    failure = f"The LoRA {placed[FILES['lora']]} is damaged."
    assert sentence_with_user_paths(failure, placed) == f"The LoRA {FILES['lora']} is damaged."


def test_a_hires_upscaler_file_is_named_and_bundled_models_are_not():
    hires = Txt2ImgRequest(
        model=ModelRef(Family.SD, FILES["model"]),
        hires=Hires(upscaler=ModelRef(Family.UPSCALE, FILES["hires"])),
    )
    assert named_files(hires) == [FILES["model"], FILES["hires"]]
    bundled = ReconstructRequest(
        model=ModelRef(Family.VAE, "vae-digits"), image=ImageRef("/p/a.png", "")
    )
    assert named_files(bundled) == ["/p/a.png"]


def test_only_interactive_work_stays_on_this_computer_and_a_plot_goes_as_its_cells():
    from engine.api.requests import ComponentsRequest, XyzPlotRequest
    from engine.api.requests.xyz import XyzAxis
    from engine.cluster.plot_fanout import fans_out

    request = full_request()
    assert runs_remotely(request)
    adapter = IpAdapter(ModelRef(Family.SD, "/m/ipadapter/a.bin"), ImageRef("/p/b.png", ""))
    assert runs_remotely(Txt2ImgRequest(model=request.model, ip_adapters=(adapter,)))
    plot = XyzPlotRequest(base=request, axes=(XyzAxis("seed", "1-2"),))
    assert not runs_remotely(plot) and fans_out(plot)  # not sent whole: its cells are
    assert not fans_out(request)
    assert not runs_remotely(ComponentsRequest(model=ModelRef(Family.VAE, "vae-digits")))


# ---------------------------------------------------------------- the cache's limit


def entry(key: str, size: int, used: int, in_use: bool = False) -> CacheEntry:
    return CacheEntry(key, size, used, in_use)


def test_eviction_takes_the_least_recently_used_first_and_never_one_in_use():
    entries = [entry("a", 40, 3), entry("b", 40, 1, in_use=True), entry("c", 40, 2)]
    assert to_evict(entries, "new", 10, 130) == []  # 130 fits 120 + 10
    assert [e.key for e in to_evict(entries, "new", 30, 130)] == ["c"]  # b older, in use
    assert [e.key for e in to_evict(entries, "new", 80, 130)] == ["c", "a"]
    with pytest.raises(BadInput, match="beside the files running jobs use now"):
        to_evict(entries, "new", 100, 130)
    with pytest.raises(BadInput, match="big.safetensors is 131 bytes, more than"):
        to_evict([], "big.safetensors", 131, 130)


def ship(store: ModelStore, name: str, data: bytes) -> tuple[Manifest, Path]:
    sha = hashlib.sha256(data).hexdigest()
    manifest = Manifest(name, sha, (ManifestFile("", len(data), sha),))
    return manifest, store.receive(manifest, [data])


def test_the_worker_cache_evicts_lru_keeps_files_in_use_and_refuses_one_too_large(tmp_path):
    store = ModelStore(tmp_path, limit_gb=250e-9)  # 250 bytes
    a, a_path = ship(store, "a.safetensors", b"a" * 100)
    b, b_path = ship(store, "b.safetensors", b"b" * 100)
    assert store.find(a) == a_path  # a used after b: b is now the least recent
    with store.holding([str(b_path)]) as gone:  # a job runs with b
        assert gone == []
        c, _ = ship(store, "c.safetensors", b"c" * 100)
    assert store.evicted == [a.sha256]  # not b: in use, though least recently used
    assert store.find(a) is None and b_path.exists()
    ship(store, "d.safetensors", b"d" * 100)  # b's job ended: b is the oldest now
    assert store.evicted == [a.sha256, b.sha256]
    assert store.find(c) is not None
    with store.holding([str(b_path)]) as gone:  # a job placed before b left: resent
        assert gone == [str(b_path)]
    big = Manifest("big.safetensors", "f" * 64, (ManifestFile("", 251, "f" * 64),))
    with pytest.raises(BadInput, match="more than this worker's model cache may hold"):
        store.find(big)  # refused before it is sent


def test_another_live_process_using_a_file_keeps_it_and_a_dead_ones_marker_does_not(tmp_path):
    store = ModelStore(tmp_path, limit_gb=150e-9)
    a, a_path = ship(store, "a.bin", b"a" * 100)
    (a_path.parent / f"{IN_USE_PREFIX}{os.getppid()}").touch()  # our parent: alive
    with pytest.raises(BadInput, match="does not fit"):
        ship(store, "b.bin", b"b" * 100)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    (a_path.parent / f"{IN_USE_PREFIX}{os.getppid()}").unlink()
    (a_path.parent / f"{IN_USE_PREFIX}{int(dead.stdout)}").touch()  # that process ended
    ship(store, "b.bin", b"b" * 100)
    assert store.evicted == [a.sha256]


def test_the_same_bytes_under_another_name_are_linked_not_sent_again(tmp_path):
    store = ModelStore(tmp_path)
    first, _ = ship(store, "ink.safetensors", b"x" * 10)
    renamed = Manifest("ink-copy.safetensors", first.sha256, first.files)
    found = store.find(renamed)
    assert found is not None and found.name == "ink-copy.safetensors"
    assert found.read_bytes() == b"x" * 10 and store.received == [first.sha256]


def test_files_placed_for_a_job_stay_until_it_runs(tmp_path):
    """Placing a job's second file must not make room by taking its first (that job
    would find it gone, have it sent again, and lose the other: round and round)."""
    from engine.cluster.worker_actor import ClusterWorker

    worker = ClusterWorker("w", "cpu", str(tmp_path), (), 250e-9)
    a, _ = ship(worker.models, "a.bin", b"a" * 100)
    b, _ = ship(worker.models, "b.bin", b"b" * 100)
    assert worker.find_model(a, "job-1") and worker.find_model(b, "job-1")
    with pytest.raises(BadInput, match="does not fit"):
        ship(worker.models, "c.bin", b"c" * 100)
    assert worker.models.evicted == []
