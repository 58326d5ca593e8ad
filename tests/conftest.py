"""Suite-wide rules: offscreen Qt, offline hugging-face, and no sockets at all."""

from __future__ import annotations

import gc
import os
import socket
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
# Nothing the suite does may touch the user's real folders.
_SANDBOX = tempfile.mkdtemp(prefix="latentstudio-tests-")
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", os.path.join(_SANDBOX, "cache"))
os.environ.setdefault("LATENTSTUDIO_CONFIG_DIR", os.path.join(_SANDBOX, "config"))
os.environ.setdefault("LATENTSTUDIO_DATA_DIR", os.path.join(_SANDBOX, "data"))
# Pixels compared with bare diffusers fp32 stay fp32 on a CPU where "auto" would pick bf16;
# the bf16 path's own tests ask for it by name.
os.environ.setdefault("LATENTSTUDIO_PRECISION", "fp32")

import pytest  # noqa: E402

# The real main window and its settings, for every module that opens one.
from tests.gui_fixtures import models_dir, settings, window  # noqa: E402, F401


class NetworkBlocked(RuntimeError):
    pass


def _refuse(*args, **kwargs):
    raise NetworkBlocked("tests must not reach the network")


@pytest.fixture(autouse=True, scope="session")
def garbage_on_the_main_thread():
    """As the app does (gui/gui_thread_gc.py): no automatic cycle collection, which could
    run on an engine thread and destroy a widget there; collect between tests instead."""
    gc.disable()
    yield
    gc.enable()


@pytest.fixture(autouse=True)
def collect_after_each_test():
    yield
    gc.collect()


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


@pytest.fixture(scope="session")
def tiny_sd_model(tmp_path_factory):
    """A tiny but real Stable Diffusion pipeline folder, built once for the whole suite."""
    from engine.models.sd.tiny import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The tiny SD model of test_sd and test_sd_models, built once for both."""
    from engine.models.sd.tiny import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("sd") / "tiny-sd", seed=0)


@pytest.fixture(scope="session")
def other_model(tmp_path_factory) -> Path:
    """A second tiny SD model (other weights), for the model cache's tests."""
    from engine.models.sd.tiny import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("sd") / "other-sd", seed=1)


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the freedesktop trash into tmp_path (send2trash reads it at import)."""
    home = tmp_path / "home"
    data = home / ".local" / "share"
    data.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    if sys.platform.startswith("linux"):
        from send2trash import plat_other

        monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(data))
        monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(data / "Trash"))
        monkeypatch.setattr(plat_other, "HOMETRASH", str(data / "Trash"))
    return data / "Trash"


@pytest.fixture
def cpu_runtime(tmp_path: Path):
    """The real runtime on the CPU, with a hash cache of its own, no gallery."""
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    runtime = Runtime(device_preference="cpu", hashes=HashService(HashCache(tmp_path / "h.db")))
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def sd_runtime(tmp_path_factory):
    """One CPU runtime for a test module (models load once), with a gallery of its own
    and a hash cache of its own."""
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime
    from engine.store import GalleryStore

    folder = tmp_path_factory.mktemp("runtime")
    store = GalleryStore(folder / "out")
    runtime = Runtime(
        store=lambda: store,
        device_preference="cpu",
        hashes=HashService(HashCache(folder / "h.db")),
    )
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def cluster():
    """A real Ray cluster of this computer for one test module (two CPUs, no dashboard):
    its address; shut down after the module."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install .[cluster]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="tests")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture
def worker_threads():
    """The local runs use the threads a worker uses (engine.cluster.worker_actor: a local
    run's own), so the sums split the same way and the tensors can be compared exactly."""
    import torch

    from engine.cluster.worker_actor import local_threads

    before = torch.get_num_threads()
    torch.set_num_threads(local_threads())
    yield
    torch.set_num_threads(before)
