"""The server's protocol vocabulary: version, close codes and the one refusal.

Both websocket protocols (``/ingest`` in :mod:`edge.server.ingest`,
``/subscribe`` in :mod:`edge.server.subscribe`), access control
(:mod:`edge.server.auth`), the hub and the clients (:mod:`edge.client`) speak
these words; ``docs/server.md`` lists the codes for integrators.

A refusal is one exception, :class:`Refused`: its ``code`` is the websocket
close code to answer with and its message one sentence saying what to do. The
client reads it from an ``error`` message (:func:`error_message`) before the close.

Messages are read with :func:`parse_object` and their fields with :func:`checked`
(one type check for every field of every message, so a wrong type is a 1008
refusal, never a crash); input echoed back in a refusal goes through
:func:`shown`, which keeps it short.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from edge.errors import EdgeError
from edge.events import loads

T = TypeVar("T")

PROTOCOL = 1  # the version the ``started`` and ``subscribed`` replies announce
ECHO = 80  # characters of a client's input a refusal may quote


class Close(enum.IntEnum):
    """Websocket close codes the service answers with (4000-4999: application codes)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    BAD_MESSAGE = 1008  # policy violation: malformed or unexpected message
    UNSUPPORTED = 1003  # audio format we cannot take
    NOT_UTF8 = 1007  # a text message that is not UTF-8: websockets closes, no error message
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


def shown(value: object, limit: int = ECHO) -> str:
    """``value`` as a refusal quotes it: its ``repr``, cut to ``limit`` characters.

    A client's input is echoed so it can see what was wrong, but never in full:
    a 900 KB ``type`` must not make a 900 KB log line (issue 12). Never pass a
    token here; the service also blanks configured tokens out of what it logs
    and sends (:meth:`edge.server.auth.Tokens.scrub`).
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    size = len(value) if isinstance(value, str) else len(text)
    return f"{text[:limit]}… ({size} characters)"


#: Deepest nesting of arrays and objects read; our messages nest four levels at most.
MAX_DEPTH = 32


def _nests_deeper(text: str, limit: int) -> bool:
    """Arrays and objects nested deeper than ``limit`` (brackets inside strings aside).

    Checked before the parser, which would otherwise recurse until a
    ``RecursionError`` whose deep traceback is itself a hazard (it failed to
    format in pytest's unraisable-exception hook). Most messages hold too few
    brackets to need the scan.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def parse_object(message: str | bytes) -> dict[str, Any]:
    """A text message as a JSON object; raises :class:`Refused` (1008) otherwise.

    Nesting deeper than :data:`MAX_DEPTH` (``"[" * 100000``) is a malformed
    message like any other, refused before the parser recurses (issue 12); so is an integer of
    over 4300 digits, which Python's parser refuses with a plain ``ValueError``
    (found by tests/server/test_fuzz.py).
    """
    if not isinstance(message, str):
        raise Refused(Close.BAD_MESSAGE, "send JSON text messages, not binary")
    if _nests_deeper(message, MAX_DEPTH):
        raise Refused(Close.BAD_MESSAGE, "message nests too deeply: send a flat JSON object")
    try:
        data = loads(message)
    except json.JSONDecodeError as e:
        raise Refused(
            Close.BAD_MESSAGE, f"message is not JSON ({e.msg} at char {e.pos}): send JSON text"
        ) from None
    except RecursionError:
        raise Refused(
            Close.BAD_MESSAGE, "message nests too deeply: send a flat JSON object"
        ) from None
    except ValueError:  # int digits limit (sys.get_int_max_str_digits)
        raise Refused(
            Close.BAD_MESSAGE, "message holds a number too long to read: send ordinary numbers"
        ) from None
    if not isinstance(data, dict):
        raise Refused(Close.BAD_MESSAGE, "message must be a JSON object")
    return data


_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
_NAMES |= {dict: "an object", list: "a list"}


def checked(data: Mapping[str, Any], name: str, kind: type[T], default: T) -> T:
    """``data[name]`` if it has type ``kind``, ``default`` if absent or null.

    Raises :class:`Refused` (1008) naming the field when it has another type. A
    JSON ``true`` is no integer here, and a number (``float``) must be finite:
    JSON has no NaN, but Python's parser takes ``NaN`` and ``Infinity``.
    """
    value = optional(data, name, kind)
    return default if value is None else value


def optional(data: Mapping[str, Any], name: str, kind: type[T]) -> T | None:
    """:func:`checked` with None when ``name`` is absent or null."""
    value = data.get(name)
    if value is None:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value) if abs(value) < 2**1023 else math.inf
    wrong = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
    if wrong or (isinstance(value, float) and not math.isfinite(value)):
        raise Refused(Close.BAD_MESSAGE, f"{name} must be {_NAMES.get(kind, kind.__name__)}")
    return value  # type: ignore[return-value]  # checked above: an instance of kind
