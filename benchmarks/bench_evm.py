"""Micro-benchmark entry point (also `consortia bench evm`).

The code lives in consortia.bench.evm_micro so the installed CLI can run it.
"""

from consortia.bench.evm_micro import main

if __name__ == "__main__":
    main()
