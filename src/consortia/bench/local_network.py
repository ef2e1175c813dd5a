"""The local network of a ``consortia bench run``: genesis, nodes started one by one, timings.

With ``state_accounts`` the genesis also holds that many filler accounts
(``filler``); building it and starting each node are timed, and the nodes'
RSS is sampled meanwhile (:class:`~consortia.bench.sampling.StartupSampler`).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from consortia.bench.filler import filler_accounts
from consortia.bench.load_config import LoadConfig
from consortia.bench.sampling import StartupSampler
from consortia.crypto import KeyType
from consortia.execution.policy import ChainPolicy
from consortia.node.init import init_network
from consortia.node.processes import NodeProcesses

__all__ = ["LOCAL_FIGURES", "local_network", "start_network"]

START_WAIT_S: Final = 60.0
"""How long a node of a local network may take to serve its API, with an empty genesis."""
START_WAIT_PER_FILLER_S: Final = 1e-3
"""More start-up time allowed per filler account (a node took about 35 s at 1 M)."""
LOCAL_FIGURES: Final = (
    "filler_keys_s",
    "genesis_build_s",
    "network_start_s",
    "node_start_s_per_node",
    "startup_peak_rss_bytes_per_node",
    "rss_after_start_bytes_per_node",
)
"""What :func:`local_network` measures (None in a report of ``--nodes``)."""


@contextlib.contextmanager
def local_network(config: LoadConfig, figures: dict[str, Any]) -> Iterator[NodeProcesses]:
    """Build the network's genesis in a temporary directory, start its nodes, yield it.

    Records :data:`LOCAL_FIGURES` into ``figures`` as it goes; stops every
    node on the way out.

    Raises:
        ConfigError: a node exited or did not serve its API in time.
    """
    open_policy = ChainPolicy(contract_deployment="open")
    evm = any(k == "erc20" for k, _ in config.kinds)
    with tempfile.TemporaryDirectory(prefix="consortia-bench-") as tmp:
        root = Path(tmp) / "net"
        started = time.perf_counter()
        fillers = filler_accounts(KeyType(config.key_type), config.state_accounts)
        figures["filler_keys_s"] = time.perf_counter() - started
        init_network(
            root,
            validators=config.validators,
            orgs=config.validators,
            suite=config.suite,
            base_api_port=config.api_port,
            base_p2p_port=config.api_port + 1000,
            # ERC-20 kinds deploy their own token: an open deployment policy.
            policy=open_policy if evm else None,
            accounts=fillers,
        )
        del fillers
        figures["genesis_build_s"] = time.perf_counter() - started
        network = NodeProcesses(root)
        try:
            figures.update(start_network(network, config.state_accounts))
            yield network
        finally:
            network.stop_all()


def start_network(network: NodeProcesses, fillers: int) -> dict[str, Any]:
    """Start the nodes one after another; how long each took and their RSS meanwhile.

    Raises:
        ConfigError: a node exited or did not serve its API in time.
    """
    wait_s = START_WAIT_S + fillers * START_WAIT_PER_FILLER_S
    per_node: list[float] = []
    with StartupSampler(network) as sampler:
        for entry in network.entries:
            started = time.perf_counter()
            network.start(entry.name, wait_s=wait_s)
            per_node.append(time.perf_counter() - started)
        after = sampler.sample()
    return {
        "network_start_s": sum(per_node),
        "node_start_s_per_node": per_node,
        "startup_peak_rss_bytes_per_node": sampler.peak,
        "rss_after_start_bytes_per_node": after,
    }
