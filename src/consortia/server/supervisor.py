"""The node process's background tasks, owned in one task group (STYLE.md §9).

Consensus, the network, the API, execution's follower and every dialer run
as children of one :class:`Supervisor`. Each is meant to run until the node
stops; when one dies (raises, or returns), the supervisor logs the cause
once, as one ERROR line with the task's name and traceback, cancels the
others, and :meth:`Supervisor.__aexit__` raises :class:`BackgroundTaskFailed`
so the process stops cleanly with a non-zero exit instead of limping on
without the task. Cancelling the owner (SIGTERM, Ctrl-C) cancels the
children and raises nothing else: a clean stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from consortia.errors import NodeError

log = logging.getLogger(__name__)


class BackgroundTaskFailed(NodeError):
    """A background task of the node process died; the node stopped."""

    code = "NODE_TASK_FAILED"


class _Stopped(Exception):
    """A task that must run until cancelled returned instead."""


class Supervisor:
    """An ``async with`` block owning long-lived tasks: the first to die stops them all.

    :meth:`spawn` has the signature of ``TaskGroup.create_task`` (the
    network's ``Spawn``), so the peer links start their dialers here too.
    """

    def __init__(self) -> None:
        self._group = asyncio.TaskGroup()
        self._died: list[tuple[str, BaseException]] = []

    async def __aenter__(self) -> Supervisor:
        await self._group.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._group.__aexit__(kind, exc, tb)
        except BaseExceptionGroup as group:
            if not self._died:
                raise
            name, cause = self._died[0]
            raise BackgroundTaskFailed(
                f"background task {name!r} died: {type(cause).__name__}: {cause}"
            ) from group

    def spawn(
        self, coro: Coroutine[Any, Any, None], *, name: str | None = None
    ) -> asyncio.Task[None]:
        """Run ``coro`` as a child named ``name`` until the block ends or it is cancelled."""
        label = name or str(getattr(coro, "__qualname__", "task"))
        return self._group.create_task(self._watch(coro, label), name=label)

    async def _watch(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await coro
        except Exception as exc:
            self._died.append((name, exc))
            log.error("background task %r died; stopping the node", name, exc_info=exc)
            raise
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            return  # it finished its own shutdown as the node stops
        stopped = _Stopped(f"{name} returned while the node runs")
        self._died.append((name, stopped))
        log.error("background task %r stopped; stopping the node", name)
        raise stopped
