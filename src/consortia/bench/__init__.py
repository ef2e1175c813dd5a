"""Benchmarks shipped with the product: ``consortia bench crypto|state|run``."""
