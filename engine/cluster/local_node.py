"""Starting a cluster of this computer alone (`local`) from a thread that lasts.

Ray binds the processes of a node it starts (GCS, raylet, workers) to their parent with
Linux's PR_SET_PDEATHSIG, which fires when the parent *thread* ends, not the process.
The window joins a cluster on a short-lived thread (engine.cluster.ray_engine), so a
`local` node started there was killed as that thread returned, and the app with it
("The connection to the plasma store is failed. Terminate the process."). The node is
started instead on a thread that lives as long as the process; ending the app still
ends the node, as Ray intends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

THREAD_NAME = "ray-local-node"


def start_on_lasting_thread(start: Callable[[], None]) -> None:
    """Run `start` (ray.init for a new local node) on a thread that never returns; its
    exception, if any, is raised here."""
    if threading.current_thread() is threading.main_thread():
        start()  # the main thread lasts as long as the process already
        return
    answer: queue.Queue[BaseException | None] = queue.Queue(maxsize=1)

    def keep() -> None:
        try:
            start()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            answer.put(exc)
            return
        answer.put(None)
        threading.Event().wait()  # forever: the node's processes live while this does

    threading.Thread(target=keep, name=THREAD_NAME, daemon=True).start()
    error = answer.get()
    if error is not None:
        raise error
