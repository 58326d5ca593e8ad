"""PyInstaller runtime hook: runs before the app's first import.

- Offline, always: hugging-face libraries never try the network (main.py sets this too,
  but a library imported before main's first line would already have read it).
- LATENTSTUDIO_NO_NETWORK=1 (the packaged self-test, where no network namespace can be
  made): every outgoing connection fails, as it would on a machine with no network.
- A windowed app on Windows and macOS has no stdout or stderr (they are None): print()
  and logging would lose every line, and some libraries fail writing to None. Both go
  to a log file in the user's log folder instead.
"""

import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

if os.environ.get("LATENTSTUDIO_NO_NETWORK") == "1":
    import socket

    def _refuse(*_args, **_kwargs):
        raise OSError("network disabled (LATENTSTUDIO_NO_NETWORK=1)")

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.create_connection = _refuse

if sys.stdout is None or sys.stderr is None:
    import platformdirs

    folder = platformdirs.user_log_dir("Latent Studio", appauthor=False)
    os.makedirs(folder, exist_ok=True)
    log = open(os.path.join(folder, "latentstudio.log"), "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    sys.stdout = sys.stdout or log
    sys.stderr = sys.stderr or log
