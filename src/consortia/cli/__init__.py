"""The ``consortia`` command line (typer + rich); the entry point is :mod:`consortia.cli.main`."""
