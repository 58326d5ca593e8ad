"""`main.py generate` expands wildcards as the Create tab does (issue 25): a batch of n
from seed s is n pictures of seeds s … s+n-1, each choosing from its own seed, each
recipe keeping the template and the prompt as chosen.

Two oracles for each picture's choice: Create's own path (engine.batch.wildcard_requests,
the module gui/viewmodels/create.py submits through), and the draw replicated here from
the rule engine.batch.wildcards documents (a numpy stream seeded with [tag, seed]:
`{a|b|c}` takes `choice(3, 1)`, then `__name__` takes `integers(len(lines))`), as
tests/test_create_wildcards.py builds it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine.api.requests import Txt2ImgRequest
from engine.store import read_metadata

TAG = 0x57494C44  # the stream's tag, as engine.batch.wildcards documents it
LETTERS = ["a", "b", "c"]
PLACES = ["in the snow", "on the beach"]
TEMPLATE = "a {a|b|c} fox, __places__"
NEGATIVE = "{blurry|dark}"


def expected(seed: int) -> tuple[str, str]:
    """TEMPLATE and NEGATIVE as `seed` chooses them, drawn independently."""
    rng = np.random.default_rng([TAG, seed])
    letter = LETTERS[int(rng.choice(3, size=1, replace=False)[0])]
    place = PLACES[int(rng.integers(2))]
    negative = ["blurry", "dark"][int(np.random.default_rng([TAG, seed]).choice(2, 1, False)[0])]
    return f"a {letter} fox, {place}", negative


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "wildcards"
    root.mkdir()
    (root / "places.txt").write_text("# where\nin the snow\n\non the beach\n")
    return root


def argv(model: Path, out: Path, *more: str) -> list[str]:
    return [
        "generate", "--model", str(model), "--seed", "100", "--steps", "1",
        "--width", "32", "--height", "32", "--out", str(out), *more,
    ]  # fmt: skip


def in_process(capsys, args: list[str]) -> subprocess.CompletedProcess:
    import main

    code = main.main(args)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


def test_generate_chooses_per_picture_as_create_does(tmp_path, folder):
    from engine.batch.wildcard_listing import read_wildcard_folder
    from engine.batch.wildcard_requests import picture_requests
    from engine.cli_generate import generate_request
    from engine.cli_generate_job import generate_job_requests
    from engine.commands import build_parser

    wanted = ["--prompt", TEMPLATE, "--negative", NEGATIVE, "--batch", "3"]
    wanted += ["--wildcards", str(folder), "--lora-dir", str(tmp_path / "no-loras")]
    args = build_parser().parse_args(argv(tmp_path / "m.safetensors", tmp_path, *wanted))
    made = generate_job_requests(args)
    create = picture_requests(generate_request(args), folder, read_wildcard_folder(folder))
    assert made == create
    assert [r.sampling.seed for r in made] == [100, 101, 102]
    for request in made:
        assert isinstance(request, Txt2ImgRequest) and request.batch_size == 1
        chosen = (request.prompt.positive, request.prompt.negative)
        assert chosen == expected(request.sampling.seed)
        assert (request.prompt_template, request.negative_template) == (TEMPLATE, NEGATIVE)
    assert len({r.prompt for r in made}) > 1  # the seeds choose differently here


def test_the_default_folder_is_the_app_data_folders_as_batch_reads_it(
    tmp_path, folder, monkeypatch
):
    from engine.cli_generate_job import generate_job_requests
    from engine.commands import build_parser

    data = tmp_path / "data"
    (data / "wildcards").mkdir(parents=True)
    (data / "wildcards" / "places.txt").write_text("on the moon\n")
    monkeypatch.setenv("LATENTSTUDIO_DATA_DIR", str(data))
    more = ["--prompt", "a fox __places__", "--lora-dir", str(tmp_path / "no-loras")]
    args = build_parser().parse_args(argv(tmp_path / "m.safetensors", tmp_path, *more))
    [request] = generate_job_requests(args)
    assert request.prompt.positive == "a fox on the moon"
    assert request.prompt_template == "a fox __places__"


def test_generate_saves_each_picture_with_its_choice_and_the_template(
    tmp_path, folder, tiny_sd_model, capsys
):
    out = tmp_path / "out"
    more = ["--prompt", TEMPLATE, "--negative", NEGATIVE, "--batch", "3"]
    result = in_process(capsys, argv(tiny_sd_model, out, *more, "--wildcards", str(folder)))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line[:1] == "{"]
    assert sorted(line["seed"] for line in lines) == [100, 101, 102]
    for line in lines:
        recipe = read_metadata(Path(line["path"])).request
        assert (recipe.prompt.positive, recipe.prompt.negative) == expected(line["seed"])
        assert (recipe.prompt_template, recipe.negative_template) == (TEMPLATE, NEGATIVE)
        assert (recipe.sampling.seed, recipe.batch_size) == (line["seed"], 1)


def test_an_unknown_name_is_the_sentence_create_shows_and_nothing_runs(
    tmp_path, folder, tiny_sd_model, capsys
):
    from engine.batch.wildcard_check import wildcard_problem
    from engine.batch.wildcard_listing import read_wildcard_folder

    out = tmp_path / "out"
    prompt = "a {red|__colours__} fox"
    result = in_process(
        capsys, argv(tiny_sd_model, out, "--prompt", prompt, "--wildcards", str(folder))
    )
    sentence = (
        f"There is no wildcard file colours.txt in {folder}: add it there, or write "
        "\\_\\_colours\\_\\_ for the text itself."
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"error: {sentence}"]
    # What Create's prompt shows for the same text (gui/prompt_section.py's check).
    assert wildcard_problem(prompt, folder, read_wildcard_folder(folder)) == sentence
    assert not out.exists()
