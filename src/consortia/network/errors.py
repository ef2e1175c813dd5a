"""Network errors."""

from __future__ import annotations

from consortia.errors import NodeError


class NetworkError(NodeError):
    """A peer connection failed or a peer misbehaved."""

    code = "NET_ERROR"


class FrameTooLarge(NetworkError):
    """A frame's declared length exceeds the limit."""

    code = "NET_FRAME_TOO_LARGE"


class HandshakeFailed(NetworkError):
    """The peer's Hello does not bind its certificate to a known validator."""

    code = "NET_HANDSHAKE_FAILED"
