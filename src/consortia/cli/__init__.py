"""The ``consortia`` command line (typer + rich); the entry point is ``cli.main:app``."""
