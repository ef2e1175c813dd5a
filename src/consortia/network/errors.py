"""Network errors.

Tree::

    NetworkError                NET_ERROR
     ├── FrameTooLarge          NET_FRAME_TOO_LARGE
     ├── TlsFailed              NET_TLS_FAILED         refused connection ([NET-REJECT-LOG.1])
     ├── HandshakeTimeout       NET_HANDSHAKE_TIMEOUT  refused connection
     └── HandshakeFailed        NET_HANDSHAKE_FAILED
          ├── BadHello          NET_BAD_HELLO          refused connection
          ├── WrongChainPeer    NET_WRONG_CHAIN        refused connection
          └── NotMember         NET_NOT_MEMBER         refused connection
"""

from __future__ import annotations

from consortia.errors import NodeError


class NetworkError(NodeError):
    """A peer connection failed or a peer misbehaved."""

    code = "NET_ERROR"


class FrameTooLarge(NetworkError):
    """A frame's declared length exceeds the limit."""

    code = "NET_FRAME_TOO_LARGE"


class HandshakeFailed(NetworkError):
    """The peer's Hello does not bind its certificate to a known validator (see subclasses)."""

    code = "NET_HANDSHAKE_FAILED"


class BadHello(HandshakeFailed):
    """The peer's first message is missing, undecodable, not a Hello, or its
    signature, key or certificate binding does not hold."""

    code = "NET_BAD_HELLO"


class WrongChainPeer(HandshakeFailed):
    """The peer's Hello names another chain id or genesis."""

    code = "NET_WRONG_CHAIN"


class NotMember(HandshakeFailed):
    """No member organisation's CA issued the peer's certificate (governance state)."""

    code = "NET_NOT_MEMBER"


class TlsFailed(NetworkError):
    """The TLS handshake failed: not TLS, no certificate, or one no trusted CA issued."""

    code = "NET_TLS_FAILED"


class HandshakeTimeout(NetworkError):
    """The peer did not finish TLS or send its Hello within the handshake timeout."""

    code = "NET_HANDSHAKE_TIMEOUT"
