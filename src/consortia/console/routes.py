"""Serves the console's static files under ``/console/`` ([CONSOLE-SERVE.1]).

[CONSOLE-SERVE.1] ``GET /console/`` answers ``index.html``; every other file
under ``static/`` is served as is, revalidated on each load (``no-cache``) so a
node upgraded in place never mixes old and new scripts.

[CONSOLE-SERVE.3] Every answer carries a Content-Security-Policy that allows
scripts, styles and connections from the node only, plus the page's inline
import map by its SHA-256 hash: the console may hold a governor's key, so no
injected or third-party script may run beside it.

[CONSOLE-SERVE.2] Until ``make setup`` has vendored the front-end libraries
(``static/vendor/``, git-ignored), every console path answers 503
``CONSOLE_NOT_INSTALLED`` with a message saying to run ``make setup``; the
node and its API are unaffected. The check is made per request, so running
setup while the node is up is enough.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from consortia.errors import NodeError

ErrorRenderer = Callable[[NodeError], Response]
"""Renders a :class:`NodeError` as the API's JSON error body (the API passes its own in,
so the console, below the API, answers API clients in the same shape)."""

STATIC_DIR: Final = Path(__file__).parent / "static"
"""The console's files: ``index.html``, ``console.css``, ``js/``, ``i18n/``, ``vendor/``."""

VENDOR_FILES: Final = ("preact.js", "preact-hooks.js", "htm.js", "chain-libs.js")
"""What ``scripts/vendor-console.sh`` copies into ``static/vendor/`` (the import map targets)."""

MOUNT_PATH: Final = "/console"

_SETUP_HINT: Final = (
    "the web console's front-end libraries are not installed on this node: "
    "run `make setup` in the Consortia checkout (it copies them from node_modules "
    "into src/consortia/console/static/vendor/), then reload"
)


_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.DOTALL)


@lru_cache(maxsize=4)
def _inline_script_hashes(index: Path, mtime_ns: int) -> tuple[str, ...]:
    """CSP hash sources of the inline scripts of ``index`` as it was at ``mtime_ns``."""
    del mtime_ns  # part of the cache key: an edited index.html gets new hashes
    return tuple(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(index.read_text(encoding="utf-8"))
        if body.strip()
    )


def content_security_policy(directory: Path = STATIC_DIR) -> str:
    """The Content-Security-Policy the console is served with ([CONSOLE-SERVE.3])."""
    index = directory / "index.html"
    hashes = _inline_script_hashes(index, index.stat().st_mtime_ns) if index.is_file() else ()
    return "; ".join(
        (
            "default-src 'self'",
            " ".join(("script-src 'self'", *hashes)),
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class ConsoleNotInstalled(NodeError):
    """The vendored front-end libraries are missing; ``make setup`` installs them."""

    code = "CONSOLE_NOT_INSTALLED"
    http_status = 503


class ConsoleFiles:
    """ASGI app serving ``directory`` as the console, or 503 while its vendor files are missing.

    Parameters
    ----------
    directory:
        The static root; ``directory / "vendor"`` must hold every name in
        :data:`VENDOR_FILES`.
    render_error:
        How a 503 for an API client is rendered (the API's error body).
    """

    def __init__(self, directory: Path = STATIC_DIR, *, render_error: ErrorRenderer) -> None:
        self.directory = directory
        self._render_error = render_error
        self._files = StaticFiles(directory=directory, html=True, check_dir=False)

    def installed(self) -> bool:
        """Whether every vendored library is present (checked on each request)."""
        vendor = self.directory / "vendor"
        return all((vendor / name).is_file() for name in VENDOR_FILES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if not self.installed():
            await _not_installed(scope, self._render_error)(scope, receive, send)
            return

        policy = content_security_policy(self.directory)

        async def send_revalidated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-cache"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Content-Security-Policy"] = policy
                headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        await self._files(scope, receive, send_revalidated)


def _not_installed(scope: Scope, render_error: ErrorRenderer) -> Response:
    """503 for a browser (a short HTML page) or an API client (the JSON error body)."""
    error = ConsoleNotInstalled(_SETUP_HINT)
    if "text/html" in Headers(scope=scope).get("accept", ""):
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            "<title>Consortia console not installed</title>"
            "<h1>Console not installed (503)</h1>"
            f"<p>The {_SETUP_HINT}.</p>"
        )
        return HTMLResponse(page, status_code=error.http_status)
    return render_error(error)


def mount(app: FastAPI, directory: Path = STATIC_DIR, *, render_error: ErrorRenderer) -> None:
    """Serve the console from ``directory`` at ``/console/`` on ``app``.

    ``render_error`` renders the 503 an API client gets while the console is not
    installed; the API passes its error body in (the console imports nothing above it).
    """
    app.mount(MOUNT_PATH, ConsoleFiles(directory, render_error=render_error), name="console")
