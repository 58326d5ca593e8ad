"""Which cluster, and whether it is safe to use: the address and the authentication check.

An address is Ray Client's `ray://HOST:PORT` (a laptop outside the cluster), a cluster
member's `HOST:PORT` (the GCS, for a driver on a node), or `local` (a cluster of this
computer alone, for several GPUs in one machine). It comes from `--cluster`, else
LATENTSTUDIO_CLUSTER, else Settings → Engine.

Anyone who can submit work to a Ray cluster runs code on it. Ray's token
authentication (on by default in current Ray) is what stops a neighbour on the network
from doing so, so the app refuses a cluster that runs without it, unless the cluster is
on this computer (loopback), and says why.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from engine.api.errors import BadInput
from engine.cluster.local_node import start_on_lasting_thread

log = logging.getLogger(__name__)

ADDRESS_ENV = "LATENTSTUDIO_CLUSTER"
LOCAL = "local"
NAMESPACE = "latentstudio"
AUTH_MODE_ENV = "RAY_AUTH_MODE"
# A cluster's head starts a Ray Client server of its own for each computer that joins
# through ray://, and that start now and then dies at birth (a fork inside a process
# busy with gRPC: ray-project/ray#63202; 1 join in 4 on a 2-core machine here). Ray
# says so only after about 40 s, in one of these words, by when the head saw it gone;
# joining again starts a new one.
CLIENT_SERVER_TRIES = 4
CLIENT_SERVER_DIED = (
    "Starting Ray client server failed",  # gone before it had started
    "ZombieProcess",  # gone while the head looked at it (psutil)
    "NoSuchProcess",
    "Proxy failed to Connect to backend",  # gone after it had started
)


@dataclass(frozen=True)
class ClusterAddress:
    text: str  # as given
    host: str  # "" for LOCAL

    @property
    def on_loopback(self) -> bool:
        if not self.host or self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False


def chosen_address(given: str | None) -> str | None:
    """The address to use: the command line's, else the environment's, else none."""
    for value in (given, os.environ.get(ADDRESS_ENV)):
        if value and value.strip():
            return value.strip()
    return None


def parse_address(text: str) -> ClusterAddress:
    text = text.strip()
    if text == LOCAL:
        return ClusterAddress(text, "")
    rest = text.removeprefix("ray://")
    host, colon, port = rest.rpartition(":")
    if not colon or not host or not port.isdigit():
        raise BadInput(
            f"{text!r} is not a Ray cluster's address. Give ray://HOST:PORT (Ray Client, "
            "port 10001 by default), HOST:PORT on a cluster node (port 6379), or 'local'."
        )
    return ClusterAddress(text, host)


def refuse_without_auth(address: ClusterAddress, token_auth: bool) -> None:
    """Raise BadInput for a cluster off this computer that anyone could use."""
    if token_auth or address.on_loopback:
        return
    raise BadInput(
        f"The Ray cluster at {address.text} does not use token authentication, so anyone "
        "on the network could run programs on it, and this app will not send it work. "
        "Start it with authentication on (current Ray's default: unset RAY_AUTH_MODE, or "
        "set it to 'token', and give this computer the token with RAY_AUTH_TOKEN), "
        "or reach it through an SSH tunnel to 127.0.0.1."
    )


def connect(text: str, on_retry: Callable[[int], None] | None = None) -> ClusterAddress:
    """Join the cluster at `text` as a driver (or use the one this process joined).
    `on_retry(k)` hears that the k-th try to join through Ray Client begins."""
    address = parse_address(text)
    try:
        import ray
    except ImportError:
        raise BadInput(
            "Running on a cluster needs Ray, which is not installed here: "
            "pip install 'latent-studio[cluster]' (the same version as on the cluster)."
        ) from None
    if os.environ.get(AUTH_MODE_ENV, "").lower() == "disabled":
        refuse_without_auth(address, token_auth=False)  # before a single byte goes out
    if address.text != LOCAL:
        use_token_if_present()
    if not ray.is_initialized():
        try:
            _join_or_start(ray, address, on_retry or _warn_of_retry)
        except (ValueError, ModuleNotFoundError) as exc:  # ray:// without grpcio, among others
            raise BadInput(
                f"Could not use the Ray cluster at {address.text}: {exc} Ray Client "
                "(ray://) needs `pip install 'latent-studio[cluster]'` here (it brings "
                "ray[client], the same Ray version as the cluster's); on a cluster node, "
                "give HOST:6379 instead."
            ) from exc
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            raise BadInput(
                f"Could not reach the Ray cluster at {address.text} ({exc}). Check that "
                "`ray start --head` runs there, that its port is open to this computer, "
                "and that this computer has the cluster's token."
            ) from exc
    if not token_auth_enabled():
        try:
            refuse_without_auth(address, token_auth=False)
        except BadInput:
            ray.shutdown()
            raise
    return address


def _join_or_start(ray, address: ClusterAddress, on_retry: Callable[[int], None]) -> None:
    """ray.init: join the cluster at the address, or start a `local` one (on a thread
    that lasts: engine.cluster.local_node says why)."""

    def init() -> None:
        ray.init(
            address=None if address.text == LOCAL else address.text,
            namespace=NAMESPACE,
            include_dashboard=False,
            log_to_driver=False,
        )

    if address.text == LOCAL:
        start_on_lasting_thread(init)
    elif address.text.startswith("ray://"):
        _join_through_client(init, address, on_retry)
    else:
        init()


def _join_through_client(
    init: Callable[[], None], address: ClusterAddress, on_retry: Callable[[int], None]
) -> None:
    """Join through Ray Client, again while the head's server for it dies at birth."""
    for attempt in range(1, CLIENT_SERVER_TRIES + 1):
        if attempt > 1:
            on_retry(attempt)
        try:
            init()
            return
        except ConnectionAbortedError as exc:
            if not any(sentence in str(exc) for sentence in CLIENT_SERVER_DIED):
                raise
    raise BadInput(
        f"The Ray cluster at {address.text} answered, but its Ray Client server for this "
        f"computer failed to start {CLIENT_SERVER_TRIES} times in a row (a known Ray "
        "fault, ray-project/ray#63202; its log is ray_client_server_*.err on the head). "
        "Try again in a moment, or restart the head with `ray stop` and `ray start "
        "--head`; a computer on the cluster's network can give HOST:6379 instead, "
        "which does not use that server."
    )


def try_text(attempt: int) -> str:
    return f"try {attempt} of {CLIENT_SERVER_TRIES}"


def retry_note(attempt: int) -> str:
    return (
        "The cluster answered, but the Ray Client server it starts for this computer "
        f"stopped at once (a known Ray fault); joining again, {try_text(attempt)}."
    )


def _warn_of_retry(attempt: int) -> None:
    """The command line's way to hear it (a warning reaches stderr unconfigured)."""
    log.warning(retry_note(attempt))


def reconnect(text: str) -> ClusterAddress:
    """Leave the cluster this process had joined (its connection gone) and join again."""
    import ray

    try:
        ray.shutdown()
    except Exception:  # noqa: BLE001 - what is being left is broken already
        log.info("leaving the lost cluster connection", exc_info=True)
    return connect(text)


def use_token_if_present() -> None:
    """Send the cluster's token when this computer has one (RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token) and RAY_AUTH_MODE is unset: what `ray
    start` does, and what Ray 2.60's ray.init does only for a cluster it finds itself,
    never for an address given to it, so a Ray Client without this would knock on a
    cluster with authentication on without its token, and wait."""
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token authentication at all
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def token_auth_enabled() -> bool:
    try:
        from ray._private.authentication.authentication_utils import is_token_auth_enabled
    except ImportError:  # a Ray without token authentication at all
        return False
    return bool(is_token_auth_enabled())
