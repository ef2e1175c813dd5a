"""Micro-benchmark entry point; the code lives in consortia.bench.state_micro (also `consortia bench state`)."""

from consortia.bench.state_micro import main

if __name__ == "__main__":
    main()
