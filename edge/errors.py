"""The exceptions empathy-edge raises on purpose.

Every one carries a message written for the person at the keyboard: what is
wrong and what to do about it. The CLI prints ``str(error)`` as one line and
shows the traceback only with ``--debug``.

    EdgeError
    ├── ConfigError      a bad option or setting
    ├── AudioError       input audio that cannot be read or decoded
    ├── ModelError       a model that is missing or fails to load or run
    ├── Refused          the service refuses a client's message or request, with
    │                    its websocket close code (edge.server.protocol)
    └── ServiceError     a client told by the service that it refused (edge.client)

``Refused`` and ``ServiceError`` live beside the close codes they carry.
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base class for errors reported to the user as one line."""


class ConfigError(EdgeError):
    """An option or setting has a value that is not allowed."""


class AudioError(EdgeError):
    """Input audio is missing, corrupt or in a format we cannot decode."""


class ModelError(EdgeError):
    """A model file is missing, does not match its manifest, or fails to load."""
