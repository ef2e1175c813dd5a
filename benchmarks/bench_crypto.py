"""Micro-benchmark entry point (also `consortia bench crypto`).

The code lives in consortia.bench.crypto_micro so the installed CLI can run it.
"""

from consortia.bench.crypto_micro import main

if __name__ == "__main__":
    main()
