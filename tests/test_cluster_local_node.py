"""A `local` cluster joined from a short-lived thread, as the window joins it, outlives
that thread: Ray ties a node's processes to the thread that started them (Linux's
PR_SET_PDEATHSIG), and the app was killed as its connecting thread returned."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("ray")

SCRIPT = textwrap.dedent(
    """
    import threading, time
    import ray
    from engine.cluster.connect import connect

    joining = threading.Thread(target=connect, args=("local",))
    joining.start()
    joining.join()  # as RayEngine's cluster-connect thread: gone before any job
    time.sleep(3)   # the node's processes were killed within this, before the fix

    @ray.remote(num_cpus=0)
    def answer():
        return 42

    print("answer", ray.get(answer.remote(), timeout=120), flush=True)
    ray.shutdown()
    """
)


def test_a_local_cluster_started_on_a_thread_outlives_it():
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert "answer 42" in run.stdout, run.stdout[-2000:] + run.stderr[-3000:]
    assert run.returncode == 0
