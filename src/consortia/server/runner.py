"""Running a node in the foreground: logging, signals, clean shutdown.

Exit status: 0 after SIGINT or SIGTERM; 2 with ``error: <message> [<code>]``
on stderr when the node stops on a :class:`~consortia.errors.NodeError`, such
as ``NODE_TASK_FAILED`` (a background task died: its traceback is in the log)
or a block that cannot be executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from consortia.crypto.batch import lower_worker_priority
from consortia.node.config import NodeHome
from consortia.server.assembly import Node
from consortia.server.supervisor import BackgroundTaskFailed


def run_node(home: Path) -> None:
    """Open the node at ``home`` and serve until SIGINT or SIGTERM, then close cleanly."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Bulk signature checks yield the cores to consensus and execution (crypto/batch.py).
    lower_worker_priority()
    if NodeHome(home).load_config().state_sync and not NodeHome(home).ledger_dir.exists():
        from consortia.node.snapshot import sync_from_snapshot

        asyncio.run(sync_from_snapshot(home))
    node = Node.open(home)

    async def main() -> None:
        current = asyncio.current_task()
        assert current is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, current.cancel)
        with contextlib.suppress(asyncio.CancelledError):  # a signal: the clean stop
            await node.run()

    try:
        import uvloop

        uvloop.run(main())
    except BackgroundTaskFailed:
        failure = node.execution.failure
        if failure is not None:  # e.g. UpgradeRequired: the node stopped rather than fork
            raise failure from None
        raise
    finally:
        node.close()


if __name__ == "__main__":
    import argparse

    from consortia.errors import NodeError

    parser = argparse.ArgumentParser(description="Run one Consortia node in the foreground.")
    parser.add_argument("--home", type=Path, required=True, help="node home directory")
    args = parser.parse_args()
    try:
        run_node(args.home)
    except NodeError as exc:
        print(f"error: {exc.message} [{exc.code}]", file=sys.stderr)
        sys.exit(2)
