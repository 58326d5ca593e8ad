"""Ray Client, the way a laptop outside the cluster reaches it: a real head started as
its own process (`ray start --head`, its client server on a loopback port), the app's
engine joined to it at ray://127.0.0.1:PORT, and a tiny-SD picture made there equal,
pixel for pixel, to the one the local runtime makes (the oracle: a local lane's code)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install .[cluster]")
pytest.importorskip("grpc", reason="Ray Client needs grpcio: pip install .[cluster]")

from engine.api.events import Started  # noqa: E402
from engine.cluster.pool import WorkerOptions  # noqa: E402
from tests.test_cluster import WAIT_S, request  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = 3


def free_port() -> int:
    with socket.socket() as probe:  # bind only: no connection goes out
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# What the README's set-up gives `ray start --head`: without it, about 1 join in 4 through
# Ray Client fails here (the head's server for it dies at birth, ray-project/ray#63202).
HEAD_ENV = {"GRPC_ENABLE_FORK_SUPPORT": "false"}


def start_head(temp: str, python_path: str) -> tuple[subprocess.Popen, int]:
    """`ray start --head` as the README starts one, in a process group of its own;
    returns it and its Ray Client port once it has started."""
    client_port = free_port()
    ports = {
        "--port": free_port(),
        "--ray-client-server-port": client_port,
        "--dashboard-port": free_port(),
        "--dashboard-agent-listen-port": free_port(),
    }
    command = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block"]
    command += [f"{flag}={port}" for flag, port in ports.items()]
    command += ["--node-ip-address=127.0.0.1", "--include-dashboard=false", "--num-cpus=2"]
    command += [f"--temp-dir={temp}", "--disable-usage-stats"]
    head = subprocess.Popen(
        command,
        env={**os.environ, "PYTHONPATH": python_path, **HEAD_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: every process of it is ended
    )
    address_file = Path(temp) / "ray_current_cluster"  # written once it has started
    deadline = time.monotonic() + WAIT_S
    while not address_file.exists():
        if head.poll() is not None or time.monotonic() > deadline:
            os.killpg(head.pid, signal.SIGKILL)
            pytest.fail("ray start --head did not start")
        time.sleep(0.5)
    return head, client_port


def end_head(head: subprocess.Popen, temp: str) -> None:
    ray.shutdown()  # a driver or a Ray Client, joined or half-joined: none stays
    os.killpg(head.pid, signal.SIGKILL)
    head.wait()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def client_head():
    """A head of its own, with the app on its path (as when it is installed on the node);
    yields its Ray Client port, and leaves nothing running."""
    temp = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # Ray's socket paths must be short
    head, client_port = start_head(temp, str(ROOT))
    try:
        yield client_port
    finally:
        end_head(head, temp)


def joined_or_refused(engine, qtbot) -> None:
    """Wait until the engine has joined its cluster or given up on it (it says which)."""
    qtbot.waitUntil(
        lambda: engine.connected.is_set() or engine.connect_error is not None,
        timeout=WAIT_S * 1000,
    )
    assert engine.connect_error is None, engine.connect_error


def test_the_engine_joined_through_ray_client_makes_the_local_picture(
    client_head, tiny_sd_model, tmp_path, qtbot
):
    from engine.cluster.ray_engine import RayEngine
    from engine.context import JobContext
    from engine.runtime import Runtime

    runtime = Runtime(device_preference="cpu")
    try:
        local = runtime.run(request(tiny_sd_model, SEED), JobContext(0)).images[0].rgb
    finally:
        runtime.close()
    options = WorkerOptions(count=1, cpus_per_cpu_worker=1, cache_root=str(tmp_path / "c"))
    engine = RayEngine(tmp_path / "out", f"ray://127.0.0.1:{client_head}", "cpu", options)
    seen: list = []
    engine.event.connect(seen.append)
    engine.start()
    try:
        joined_or_refused(engine, qtbot)
        assert ray.util.client.ray.is_connected()  # Ray Client, not a driver on a node
        handle = engine.submit(request(tiny_sd_model, SEED))
        with qtbot.waitSignal(handle.finished, timeout=WAIT_S * 1000) as finished:
            pass
        (image,) = finished.args[0].images
        with Image.open(image.path) as saved:  # landed in this computer's gallery
            np.testing.assert_array_equal(np.asarray(saved.convert("RGB")), local)
        (started,) = [e for e in seen if isinstance(e, Started)]
        assert started.worker.startswith("worker 1")  # made on the cluster
    finally:
        assert engine.shutdown()
