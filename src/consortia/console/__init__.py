"""The web console: a page every node serves at ``/console/`` (docs/console.md).

The console is static files — HTML, CSS, ES modules (Preact + htm, and the
bundled chain libraries for in-browser proofs and signing, vendored from
``node_modules`` by ``scripts/vendor-console.sh`` at ``make setup``) and
the English and Simplified Chinese message catalogues — that talk to the same
node's public API from the browser: REST ``/v1`` and the ``/v1/events``
WebSocket. The node holds no console state; this package only serves files.
"""

from consortia.console.routes import (
    STATIC_DIR,
    VENDOR_FILES,
    ConsoleFiles,
    content_security_policy,
    mount,
)

__all__ = ["STATIC_DIR", "VENDOR_FILES", "ConsoleFiles", "content_security_policy", "mount"]
