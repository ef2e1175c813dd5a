"""Node processes on this machine: start, wait until serving, kill, restart, stop.

Used by ``consortia devnet up``, ``consortia bench`` and the integration
tests, so every one of them runs real node processes the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from consortia.node.config import ConfigError
from consortia.node.network_file import NodeEntry, read_network


def node_status(api: str, timeout_s: float = 1.0) -> dict[str, object] | None:
    """The node's ``/v1/status`` document, or None if it does not answer."""
    try:
        response = httpx.get(f"{api}/v1/status", timeout=timeout_s)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class NodeProcesses:
    """The node processes of one local network (a context manager)."""

    def __init__(self, root: Path, *, python: str = sys.executable) -> None:
        self.root = root
        self.entries = read_network(root)
        self._python = python
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> NodeProcesses:
        self.start_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def entry(self, name: str) -> NodeEntry:
        """The entry of node ``name``."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise ConfigError(f"no node {name!r} in {self.root}")

    def pid(self, name: str) -> int | None:
        """Pid of node ``name`` if running."""
        proc = self._procs.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(
        self,
        name: str,
        *,
        wait_s: float = 60.0,
        wrapper: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        """Start node ``name`` and wait until its API answers.

        ``wrapper`` prefixes the command (e.g. ``faketime -f +5s``); ``env`` adds
        environment variables.
        """
        entry = self.entry(name)
        log = (entry.home / "node.log").open("ab")
        self._procs[name] = subprocess.Popen(
            [*wrapper, self._python, "-m", "consortia.server.runner", "--home", str(entry.home)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=None if env is None else {**os.environ, **env},
        )
        log.close()
        self.wait_ready(name, wait_s)

    def wait_ready(self, name: str, wait_s: float) -> None:
        """Block until node ``name`` serves its API.

        Raises:
            ConfigError: the process exited or did not answer in time.
        """
        entry = self.entry(name)
        proc = self._procs[name]
        deadline = time.monotonic() + wait_s
        while node_status(entry.api, 0.5) is None:
            if proc.poll() is not None:
                raise ConfigError(
                    f"{name} exited with {proc.returncode}; see {entry.home}/node.log"
                )
            if time.monotonic() > deadline:
                raise ConfigError(f"{name} did not answer at {entry.api} within {wait_s:g} s")
            time.sleep(0.1)

    def start_all(self) -> None:
        """Start every node."""
        for entry in self.entries:
            self.start(entry.name)

    def kill(self, name: str) -> None:
        """SIGKILL node ``name`` (a crash: no shutdown code runs)."""
        proc = self._procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self, name: str, timeout_s: float = 15.0) -> int:
        """SIGTERM node ``name`` and wait; returns its exit code (killed after the timeout)."""
        proc = self._procs.pop(name)
        if proc.poll() is None:
            # The whole process group: a wrapper (e.g. faketime) may not exec the node.
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return proc.returncode

    def stop_all(self) -> None:
        """Stop every running node (idempotent)."""
        for name in list(self._procs):
            self.stop(name)

    def exited(self) -> list[str]:
        """Names of nodes whose process has exited on its own."""
        return [name for name, proc in self._procs.items() if proc.poll() is not None]
