"""`generate --cluster` with wildcards (issue 25), on a real local Ray cluster
(conftest's `cluster`): the batch's pictures, each its own prompt, fan out over the workers
and are the pictures, recipes included, that the same command makes here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install .[cluster]")

import main  # noqa: E402
from engine.store import read_metadata  # noqa: E402
from tests.test_cli_wildcards import NEGATIVE, TEMPLATE, argv, expected  # noqa: E402
from tests.test_cluster import pixels_of  # noqa: E402


def test_a_wildcard_batch_on_the_cluster_is_the_batch_made_here(
    cluster, tiny_sd_model, tmp_path, capsys
):
    folder = tmp_path / "wildcards"
    folder.mkdir()
    (folder / "places.txt").write_text("in the snow\non the beach\n")

    def run(out: str, *extra: str) -> dict[int, dict]:
        more = ["--prompt", TEMPLATE, "--negative", NEGATIVE, "--batch", "3"]
        more += ["--wildcards", str(folder), "--device", "cpu", *extra]
        assert main.main(argv(tiny_sd_model, tmp_path / out, *more)) == 0
        lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x[:1] == "{"]
        return {line["seed"]: line for line in lines}

    here = run("here")
    there = run("there", "--cluster", cluster)
    assert sorted(here) == sorted(there) == [100, 101, 102]
    for seed in here:
        recipe = read_metadata(Path(there[seed]["path"])).request
        assert (recipe.prompt.positive, recipe.prompt.negative) == expected(seed)
        assert recipe == read_metadata(Path(here[seed]["path"])).request
        np.testing.assert_array_equal(pixels_of(there[seed]["path"]), pixels_of(here[seed]["path"]))
