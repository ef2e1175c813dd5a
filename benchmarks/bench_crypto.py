"""Micro-benchmark entry point; the code lives in consortia.bench.crypto_micro (also `consortia bench crypto`)."""

from consortia.bench.crypto_micro import main

if __name__ == "__main__":
    main()
