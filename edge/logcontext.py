"""The call a log record concerns, for structured logs (``[log] json = true``).

Code handling one call sets :data:`call_id`; asyncio tasks started from there
inherit it, so every record they log carries the call id without passing it
around. :class:`CallIdFilter` copies it onto each record as ``record.call_id``.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

call_id: ContextVar[str | None] = ContextVar("edge_call_id", default=None)


class CallIdFilter(logging.Filter):
    """Adds ``call_id`` (None outside a call) to every record that passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "call_id"):
            record.call_id = call_id.get()
        return True
