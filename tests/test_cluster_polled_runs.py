"""Ray Client's way of reading a job (engine/cluster/polled_runs.py), without Ray: what
`poll` hands back, batch after batch, is exactly what the worker's `run` yields, in
order, and `done` comes with the last of it."""

from __future__ import annotations

import threading

from engine.cluster.polled_runs import PolledWorker


class Scripted(PolledWorker):
    """`run` yields five events, the last three only once `gate` is set."""

    def __init__(self) -> None:
        super().__init__("w")
        self.gate = threading.Event()

    def run(self, key, request_data, model_path=""):
        for number in range(5):
            if number == 2:
                self.gate.wait(20)
            yield {"key": key, "n": number}


def test_polls_hand_back_the_run_in_order_and_say_when_it_is_done():
    worker = Scripted()
    worker.begin("k", {})
    got, done, polls = [], False, 0
    while not done:
        items, done = worker.poll("k", wait_s=0.05)
        got += items
        polls += 1
        if len(got) == 2:
            assert not done  # the rest is still to come
            worker.gate.set()
    assert got == [{"key": "k", "n": n} for n in range(5)]
    assert worker.poll("k", wait_s=0.01) == ([], True)  # forgotten once done
    assert worker.poll("never-begun", wait_s=0.01) == ([], True)
