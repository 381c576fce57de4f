"""The server's protocol vocabulary: version, close codes and the one refusal.

Both websocket protocols (``/ingest`` in :mod:`edge.server.ingest`,
``/subscribe`` in :mod:`edge.server.subscribe`), access control
(:mod:`edge.server.auth`), the hub and the clients (:mod:`edge.client`) speak
these words; ``docs/server.md`` lists the codes for integrators.

A refusal is one exception, :class:`Refused`: its ``code`` is the websocket
close code to answer with and its message one sentence saying what to do. The
client reads it from an ``error`` message (:func:`error_message`) before the close.
"""

from __future__ import annotations

import enum
import json

from edge.errors import EdgeError

PROTOCOL = 1  # the version the ``started`` and ``subscribed`` replies announce


class Close(enum.IntEnum):
    """Websocket close codes the service answers with (4000-4999: application codes)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    BAD_MESSAGE = 1008  # policy violation: malformed or unexpected message
    UNSUPPORTED = 1003  # audio format we cannot take
    TOO_BIG = 1009
    TRY_LATER = 1013  # overloaded: too many connections, a hopeless slow subscriber
    UNAUTHORIZED = 4001  # no token or an unknown token
    FORBIDDEN = 4003  # a valid token without the right to this
    NOT_FOUND = 4004  # no such call
    CONFLICT = 4009  # call id already in use
    TOO_MANY = 4029  # limit on calls per source


class Refused(EdgeError):
    """A message, a token or a request the service will not take: answer with ``code``.

    Most refusals close the connection; a bad feedback report is only answered
    (:mod:`edge.server.subscribe`).
    """

    def __init__(self, code: Close, message: str) -> None:
        super().__init__(message)
        self.code = code


def error_message(refused: Refused) -> str:
    """The ``error`` message that tells the client why, sent before the close."""
    return json.dumps({"type": "error", "code": int(refused.code), "message": str(refused)})
