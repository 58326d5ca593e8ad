"""Hostile and unlucky input to the command line and the gallery store (issue 19, §6):
each ends in one sentence, nothing outside the chosen folder is touched, and nothing
half-written or left over stays."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from engine.store import GalleryStore, StoreError

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources" / "models"


def run_main(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    return lines[0]


# ---------------------------------------------------------------- deeply nested JSON


def deep_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def safetensors_with_header(path: Path, header: str) -> Path:
    raw = header.encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "--model", "{file}", "--out", "{out}"],
        [
            "interpolate",
            "--model",
            "{file}",
            "--from-seed",
            "1",
            "--to-seed",
            "2",
            "--out",
            "{out}",
        ],
        ["diffuse", "--model", "{file}", "--out", "{out}"],
        ["score", "--model", "{file}"],
    ],
)
def test_a_header_of_nested_arrays_is_a_sentence_not_a_recursion_error(tmp_path, args):
    file = safetensors_with_header(tmp_path / "deep.safetensors", '{"a":' + deep_json() + "}")
    out = tmp_path / "out"
    result = run_main(*[a.format(file=file, out=out) for a in args])
    assert result.returncode == 2
    assert "deep.safetensors" in one_error_line(result)
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_record_of_nested_arrays_is_a_sentence_not_a_recursion_error(tmp_path):
    # Our own record, where the app reads the family from: inside the header's metadata,
    # and in the JSON file beside the weights.
    metadata = json.dumps({"__metadata__": {"latentstudio": deep_json()}})
    file = safetensors_with_header(tmp_path / "deep.safetensors", metadata)
    file.with_suffix(".json").write_text(deep_json())
    result = run_main("sample", "--model", str(file), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "deep.safetensors" in one_error_line(result)


def test_the_library_lists_a_nested_header_as_unusable(tmp_path):
    from engine.library.scan import scan_library

    folder = tmp_path / "models" / "Stable-diffusion"
    folder.mkdir(parents=True)
    safetensors_with_header(folder / "deep.safetensors", '{"a":' + deep_json() + "}")
    (tmp_path / "models" / "diffusers-deep").mkdir()
    (tmp_path / "models" / "diffusers-deep" / "model_index.json").write_text(deep_json())
    entries = scan_library([tmp_path / "models"])  # must not raise
    assert {e.path.name for e in entries} <= {"deep.safetensors", "diffusers-deep"}


# ---------------------------------------------------------------- output folders


@pytest.mark.parametrize(
    ("out", "words"),
    [
        ("a" * 300, "at most 255"),
        ("/".join(["b" * 200] * 25), "too long"),
        ("nul\0here", "NUL"),
    ],
)
def test_an_output_path_the_system_refuses_is_a_sentence(tmp_path, out, words):
    if "\0" in out:  # a NUL cannot cross exec(): the store's own check, in this process
        from engine.store import check_output_folder

        with pytest.raises(StoreError, match=words):
            check_output_folder(Path(out))
        return
    result = run_main("sample", "--count", "1", "--out", str(tmp_path / out))
    assert result.returncode == 2
    assert words in one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_gallery_folder_is_refused_and_nothing_is_indexed_here(tmp_path):
    result = run_main("gallery", "--out", "", cwd=tmp_path)
    assert result.returncode == 2
    assert "empty" in one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_a_day_folder_that_links_out_of_the_gallery_is_refused_before_writing(tmp_path):
    gallery, elsewhere = tmp_path / "gallery", tmp_path / "elsewhere"
    gallery.mkdir()
    elsewhere.mkdir()
    (gallery / datetime.now().strftime("%Y-%m-%d")).symlink_to(elsewhere)
    result = run_main("sample", "--count", "3", "--out", str(gallery))
    assert result.returncode == 2
    assert "outside the output folder" in one_error_line(result)
    assert list(elsewhere.iterdir()) == []


def test_the_store_itself_will_not_save_through_a_day_folder_link(tmp_path):
    from engine.api.outcomes import ResultImage
    from tests.test_store_hostile import request

    gallery, elsewhere = tmp_path / "gallery", tmp_path / "elsewhere"
    gallery.mkdir()
    elsewhere.mkdir()
    import numpy as np

    with GalleryStore(gallery) as store:
        (gallery / datetime.now().strftime("%Y-%m-%d")).symlink_to(elsewhere)
        rgb = np.zeros((8, 8, 3), np.uint8)
        with pytest.raises(StoreError, match="outside the output folder"):
            store.save(ResultImage(rgb, 1, 0), request())
    assert list(elsewhere.iterdir()) == []


# ---------------------------------------------------------------- a full disk, for real


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


full_disk = pytest.mark.skipif(
    not _can_mount_tmpfs(), reason="needs user namespaces to mount a small tmpfs"
)


def on_full_disk(tmp_path: Path, size_kb: int, *args: str) -> tuple[int, str, list[str]]:
    """Run main.py with `{disk}` in its arguments on a tmpfs of `size_kb`, in a mount
    namespace of its own (unprivileged); returns the exit code, stderr and every file
    left on that disk afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    command = " ".join(
        [sys.executable, str(ROOT / "main.py"), *(f"'{a.format(disk=disk)}'" for a in args)]
    )
    script = (
        f"mount -t tmpfs -o size={size_kb}k none {disk} && {command} 2>{tmp_path}/err; "
        f"echo $? > {tmp_path}/rc; find {disk} -type f > {tmp_path}/files"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, env=env, timeout=300)
    files = (tmp_path / "files").read_text().split()
    return int((tmp_path / "rc").read_text()), (tmp_path / "err").read_text(), files


@full_disk
def test_sampling_onto_a_full_disk_stops_at_the_first_failure_with_one_sentence(tmp_path):
    # 192 kB: an empty index (schema 3: FTS5, marks, boards) takes ~110 kB of it with its
    # WAL and shared memory, and some pictures must fit before the disk fills.
    code, err, files = on_full_disk(
        tmp_path, 192, "sample", "--count", "256", "--seed", "1", "--out", "{disk}/gallery"
    )
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, lines
    assert "the disk is full" in lines[0] and "not saved" in lines[0]
    names = [Path(f).name for f in files]
    assert not [n for n in names if n.endswith((".reserved", ".tmp"))], names
    pngs = [n for n in names if n.endswith(".png")]
    assert 0 < len(pngs) < 256


@full_disk
def test_converting_onto_a_full_disk_is_a_sentence_and_leaves_nothing(tmp_path):
    import torch

    source = tmp_path / "big.ckpt"
    torch.save({"weight": torch.zeros(200, 1000)}, source)  # 800 kB
    code, err, files = on_full_disk(tmp_path, 96, "convert", str(source), "--out", "{disk}/c")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "the disk is full" in lines[0], lines
    assert files == []


# ---------------------------------------------------------------- convert and models


def test_convert_names_a_folder_as_a_folder(tmp_path):
    result = run_main("convert", str(tmp_path))
    assert result.returncode == 2
    assert "is a folder" in one_error_line(result)


def test_convert_refuses_an_out_that_is_a_file(tmp_path):
    import torch

    source = tmp_path / "model.ckpt"
    torch.save({"weight": torch.zeros(2, 2)}, source)
    result = run_main("convert", str(source), "--out", str(source))
    assert result.returncode == 2
    assert "is a file" in one_error_line(result)
    assert torch.load(source, weights_only=True)["weight"].shape == (2, 2)


@pytest.mark.parametrize(("folder", "words"), [("", "empty"), ("/nonexistent", "not a folder")])
def test_models_refuses_a_folder_that_is_not_there(folder, words):
    result = run_main("models", "--dir", folder)
    assert result.returncode == 2
    assert words in one_error_line(result)


def test_models_does_not_follow_links_out_of_the_folder(tmp_path):
    from engine.library.scan import scan_library
    from tests.upscalers import compact_net, save_safetensors  # a real upscaler, tiny

    library, outside = tmp_path / "library", tmp_path / "outside"
    (library / "ESRGAN").mkdir(parents=True)
    outside.mkdir()
    save_safetensors(compact_net(), outside / "far.safetensors")
    save_safetensors(compact_net(), library / "ESRGAN" / "near.safetensors")
    (library / "ESRGAN" / "linked-in").symlink_to(library / "ESRGAN")  # a loop, inside
    (library / "elsewhere").symlink_to(outside)
    names = sorted(e.path.name for e in scan_library([library]))
    assert names == ["near.safetensors"]


def test_models_in_proc_self_is_no_traceback():
    result = run_main("models", "--dir", "/proc/self")
    assert "Traceback" not in result.stderr
    assert result.returncode == 0


# ---------------------------------------------------------------- the store's delete


def test_delete_refuses_the_gallery_index_and_folders(tmp_path, trash):
    from engine.store import INDEX_NAME

    with GalleryStore.opened(tmp_path) as store:
        day = tmp_path / "2026-01-01"
        day.mkdir()
        for path in (tmp_path / INDEX_NAME, day):
            with pytest.raises(StoreError, match="not|own files"):
                store.delete(path)
        assert (tmp_path / INDEX_NAME).is_file() and day.is_dir()
    assert not trash.exists()


def test_delete_of_a_name_with_a_nul_is_the_stores_error(tmp_path):
    with GalleryStore(tmp_path) as store, pytest.raises(StoreError, match="NUL"):
        store.delete(Path("a\0b.png"))


# ---------------------------------------------------------------- the app and its settings


def test_a_five_megabyte_output_folder_in_settings_does_not_break_the_app(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.ini").write_text("[General]\noutput_dir=/tmp/" + "a" * 5_000_000 + "\n")
    result = run_main(
        "--quit-when-shown",
        LATENTSTUDIO_CONFIG_DIR=str(config),
        LATENTSTUDIO_DATA_DIR=str(tmp_path / "data"),
    )
    assert result.returncode == 0
    assert "Traceback" not in result.stderr, result.stderr[-2000:]


# ---------------------------------------------------------------- what the CLI says


def bundled_names(*families: str) -> list[str]:
    """The bundled models, read from their records (the oracle: the files themselves)."""
    records = {p.stem: json.loads(p.read_text()) for p in RESOURCES.glob("*.json")}
    return sorted(name for name, r in records.items() if r.get("family") in families)


@pytest.mark.parametrize(
    ("command", "families", "defaults"),
    [
        ("sample", ("vae", "gan", "ddpm"), ["default: vae-digits", "default: 16"]),
        ("interpolate", ("vae", "gan"), ["default: gan-digits", "default: 8.0"]),
        ("diffuse", ("ddpm",), ["default: ddpm-digits", "default: 50"]),
        ("upscale", ("upscale",), []),
        ("generate", (), ["default: 20", "default: 7.0", "default: 512"]),
    ],
)
def test_help_names_the_defaults_and_the_bundled_models(command, families, defaults):
    result = run_main(command, "--help", COLUMNS="400")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for name in bundled_names(*families):
        assert name in text, name
    for words in defaults:
        assert words in text, words


def test_gallery_check_says_so_when_all_is_well(tmp_path):
    result = run_main("gallery", "--out", str(tmp_path), "--check")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"consistent": True, "images": 0}


def test_an_unknown_model_name_is_not_called_a_missing_folder(tmp_path):
    result = run_main("generate", "--model", "juggernaut", "--prompt", "x", "--out", str(tmp_path))
    assert result.returncode == 2
    line = one_error_line(result)
    assert "no Stable Diffusion model called 'juggernaut'" in line
    assert "folder juggernaut does not exist" not in line


def test_train_without_out_goes_where_the_lab_lists_it_and_never_overwrites(tmp_path):
    data = tmp_path / "data"
    env = {"LATENTSTUDIO_DATA_DIR": str(data)}
    for _ in range(2):
        result = run_main("train", "--model", "vae", "--steps", "2", **env)
        assert result.returncode == 0, result.stderr
    models = data / "models"
    assert sorted(p.name for p in models.glob("*.safetensors") if ".train." not in p.name) == [
        "vae-digits-2.safetensors",
        "vae-digits.safetensors",
    ]
    listing = subprocess.run(
        [
            sys.executable,
            "-c",
            "from engine.api.catalogue import lab_models as m;"
            "print('\\n'.join(str(e.path) for e in m()))",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert str(models / "vae-digits.safetensors") in listing
