"""`train --data FOLDER --sweep --cluster`: a Lab sweep over a folder of the user's images
trained on a real local Ray cluster (two CPU actors, no dashboard) equals the same sweep
run here: the same JSON lines, the same files with the same records (the folder named
as here, the loader's note on what it skipped the same) and the same tensors, though
the folder holds hidden files, files that are no images or cannot be decoded, a
subfolder, odd names, a symlink to an image outside it, a symlinked folder and a
dangling link. Nothing lands outside the workers' scratch and cache folders, and the
scratch is empty after the sweep. A folder too small says the local sentence, naming
the user's folder; a hostile name sent to a worker is refused before anything is
written. The oracle is the local sweep (engine.batch.lab_sweep.run_sweep on the local
runtime) and safetensors' reader; Pillow and numpy write the pictures."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from engine.api.errors import BadInput, UserFacingError
from engine.api.kinds import Family
from engine.api.outcomes import ModelOutcome
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.api.sweep import read_sweep
from engine.batch.batch_journal import BatchJournal, sweep_journal_path
from engine.batch.lab_sweep import plan_runs, run_sweep

GMM = Family("gmm")
SWEEP = ("components", "2,3")


def picture(path: Path, seed: int, mode: str = "RGB", side: int = 20) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 256, (side, side, len(mode)), dtype=np.uint8)
    Image.fromarray(pixels, mode).save(path)


def hostile_folder(tmp_path: Path, count: int = 16) -> Path:
    """A folder of `count` plain pictures and everything odd a user's folder may hold."""
    folder = tmp_path / "my pictures"
    for index in range(count):
        picture(folder / f"{index:02d}.png", index, "RGBA" if index % 5 == 0 else "RGB")
    picture(folder / "sub" / "deeper.png", 100)
    picture(folder / ".hidden.png", 101)  # the loader leaves it out
    picture(folder / "we\\ird name..png", 102)  # a backslash and dots: a plain name here
    picture(folder / "new\nline.png", 103)
    (folder / "notes.txt").write_text("not a picture")  # skipped by its name
    (folder / "broken.png").write_bytes(b"\x89PNG not really")  # skipped: cannot be read
    outside = tmp_path / "outside"
    picture(outside / "secret.png", 104)
    os.symlink(outside / "secret.png", folder / "linked.png")  # read through the link
    os.symlink(outside, folder / "linked folder")  # not followed
    os.symlink(tmp_path / "missing.png", folder / "dangling.png")  # not a file
    return folder


def planned(runs_folder: Path, data: Path, steps: int = 3, values: str = SWEEP[1]):
    base = TrainRequest(
        family=GMM, preset="custom", dataset=DatasetRef(str(data)), image_size=16,
        training=Training(steps=steps, seed=2), output=str(runs_folder / "unused.safetensors"),
    )  # fmt: skip
    sweep = read_sweep("gmm", SWEEP[0], values)
    journal = BatchJournal(sweep_journal_path(runs_folder, "s", sweep.name))
    return plan_runs(base, sweep, runs_folder, "s"), sweep, journal


def lines_without_paths(results) -> list[dict]:
    return [{k: v for k, v in r.data().items() if k != "checkpoint"} for r in results]


def every_file(root: Path, leave_out: tuple[Path, ...]) -> dict[str, bytes]:
    """Every file under `root` (links as their targets' names) but those under `leave_out`."""
    found = {}
    for path in sorted(root.rglob("*")):
        if any(path.is_relative_to(p) for p in leave_out):
            continue
        if path.is_symlink():
            found[str(path)] = os.readlink(path).encode()
        elif path.is_file():
            found[str(path)] = path.read_bytes()
    return found


def test_a_folder_sweep_on_two_workers_equals_the_same_sweep_here(
    cluster, cpu_runtime, worker_threads, tmp_path
):
    from engine.cluster.pool import WorkerOptions
    from engine.cluster.sweep import run_sweep_on_cluster

    data = hostile_folder(tmp_path)
    runs, sweep, journal = planned(tmp_path / "here", data)
    here = run_sweep(runs, sweep, journal, cpu_runtime, measure=False)

    cache = tmp_path / "worker-cache"
    before = every_file(tmp_path, (tmp_path / "here", cache))
    said: list[str] = []
    runs, sweep, journal = planned(tmp_path / "there", data)
    there = run_sweep_on_cluster(
        runs, sweep, journal, cpu_runtime, cluster, measure=False, log=said.append,
        workers=WorkerOptions(2, 0.5, "cpu", str(cache)),
    )  # fmt: skip

    assert lines_without_paths(there) == lines_without_paths(here)
    local = {p.name: p for p in (tmp_path / "here").iterdir() if p.is_file()}
    remote = {p.name: p for p in (tmp_path / "there").iterdir() if p.is_file()}
    assert sorted(remote) == sorted(local) and len(remote) == 6
    for name, path in remote.items():
        if name.endswith(".json"):
            record = json.loads(path.read_text())
            assert record == json.loads(local[name].read_text())
            meta = record["meta"]  # the user's folder, and what its loader said of it
            assert meta["source"] == str(data) and meta["dataset"] == "my pictures"
            assert "notes.txt: not a jpg, png or webp" in meta["note"]
            assert "broken.png: cannot be read" in meta["note"]
            continue
        a, b = load_file(path), load_file(local[name])
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert len({line.rsplit(": on ", 1)[1] for line in said if ": on " in line}) == 2
    # Nothing was written but the run's files here and the workers' cache and scratch,
    # and the scratch (the laid-out folder with it) is gone.
    after = every_file(tmp_path, (tmp_path / "here", tmp_path / "there", cache))
    assert after == before
    assert list((cache / "cluster-scratch").iterdir()) == []
    # Each picture the loader decodes (or tries to) was sent once: 16, the subfolder's,
    # the two odd names, the broken one and the linked one; the two actors share a node.
    assert len([p for p in (cache / "cluster-models").iterdir() if len(p.name) == 64]) == 21
    assert set(os.listdir(cache)) <= {"cluster-scratch", "cluster-models", "cluster-hashes.sqlite3"}


def test_a_folder_too_small_says_the_local_sentence_naming_the_users_folder(
    cluster, cpu_runtime, tmp_path
):
    from engine.cluster.pool import WorkerOptions
    from engine.cluster.sweep import run_sweep_on_cluster

    data = tmp_path / "few"
    for index in range(3):
        picture(data / f"{index}.png", index)
    (data / "readme.md").write_text("three pictures")
    # One run: a run still in flight when the sweep fails is ended with its worker.
    runs, sweep, journal = planned(tmp_path / "here", data, values="2")
    with pytest.raises(BadInput) as local:
        run_sweep(runs, sweep, journal, cpu_runtime, measure=False)
    assert str(data) in local.value.message

    cache = tmp_path / "worker-cache"
    runs, sweep, journal = planned(tmp_path / "there", data, values="2")
    with pytest.raises(UserFacingError) as remote:
        run_sweep_on_cluster(
            runs, sweep, journal, cpu_runtime, cluster, measure=False,
            workers=WorkerOptions(2, 0.5, "cpu", str(cache)),
        )  # fmt: skip
    assert remote.value.message == local.value.message
    assert list((cache / "cluster-scratch").iterdir()) == []


def test_the_driver_lists_the_folder_as_its_loader_reads_it(tmp_path):
    from engine.cluster.data_files import FOLDER_TAG, IMAGE_TAG, SKIPPED_TAG, data_entries

    data = hostile_folder(tmp_path, count=2)
    request = TrainRequest(
        family=GMM, preset="custom", dataset=DatasetRef(str(data)), output="x.safetensors"
    )
    entries = data_entries(request)
    assert entries[0] == (f"{FOLDER_TAG}my pictures\0{data}", None)  # its name, its path
    keys = [key.split("\0")[0] for key, _ in entries[1:]]
    images = ["00.png", "01.png", "broken.png", "linked.png", "new\nline.png", "sub/deeper.png"]
    expected = [IMAGE_TAG + n for n in images] + [SKIPPED_TAG + "notes.txt"]
    expected.append(IMAGE_TAG + "we\\ird name..png")
    assert sorted(keys) == sorted(expected)
    relative = [key.split(":", 1)[1] for key in keys]  # in the loader's order: by parts
    assert relative == sorted(relative, key=lambda r: PurePosixPath(r).parts)
    bundled = TrainRequest(
        family=GMM, preset="custom", dataset=DatasetRef("digits"), output="x.safetensors"
    )
    assert data_entries(bundled) == []
    missing = TrainRequest(
        family=GMM, preset="custom", dataset=DatasetRef(str(tmp_path / "no")), output="x"
    )
    with pytest.raises(BadInput, match="There is no data set called"):
        data_entries(missing)  # the loader's words: the job ends before a worker is asked


@pytest.mark.parametrize(
    "name",
    ["../escaped.png", "../../escaped.png", "/tmp/escaped.png", "a/../../escaped.png",
     "./x.png", "a//x.png", "", ".", "..", "sub/"],
)  # fmt: skip
def test_a_hostile_data_name_sent_to_a_worker_is_refused_and_nothing_is_written(tmp_path, name):
    from engine.cluster.data_files import FOLDER_TAG, IMAGE_TAG
    from engine.cluster.scratch_runs import train_in_scratch

    cached = tmp_path / "cache" / "a.png"
    picture(cached, 1)
    root = tmp_path / "work" / "cluster-scratch"
    request = TrainRequest(
        family=GMM,
        preset="custom",
        dataset=DatasetRef("/home/user/pics"),
        output="/u/run.safetensors",
    )
    placed = {
        f"{FOLDER_TAG}pics\0/home/user/pics": "",
        f"{IMAGE_TAG}{name}\0/home/user/x": str(cached),
    }

    def never(_request):
        raise AssertionError("the run must not start")

    with pytest.raises(BadInput) as refused:
        train_in_scratch(request, root, never, request, placed)
    assert f"sent a data file named {name!r}" in refused.value.message
    assert list(root.iterdir()) == []  # the run's scratch, laid-out data and all, is gone
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [cached]


def test_a_folder_the_driver_did_not_list_is_never_read_on_the_worker(tmp_path):
    """A worker with a folder at the user's path of its own reads nothing of it."""
    from engine.cluster.scratch_runs import train_in_scratch

    own = tmp_path / "pics"
    picture(own / "0.png", 0)
    request = TrainRequest(
        family=GMM, preset="custom", dataset=DatasetRef(str(own)), output="/u/run.safetensors"
    )
    read = []

    def run(here):
        read.append(Path(here.dataset.name))
        return ModelOutcome(here.output, 0)

    train_in_scratch(request, tmp_path / "scratch", run, request, {})
    assert read and not read[0].exists() and read[0].is_relative_to(tmp_path / "scratch")


@pytest.mark.parametrize(
    ("name", "member"),
    [("../escaped.png", ""), ("/tmp/escaped.png", ""), ("..", ""), ("model", "../x"),
     ("model", "a/../../x"), ("model", "/abs")],
)  # fmt: skip
def test_the_worker_cache_refuses_a_name_that_would_leave_it(tmp_path, name, member):
    import hashlib

    from engine.api.errors import BadModelFile
    from engine.cluster.model_shipping import Manifest, ManifestFile
    from engine.cluster.model_store import ModelStore

    data = b"bytes"
    sha = hashlib.sha256(data).hexdigest()
    manifest = Manifest(name, sha, (ManifestFile(member, len(data), sha),))
    store = ModelStore(tmp_path / "cache" / "root")
    with pytest.raises(BadModelFile, match="not a plain path inside its cache folder"):
        store.receive(manifest, [data])
    assert [p for p in tmp_path.rglob("*") if p.is_file() and ".sqlite3" not in p.name] == []
