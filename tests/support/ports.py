"""Free loopback ports for tests that start real node processes."""

from __future__ import annotations

import os
import random
import socket

_HANDED_OUT: set[int] = set()
"""Ports this process gave out: a killed node's ports look free but it will restart on them."""


def free_block(size: int) -> int:
    """First port of ``size`` consecutive free ports, below the kernel's ephemeral range.

    Ports handed out by binding port 0 come from the ephemeral range, where an
    outgoing connection may take them again before a node listens on them.
    Each pytest-xdist worker draws from its own slice of the range, and no
    port is handed out twice by one process, so a node that was killed and is
    about to restart never finds its port taken by another test.
    """
    low, high = _slice(20_000, _ephemeral_start())
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(low, high - size)
        ports = range(base, base + size)
        if any(p in _HANDED_OUT for p in ports):
            continue
        socks = []
        try:
            for port in ports:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        _HANDED_OUT.update(ports)
        return base
    raise RuntimeError("no block of free ports")


def _slice(low: int, high: int) -> tuple[int, int]:
    """This xdist worker's share of [low, high) (the whole range without xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker.startswith("gw") or count < 2:
        return low, high
    index = int(worker[2:])
    width = (high - low) // count
    return low + index * width, low + (index + 1) * width


def _ephemeral_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768
