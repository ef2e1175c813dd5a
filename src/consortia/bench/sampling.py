"""Resources of the node processes under load: CPU seconds and RSS, sampled with psutil.

:class:`ResourceSampler` samples during the load (about twice a second, into
the run's :class:`~consortia.bench.report.Observations`);
:class:`StartupSampler` records each node's peak RSS while a local network
starts; :func:`listening_pid` finds the local process behind a node's URL
(for ``--nodes``).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

import psutil

from consortia.bench.report import Observations
from consortia.node.processes import NodeProcesses

__all__ = ["ResourceSampler", "StartupSampler", "listening_pid"]

SAMPLE_EVERY_S: Final = 0.5
"""Resource sampling period."""
STARTUP_SAMPLE_S: Final = 0.2
"""RSS sampling period while the local network starts."""


class ResourceSampler:
    """RSS and CPU seconds of the node processes (and this process) about twice a second."""

    def __init__(self, pids: Sequence[int | None], obs: Observations) -> None:
        self._procs: list[psutil.Process | None] = []
        for pid in pids:
            try:
                self._procs.append(None if pid is None else psutil.Process(pid))
            except psutil.Error:
                self._procs.append(None)
        self._me = psutil.Process()
        self._obs = obs

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system + times.children_user + times.children_system)

    def sample(self) -> None:
        """Record one sample of every node process and of this one."""
        rss: list[int | None] = []
        cpu: list[float | None] = []
        for proc in self._procs:
            try:
                rss.append(None if proc is None else int(proc.memory_info().rss))
                cpu.append(None if proc is None else self._cpu(proc))
            except psutil.Error:
                rss.append(None)
                cpu.append(None)
        self._obs.samples.append((time.perf_counter(), rss, cpu, self._cpu(self._me)))

    async def run(self) -> None:
        """Sample every ``SAMPLE_EVERY_S`` until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_EVERY_S)


class StartupSampler:
    """Peak RSS of each node process of a starting network, sampled by a thread it owns.

    A context manager: the thread samples from ``__enter__`` to ``__exit__``.
    """

    def __init__(self, network: NodeProcesses) -> None:
        self._network = network
        self._names = [e.name for e in network.entries]
        self.peak: list[int | None] = [None] * len(self._names)
        """Highest RSS seen per node (None: never seen running)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-startup-rss", daemon=True)

    def __enter__(self) -> StartupSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> list[int | None]:
        """RSS of every node now (None for one not running), raising ``peak``."""
        rss: list[int | None] = []
        for i, name in enumerate(self._names):
            pid = self._network.pid(name)
            value: int | None = None
            if pid is not None:
                try:
                    value = int(psutil.Process(pid).memory_info().rss)
                except psutil.Error:
                    value = None
            if value is not None:
                self.peak[i] = max(value, self.peak[i] or 0)
            rss.append(value)
        return rss

    def _run(self) -> None:
        while not self._stop.wait(STARTUP_SAMPLE_S):
            self.sample()


def listening_pid(url: str) -> int | None:
    """The local process listening on ``url``'s port, if the host is this machine."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if port is None:
        return None
    try:
        local = host in ("localhost", "127.0.0.1", "::1") or host in {
            a.address for addrs in psutil.net_if_addrs().values() for a in addrs
        }
        if not local:
            local = socket.gethostbyname(host) in ("127.0.0.1",)
        if not local:
            return None
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return int(conn.pid) if conn.pid is not None else None
    except (psutil.Error, OSError):
        return None
    return None
