"""Running a node in the foreground: logging, signals, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from consortia.node.assembly import Node


def run_node(home: Path) -> None:
    """Open the node at ``home`` and serve until SIGINT or SIGTERM, then close cleanly."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    node = Node.open(home)

    async def main() -> None:
        task = asyncio.create_task(node.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        import uvloop

        uvloop.run(main())
    finally:
        node.close()
