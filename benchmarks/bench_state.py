"""Micro-benchmark entry point (also `consortia bench state`).

The code lives in consortia.bench.state_micro so the installed CLI can run it.
"""

from consortia.bench.state_micro import main

if __name__ == "__main__":
    main()
