"""Suite-wide rules: offscreen Qt, offline hugging-face, and no sockets at all."""

from __future__ import annotations

import os
import socket

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import pytest  # noqa: E402


class NetworkBlocked(RuntimeError):
    pass


def _refuse(*args, **kwargs):
    raise NetworkBlocked("tests must not reach the network")


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Any attempt to resolve a name or open an internet socket fails the test."""
    mp = pytest.MonkeyPatch()
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _refuse()
        return real_connect(self, address)

    mp.setattr(socket.socket, "connect", guarded_connect)
    mp.setattr(socket, "getaddrinfo", _refuse)
    mp.setattr(socket, "create_connection", _refuse)
    yield
    mp.undo()
