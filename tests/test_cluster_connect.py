"""Which clusters the app will use (no Ray needed): addresses read, and a cluster without
authentication refused off this computer, with a sentence."""

from __future__ import annotations

import dataclasses

import pytest

from engine.api.errors import BadInput
from engine.cluster.connect import chosen_address, parse_address, refuse_without_auth


@pytest.mark.parametrize(
    ("text", "host", "loopback"),
    [
        ("ray://10.0.0.5:10001", "10.0.0.5", False),
        ("gpu-box.lan:6379", "gpu-box.lan", False),
        ("ray://127.0.0.1:10001", "127.0.0.1", True),
        ("ray://[::1]:10001", "[::1]", True),
        ("localhost:6379", "localhost", True),
        ("local", "", True),
    ],
)
def test_addresses_are_read_with_their_host(text, host, loopback):
    address = parse_address(text)
    assert (address.host, address.on_loopback) == (host, loopback)


@pytest.mark.parametrize("text", ["gpu-box", "ray://:10001", "ray://host:port", ""])
def test_a_malformed_address_is_refused_with_the_forms_that_work(text):
    with pytest.raises(BadInput, match="ray://HOST:PORT"):
        parse_address(text)


def test_a_cluster_without_authentication_is_refused_off_loopback_only():
    with pytest.raises(BadInput, match="token authentication"):
        refuse_without_auth(parse_address("ray://10.0.0.5:10001"), token_auth=False)
    refuse_without_auth(parse_address("ray://10.0.0.5:10001"), token_auth=True)
    refuse_without_auth(parse_address("ray://127.0.0.1:10001"), token_auth=False)


def test_the_command_line_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("LATENTSTUDIO_CLUSTER", "ray://10.0.0.5:10001")
    assert chosen_address(None) == "ray://10.0.0.5:10001"
    assert chosen_address("local") == "local"
    monkeypatch.delenv("LATENTSTUDIO_CLUSTER")
    assert chosen_address(None) is None


def test_settings_engine_choice_gives_an_address_only_for_a_cluster(qtbot):
    from gui.engine_choice import EngineChoice

    choice = EngineChoice("")
    qtbot.addWidget(choice)
    assert choice.address() == "" and choice.problem() is None
    assert not choice.address_edit.isEnabled()
    choice.where.setCurrentIndex(1)
    choice.address_edit.setText("gpu-box")
    assert "ray://HOST:PORT" in choice.problem()
    choice.address_edit.setText(" ray://gpu-box.lan:10001 ")
    assert choice.problem() is None and choice.address() == "ray://gpu-box.lan:10001"
    assert EngineChoice("ray://10.0.0.5:10001").address() == "ray://10.0.0.5:10001"


def test_jobs_naming_files_a_worker_was_not_sent_stay_on_this_computer():
    """Every file a job names travels with it (a tiny VAE too: tests/test_cluster_files.py);
    an X/Y/Z plot is not sent whole: its cells are (tests/test_cluster_xyz.py)."""
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt
    from engine.api.requests import Txt2ImgRequest, XyzPlotRequest
    from engine.api.requests.xyz import XyzAxis
    from engine.cluster.request_files import runs_remotely

    plain = Txt2ImgRequest(
        model=ModelRef(Family.SD, "/models/sd15.safetensors"), prompt=Prompt("a")
    )
    assert runs_remotely(plain)
    assert runs_remotely(dataclasses.replace(plain, tiny_vae="/models/VAE-approx/taesd.pt"))
    assert not runs_remotely(XyzPlotRequest(base=plain, axes=(XyzAxis("seed", "1-2"),)))


# What Ray 2.60's client raises when the head's Ray Client server for it died at birth
# (ray/util/client/server/proxier.py's words, by when the proxier saw it gone).
DIED_AT_BIRTH = [
    "Initialization failure from server:\nTraceback (most recent call last):\n"
    "RuntimeError: Starting Ray client server failed. See ray_client_server_23000.err "
    "for detailed logs.",
    "Initialization failure from server:\nRuntimeError: Proxy failed to Connect to "
    "backend! Check `ray_client_server.err` and `ray_client_server_23001.err`",
    'Initialization failure from server:\n  File ".../proxier.py", line 396, in '
    "start_specific_server\npsutil.ZombieProcess: PID still exists but it's a zombie",
]


def test_a_client_server_that_keeps_dying_is_tried_four_times_then_said_plainly():
    from engine.cluster.connect import CLIENT_SERVER_TRIES, _join_through_client

    tries: list[int] = []
    said: list[int] = []

    def init() -> None:
        tries.append(1)
        raise ConnectionAbortedError(DIED_AT_BIRTH[len(tries) % 3])

    with pytest.raises(BadInput) as refused:
        _join_through_client(init, parse_address("ray://10.0.0.5:10001"), said.append)
    assert len(tries) == CLIENT_SERVER_TRIES == 4 and said == [2, 3, 4]
    message = refused.value.message
    assert "failed to start 4 times" in message and "HOST:6379" in message
    assert "Traceback" not in message


def test_a_client_that_joins_on_its_second_try_says_so_once():
    from engine.cluster.connect import _join_through_client

    said: list[int] = []
    outcomes = iter([ConnectionAbortedError(DIED_AT_BIRTH[0]), None])

    def init() -> None:
        if (outcome := next(outcomes)) is not None:
            raise outcome

    _join_through_client(init, parse_address("ray://127.0.0.1:10001"), said.append)
    assert said == [2]


def test_any_other_refusal_is_not_tried_again():
    from engine.cluster.connect import _join_through_client

    tries: list[int] = []
    said: list[int] = []

    def init() -> None:
        tries.append(1)
        raise ConnectionAbortedError("Initialization failure from server: bad job config")

    with pytest.raises(ConnectionAbortedError, match="bad job config"):
        _join_through_client(init, parse_address("ray://127.0.0.1:10001"), said.append)
    assert tries == [1] and said == []
