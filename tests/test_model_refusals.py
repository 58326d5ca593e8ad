"""A model file that is refused says why in one readable sentence (issue 19: the CLI
pasted torch's own paragraph, cut mid-sentence, colour codes and all)."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from engine.api.errors import BadModelFile
from engine.models.upscale import files
from tests.test_cli import run_main
from tests.upscalers import compact_net, photo_like, write_png


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def readable(message: str) -> bool:
    """One line, whole sentences, brackets closed, nothing meant for a terminal."""
    return (
        "\n" not in message.strip()
        and "\x1b" not in message
        and message.strip().endswith(".")
        and message.count("(") == message.count(")")
        and "PyTorch 2.6" not in message
    )


def test_the_cli_names_the_call_a_pickle_would_make(tmp_path):
    evil = tmp_path / "4x-evil.pth"
    state = compact_net().state_dict()
    state["payload"] = _RunsCode()
    torch.save(state, str(evil))
    image = write_png(tmp_path / "in.png", photo_like(8, 8))
    result = run_main("upscale", "--model", str(evil), str(image), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    [line] = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "would run code it contains (it calls posix.system)" in line
    assert readable(line)


@pytest.mark.parametrize(
    ("torch_says", "we_say"),
    [
        (  # a torch that colours its message, the reason on its own line
            "\x1b[1mWeights only load failed.\x1b[0m In PyTorch 2.6, we changed the default. "
            "Do it only if you got the file from a trusted source.\n\x1b[31mWeightsUnpickler "
            "error: Unsupported operand 149\x1b[0m\n\nCheck the documentation of torch.load.",
            "(Unsupported operand 149)",
        ),
        ("not a pickle at all, " + "and a very long explanation " * 12, "…)"),
    ],
)
def test_a_damaged_pickle_gets_torchs_reason_only(tmp_path, monkeypatch, torch_says, we_say):
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"\x80\x04 whatever")

    def refuse(*_args, **_kwargs):
        raise pickle.UnpicklingError(torch_says)

    monkeypatch.setattr(files.torch, "load", refuse)
    with pytest.raises(BadModelFile) as refused:
        files.read_state_dict(broken)
    assert we_say in refused.value.message and readable(refused.value.message)
