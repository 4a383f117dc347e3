"""Ray's lifecycle for rlsuite: start a local Ray sized to the machine, or join a cluster; check
that what a trial asks for fits on some node before anything waits for it.

Ray's own behaviour for a request no node can meet is to wait forever (the trial stays PENDING
and the autoscaler logs a warning every half minute); here it is a clear error, up front.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from rlsuite.config import ConfigError

__all__ = ["check_fits", "connect", "largest_nodes", "WORKER_NICENESS"]

WORKER_NICENESS = "RAY_worker_niceness"  # read by the raylet that ray.init starts


def connect(address: str | None = None) -> bool:
    """Reuse a Ray already running in this process, join ``address`` (``auto``, ``host:port`` or
    ``ray://host:port``), or start a new local Ray with this machine's CPUs and GPUs (also when a
    cluster started by `ray start` runs here: join that one with ``address="auto"``).

    Returns True when this call started or joined Ray (the caller then shuts it down).
    A cluster that cannot be reached is a :class:`ConfigError` naming the address.
    """
    import ray

    if ray.is_initialized():
        return False
    if address is None:
        # Ray runs its workers (trials, env runners) at niceness 15 by default, so on a machine that
        # also runs anything else they starve: importing Ray Tune in a trial took 41 s instead of
        # 2.5 s on our busy 2-core machines. Our local Ray runs them at normal priority.
        os.environ.setdefault(WORKER_NICENESS, "0")
        # address="local": a new Ray of our own even when a `ray start` cluster runs on this machine
        # (plain ray.init() would join that one and then refuse num_cpus with a ValueError).
        ray.init(
            address="local", num_cpus=os.cpu_count(), include_dashboard=False, logging_level=logging.WARNING
        )
        return True
    _check_reachable(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ConfigError(
            f"--address {address}: cannot reach a Ray cluster there ({type(error).__name__}: {error}); "
            "start one with `ray start --head` (then --address auto), or leave --address out for a "
            "local Ray"
        ) from None
    return True


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Ray retries an unreachable head for minutes with log lines only: probe its port first."""
    import socket

    if address == "auto":
        return  # Ray finds the local cluster's address itself, or fails at once
    host_port = address.removeprefix("ray://")
    host, sep, port = host_port.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--address {address}: expected auto, host:port or ray://host:port")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as error:
        raise ConfigError(
            f"--address {address}: cannot reach a Ray cluster there ({error}); is `ray start --head` "
            "running there, and is the port open to this machine?"
        ) from None


def largest_nodes() -> dict[str, float]:
    """The most CPUs and the most GPUs that any one alive node of the connected cluster has."""
    import ray

    largest = {"CPU": 0.0, "GPU": 0.0}
    for node in ray.nodes():
        if not node.get("Alive", node.get("alive", False)):
            continue
        resources = node.get("Resources", {})
        for key in largest:
            largest[key] = max(largest[key], float(resources.get(key, 0.0)))
    return largest


def check_fits(bundles: list[Mapping[str, float]], what: str) -> None:
    """A :class:`ConfigError` when a bundle asks for more CPUs/GPUs than any node has, or the whole
    request more than the cluster has (Ray would leave it pending forever)."""
    import ray

    node = largest_nodes()
    total = ray.cluster_resources()
    for resource, name in (("CPU", "CPUs"), ("GPU", "GPUs")):
        for bundle in bundles:
            if bundle.get(resource, 0.0) > node[resource] + 1e-9:
                raise ConfigError(
                    f"{what} asks for {bundle[resource]:g} {name} on one node, but the largest node of "
                    f"this Ray cluster has {node[resource]:g}; ask for fewer, or join a bigger cluster "
                    "with --address"
                )
        asked = sum(bundle.get(resource, 0.0) for bundle in bundles)
        if asked > total.get(resource, 0.0) + 1e-9:
            raise ConfigError(
                f"{what} asks for {asked:g} {name} in all, but this Ray cluster has "
                f"{total.get(resource, 0.0):g}; ask for fewer, or join a bigger cluster with --address"
            )
