"""``example``: the smallest real application, one module named ``maturity``.

An account schedules an item to mature at a later height; at the end of that
height's block the module's end-of-block hook removes it and emits
``maturity.matured``. It shows how an application is packaged: modules with
typed events and an end-of-block hook, gathered in :data:`APPLICATION`, which
``pyproject.toml`` publishes as the entry point ``example`` in the group
``consortia.applications``. A genesis names it with ``applications = ("example",)``
(``consortia init --app example``).
"""

from __future__ import annotations

from typing import Final

from consortia.apps.example.maturity import MODULE
from consortia.execution.applications import Application

APPLICATION: Final = Application(name="example", modules=(MODULE,))
"""What the ``example`` entry point loads."""
