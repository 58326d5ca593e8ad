"""Losing the connection to the cluster, with scripted workers for Ray's actors and a
scripted reconnect (no Ray needed): the user is told once, what arrived is kept, the
session joins again with back-off, and each job that was cut off runs again exactly
once, on the new connection's workers. (A real head killed and restarted on its port
takes minutes on a 2-core machine; README, "Losing the connection", has that run.)"""

from __future__ import annotations

import threading
from collections import Counter

from engine.api.events import ENDINGS, DeviceInfo, Finished, Progress
from engine.cluster import session as session_module
from engine.cluster.pool import ConnectionLost, WorkerOptions
from engine.cluster.scheduler import RemoteJob
from engine.cluster.session import ClusterSession
from tests.test_cluster_scheduler import TIMEOUT_S, ScriptedWorker, Shipper, request

LOST = "Cluster connection lost — retrying…"


def test_a_lost_connection_is_told_held_and_resumed_once_when_joined_again(monkeypatch):
    old = ScriptedWorker("old", dies_after=2, dies_with=ConnectionLost)
    new = ScriptedWorker("new")
    new.gate.set()
    started = iter([[old], [new]])
    monkeypatch.setattr(session_module, "start_workers", lambda options, first_index: next(started))
    monkeypatch.setattr(session_module, "ModelShipper", lambda: Shipper(None))
    monkeypatch.setattr(session_module, "RETRY_FIRST_S", 0.01)
    tries: list[int] = []

    def reconnect() -> None:
        tries.append(len(tries))
        if len(tries) < 3:  # the head is not back for the first two tries
            raise ConnectionError("ray client connection timeout")

    events, troubles = [], []
    done = threading.Event()

    def on_event(event):
        events.append(event)
        if sum(isinstance(e, ENDINGS) for e in events) == 4:
            done.set()

    session = ClusterSession(lambda: None, on_event, troubles.append, reconnect)
    session.start_workers(WorkerOptions())
    jobs = [RemoteJob(job_id, request()) for job_id in (1, 2, 3, 4)]
    try:
        for job in jobs:
            session.scheduler.submit(job)
        old.gate.set()
        assert done.wait(TIMEOUT_S)
    finally:
        session.close()
    assert Counter(e.job_id for e in events if isinstance(e, ENDINGS)) == Counter([1, 2, 3, 4])
    assert all(isinstance(e, Finished) for e in events if isinstance(e, ENDINGS))
    held = {e.job_id for e in events if isinstance(e, Progress) and e.message == LOST}
    by_key = {job.key: job.job_id for job in jobs}
    on_old = Counter(by_key[k] for k in old.ran)
    on_new = Counter(by_key[k] for k in new.ran)
    kept = set(on_old) - held  # finished on the old connection: delivered, kept
    assert held and kept and max(on_old.values()) == 1
    # Each job cut off ran once more, on the new worker; none that had finished did.
    assert set(on_new) == {1, 2, 3, 4} - kept and max(on_new.values()) == 1
    assert troubles == [LOST, "connected again, with 1 worker"]  # told once, then back
    assert len(tries) == 3 and not old.alive


def test_the_status_bar_hears_lost_then_connected(qtbot, tmp_path):
    from engine.cluster.ray_engine import RayEngine

    engine = RayEngine(tmp_path / "out", "ray://127.0.0.1:10001", "cpu")
    seen: list = []
    engine.event.connect(seen.append)
    engine._trouble(LOST)
    engine._trouble("connected again, with 2 workers")
    qtbot.waitUntil(lambda: len(seen) == 2)
    notes = [e.description for e in seen if isinstance(e, DeviceInfo)]
    assert notes == [LOST, "Ray cluster: connected again, with 2 workers"]


def test_the_status_line_keeps_the_cluster_s_state_beside_this_computer_s_device(qtbot, tmp_path):
    """This computer's device (announced at start, and again on a change in Settings)
    used to replace the cluster's line; a long note replaced it too."""
    from engine.cluster.ray_engine import RayEngine

    engine = RayEngine(tmp_path / "out", "ray://127.0.0.1:10001", "cpu")
    seen: list[DeviceInfo] = []
    engine.event.connect(seen.append)

    def said(count: int) -> DeviceInfo:  # the cluster's lines arrive by the event loop
        qtbot.waitUntil(lambda: len(seen) == count)
        return seen[-1]

    engine._dispatch(DeviceInfo("cpu", "float32", "CPU · fp32", "no bf16 hardware"))
    line = said(1)
    assert line.description == "Ray cluster: connecting to ray://127.0.0.1:10001…"
    assert "This computer (Lab sliders, single trainings): CPU · fp32" in line.detail
    assert "no bf16 hardware" in line.detail
    engine._trouble(LOST)
    said(2)
    engine._dispatch(DeviceInfo("cpu", "bfloat16", "CPU · bf16"))  # Settings → Precision
    line = said(3)
    assert line.description == LOST and "CPU · bf16" in line.detail
    stays = "a single training runs on this computer, where it is watched live."
    engine._trouble(stays)
    line = said(4)
    assert (line.description, line.note) == (LOST, f"Ray cluster: {stays}")
    engine._trouble("Every worker of the cluster is gone. The pictures that arrived are kept.")
    line = said(5)
    assert line.description == "Ray cluster: Every worker of the cluster is gone"
    assert line.note.endswith("The pictures that arrived are kept.")
