"""Free loopback ports for tests that start real node processes."""

from __future__ import annotations

import random
import socket


def free_block(size: int) -> int:
    """First port of ``size`` consecutive free ports, below the kernel's ephemeral range.

    Ports handed out by binding port 0 come from the ephemeral range, where an
    outgoing connection may take them again before a node listens on them.
    """
    low, high = 20_000, _ephemeral_start()
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(low, high - size)
        socks = []
        try:
            for port in range(base, base + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no block of free ports")


def _ephemeral_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768
