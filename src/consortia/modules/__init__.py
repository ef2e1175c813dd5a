"""Native system modules. Each has ``types.py`` (state and argument structs),
``errors.py`` (stable codes), ``handlers.py`` (the methods) and ``spec.md``."""
