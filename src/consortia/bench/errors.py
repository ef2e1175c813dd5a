"""Why a benchmark run could not measure anything.

Tree::

    NodeError
     └── BenchError            a run could not start or complete
          ├── BenchUnreachable   a node of --nodes does not answer
          └── BenchSetupFailed   setup transactions were rejected, failed or did not commit
"""

from __future__ import annotations

from consortia.errors import NodeError


class BenchError(NodeError):
    """A benchmark run could not start or complete."""

    code = "BENCH_ERROR"


class BenchUnreachable(BenchError):
    """A node the benchmark should drive does not answer its API."""

    code = "BENCH_NODE_UNREACHABLE"


class BenchSetupFailed(BenchError):
    """The workload's setup (asset, token, funding) was rejected, failed or did not commit."""

    code = "BENCH_SETUP_FAILED"


__all__ = ["BenchError", "BenchSetupFailed", "BenchUnreachable"]
