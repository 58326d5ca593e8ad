"""Prompts from a file: each format read against literal expectations, bad lines named by
number while the rest run, and a batch stopped halfway resumed with every line made
exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import main
from engine.api.serialize import to_data
from engine.batch.batch_file import BadLine, BatchLine, read_batch
from engine.batch.batch_journal import BatchJournal, journal_path
from engine.batch.batch_plan import BatchSettings, plan_batch
from engine.commands import build_parser, generate_request
from engine.store import read_metadata

MODEL = "/models/fox.safetensors"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_text_file_in_a1111s_line_syntax(tmp_path):
    path = write(
        tmp_path,
        "prompts.txt",
        "a red fox\n"
        "\n"
        "# a comment\n"
        '--prompt a blue fox --negative_prompt "ugly, blurry" --seed 5 --steps 20 '
        "--cfg_scale 6.5 --sampler_name 'Euler a' --width 64 --height 48\n"
        "--prompt 'quoted, words' --batch_size 2 --subseed 9 --subseed_strength 0.25\n",
    )
    assert read_batch(path) == (
        [
            BatchLine(1, {"prompt": "a red fox"}),
            BatchLine(
                4,
                {
                    "prompt": "a blue fox",
                    "negative": "ugly, blurry",
                    "seed": 5,
                    "steps": 20,
                    "cfg": 6.5,
                    "sampler": "Euler a",
                    "width": 64,
                    "height": 48,
                },
            ),
            BatchLine(
                5,
                {
                    "prompt": "quoted, words",
                    "batch": 2,
                    "variation_seed": 9,
                    "variation_strength": 0.25,
                },
            ),
        ],
        [],
    )


def test_a_csv_file_names_the_options_in_its_header(tmp_path):
    path = write(
        tmp_path,
        "prompts.csv",
        'prompt,seed,--steps,cfg_scale,clip-skip\n"a fox, red",5,20,,2\n,,,,\nwolf,,,7,\n',
    )
    assert read_batch(path) == (
        [
            BatchLine(2, {"prompt": "a fox, red", "seed": 5, "steps": 20, "clip_skip": 2}),
            BatchLine(4, {"prompt": "wolf", "cfg": 7.0}),
        ],
        [],
    )


def test_a_jsonl_file_holds_an_object_a_line(tmp_path):
    path = write(
        tmp_path,
        "prompts.jsonl",
        '{"prompt": "fox", "seed": 5, "cfg": 6}\n\n{"prompt": "owl", "lora_dir": ["a", "b"]}\n',
    )
    assert read_batch(path) == (
        [
            BatchLine(1, {"prompt": "fox", "seed": 5, "cfg": 6.0}),
            BatchLine(3, {"prompt": "owl", "lora_dir": ["a", "b"]}),
        ],
        [],
    )


@pytest.mark.parametrize(
    "name, text, bad",
    [
        (
            "b.txt",
            "fine\n--seed many\n--bogus 1\n--out /tmp\n--prompt 'open\nfine too\n",
            [
                BadLine(2, "Argument --seed: invalid int value: 'many'."),
                BadLine(3, "Unrecognized arguments: --bogus 1."),
                BadLine(4, "--out is set once for the whole batch, on the command line."),
                BadLine(5, "The line cannot be split into options: No closing quotation."),
            ],
        ),
        (
            "b.jsonl",
            '{"prompt": "fine"}\n[1]\n{oops\n{"prompt": {"a": 1}}\n',
            [
                BadLine(2, 'The line is not a JSON object ({"prompt": …}).'),
                BadLine(
                    3,
                    "The line is not JSON: Expecting property name enclosed in double quotes: "
                    "line 1 column 2 (char 1).",
                ),
                BadLine(4, "--prompt's value is not a number, a word or true/false."),
            ],
        ),
        (
            "b.csv",
            "prompt,steps\nfine,3\nbad,three\nfine,4,extra\n",
            [
                BadLine(3, "Argument --steps: invalid int value: 'three'."),
                BadLine(4, "The row has 3 cells but the header names 2."),
            ],
        ),
    ],
)
def test_bad_lines_are_named_by_number_and_the_rest_are_read(tmp_path, name, text, bad):
    lines, found = read_batch(write(tmp_path, name, text))
    assert found == bad
    assert [line.options["prompt"] for line in lines][:1] == ["fine"]
    assert len(lines) == (2 if name == "b.txt" else 1)


def defaults(*argv: str):
    return build_parser().parse_args(["batch", "FILE", "--out", "OUT", *argv])


def test_command_line_options_apply_to_lines_that_do_not_set_them():
    lines = [BatchLine(1, {"prompt": "fox"}), BatchLine(2, {"prompt": "owl", "steps": 3})]
    settings = BatchSettings(defaults("--model", MODEL, "--steps", "9", "--seed", "4"), 100)
    jobs, bad = plan_batch(lines, settings)
    assert bad == []
    assert [(j.line, j.request.sampling.steps, j.request.sampling.seed) for j in jobs] == [
        (1, 9, 4),
        (2, 3, 4),
    ]
    # A line with no wildcard is exactly generate's request: its recipe is unchanged.
    alone = build_parser().parse_args(
        ["generate", "--model", MODEL, "--prompt", "fox", "--steps", "9", "--seed", "4"]
        + ["--out", "OUT"]
    )
    assert to_data(jobs[0].request) == to_data(generate_request(alone))


def test_a_line_without_a_seed_takes_the_batch_seed_plus_its_number():
    lines = [BatchLine(3, {"prompt": "fox"}), BatchLine(7, {"prompt": "owl", "seed": 1})]
    jobs, _ = plan_batch(lines, BatchSettings(defaults("--model", MODEL), 1000))
    assert [j.request.sampling.seed for j in jobs] == [1003, 1]


def test_wildcards_and_the_matrix_in_a_batch(tmp_path):
    lines = [BatchLine(1, {"prompt": "a {red|blue} fox|night", "seed": 11})]
    settings = BatchSettings(defaults("--model", MODEL), 0, tmp_path, matrix=True)
    jobs, _ = plan_batch(lines, settings)
    colour = jobs[0].request.prompt.positive.split()[1]
    assert colour in ("red", "blue")
    assert [j.request.prompt.positive for j in jobs] == [
        f"a {colour} fox",
        f"a {colour} fox, night",
    ]
    assert [j.request.prompt_template for j in jobs] == [
        "a {red|blue} fox",
        "a {red|blue} fox, night",
    ]
    assert {j.request.sampling.seed for j in jobs} == {11}  # the image seed is the line's
    assert len({j.key for j in jobs}) == 2


def test_a_line_that_makes_no_request_is_a_bad_line():
    lines = [BatchLine(1, {"prompt": "fox"}), BatchLine(2, {"prompt": "fox", "width": 500})]
    jobs, bad = plan_batch(lines, BatchSettings(defaults("--model", MODEL), 0))
    assert [j.line for j in jobs] == [1]
    assert bad == [BadLine(2, "Width 500 is not a multiple of 8; the nearest that works is 504.")]
    jobs, bad = plan_batch(lines[:1], BatchSettings(defaults(), 0))
    assert bad == [BadLine(1, "No model: set --model on the line or on the command line.")]


def test_a_damaged_or_foreign_journal_is_set_aside_and_the_batch_starts_over(tmp_path):
    path = journal_path(tmp_path, tmp_path / "b.txt")
    path.parent.mkdir()
    for text in (b"\xff\xfe", b'{"journal": "something else"}\n', b"[" * 100_000):
        path.write_bytes(text)
        journal = BatchJournal(path)
        assert journal.done == set() and "starts over" in journal.warning
        assert not path.exists() and path.with_name(path.name + ".unreadable").exists()
    journal.record("a" * 64, 1, [])
    journal.record("b" * 64, 2, [])
    with path.open("a") as file:
        file.write('{"line": 3, "key": "c')  # cut short by a crash
    again = BatchJournal(path)
    assert (again.done, again.batch_seed, again.warning) == (
        {"a" * 64, "b" * 64},
        journal.batch_seed,
        "",
    )


# ---------------------------------------------------------------- end to end


def run_batch(capsys, batch: Path, out: Path, model: Path) -> tuple[int, list[dict], str]:
    code = main.main(
        ["batch", str(batch), "--model", str(model), "--steps", "2", "--width", "32"]
        + ["--height", "32", "--out", str(out), "--device", "cpu"]
    )
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines() if x.startswith("{")]
    return code, lines, captured.err


def test_bad_lines_are_reported_and_the_rest_run_and_a_stopped_batch_resumes(
    tmp_path, tiny_sd_model, capsys, monkeypatch
):
    from engine.runtime import Runtime

    batch = write(
        tmp_path,
        "b.txt",
        "a red fox\n--prompt an owl --seed 5\n--steps lots\na {cat|dog}\n"
        "--prompt x --width 500\nthe sea\n",
    )
    out = tmp_path / "out"
    real_run = Runtime.run
    calls = []

    def stop_after_two(self, request, ctx):
        calls.append(request)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_run(self, request, ctx)

    monkeypatch.setattr(Runtime, "run", stop_after_two)
    code, first, err = run_batch(capsys, batch, out, tiny_sd_model)
    assert code == 130 and "run the same command again" in err.lower()
    assert "b.txt: line 3: Argument --steps: invalid int value: 'lots'." in err
    assert "b.txt: line 5: Width 500 is not a multiple of 8" in err
    assert [x["line"] for x in first] == [1, 2]

    monkeypatch.setattr(Runtime, "run", real_run)
    code, second, err = run_batch(capsys, batch, out, tiny_sd_model)
    assert code == 1  # the bad lines are still bad; everything else is made
    assert "Resuming: 2 of 4 pictures were made before." in err
    assert "batch: 4/4 pictures" in err
    assert [x["line"] for x in second] == [4, 6]
    pictures = sorted(out.rglob("*.png"))
    assert len(pictures) == 4  # each good line exactly once over the two runs
    assert sorted(Path(x["path"]) for x in first + second) == pictures
    recipe = read_metadata(Path(second[0]["path"])).request
    assert recipe.prompt_template == "a {cat|dog}"
    assert recipe.prompt.positive in ("a cat", "a dog")

    code, third, err = run_batch(capsys, batch, out, tiny_sd_model)
    assert (code, third) == (1, [])  # nothing is made twice
    # A line edited since is another job: its key is not in the journal, the others are.
    done = BatchJournal(journal_path(out, batch)).done
    edited = [BatchLine(6, {"prompt": "the sea at night"}), BatchLine(6, {"prompt": "the sea"})]
    options = defaults("--model", str(tiny_sd_model), "--steps", "2", "--width", "32")
    options.height = 32  # as run_batch gives them
    settings = BatchSettings(options, BatchJournal(journal_path(out, batch)).batch_seed)
    keys = [job.key in done for job in plan_batch(edited, settings)[0]]
    assert keys == [False, True]


def test_a_line_whose_source_image_is_broken_is_a_bad_line(tmp_path, tiny_sd_model, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture at all")
    batch = write(tmp_path, "b.txt", f"--prompt x --image {broken}\na red fox\n")
    code, made, err = run_batch(capsys, batch, tmp_path / "out", tiny_sd_model)
    assert code == 1
    assert [x["line"] for x in made] == [2]
    assert f"b.txt: line 1: The source image {broken} cannot be read as an image" in err


def test_a_job_that_fails_when_run_is_reported_and_the_next_runs(
    tmp_path, tiny_sd_model, capsys, monkeypatch
):
    from engine.api.errors import BadModelFile
    from engine.runtime import Runtime

    real_run = Runtime.run

    def first_fails(self, request, ctx):
        if request.prompt.positive == "first":
            raise BadModelFile("The model file is damaged.")
        return real_run(self, request, ctx)

    monkeypatch.setattr(Runtime, "run", first_fails)
    batch = write(tmp_path, "b.txt", "first\nsecond\n")
    code, made, err = run_batch(capsys, batch, tmp_path / "out", tiny_sd_model)
    assert (code, [x["line"] for x in made]) == (1, [2])
    assert "b.txt: line 1: The model file is damaged." in err
    entries = (tmp_path / "out").glob(".batches/*.jsonl")
    lines = [json.loads(x) for x in next(entries).read_text().splitlines()[1:]]
    assert [x["line"] for x in lines] == [2]  # the failed line is not done: a re-run makes it


@pytest.mark.parametrize("text", ["", "# only a comment\n\n"])
def test_a_file_with_no_jobs_is_a_sentence(tmp_path, capsys, text):
    batch = write(tmp_path, "empty.txt", text)
    code, made, err = run_batch(capsys, batch, tmp_path / "out", tmp_path / "model")
    assert (code, made) == (2, [])
    assert err == f"error: {batch} has no jobs: write a prompt a line.\n"
    assert not (tmp_path / "out").exists()  # nothing is created for nothing


def test_a_missing_model_is_a_bad_line_and_no_folder_is_made(tmp_path, capsys):
    batch = write(tmp_path, "b.txt", "a fox\n")
    code, made, err = run_batch(capsys, batch, tmp_path / "out", tmp_path / "no-model")
    assert (code, made) == (2, [])
    assert err.startswith("b.txt: line 1: ")
    assert not (tmp_path / "out").exists()
