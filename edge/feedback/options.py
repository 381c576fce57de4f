"""The ``[feedback]`` settings: where agents' verdicts on cues are kept, and for how long.

Standard library only, so the config loader, the hub and ``edge calibrate``
can share them without loading the server.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from edge.errors import ConfigError
from edge.settings import POSITIVE, Format, check, setting

STORE_NAME = "verdicts.sqlite3"
APP = "empathy-edge"


@dataclass(frozen=True, kw_only=True)
class FeedbackOptions:
    """Agents' verdicts on cues ("this cue was wrong"), kept for `edge calibrate`.

    A verdict row holds the cue's kind, level, score and evidence tags, the
    verdict and its one-word reason, the site, the time and the agent's id and
    team: never transcript text.
    """

    SECTION: ClassVar[str] = "feedback"

    keep: bool = setting(
        True, help="keep verdicts on disk (no transcript text); false = counted in metrics only"
    )
    store: Path | None = setting(
        None,
        help="the SQLite file; not set = verdicts.sqlite3 in $STATE_DIRECTORY (systemd), "
        "else $XDG_STATE_HOME/empathy-edge, else ~/.local/state/empathy-edge",
        example="/var/lib/empathy-edge/verdicts.sqlite3",
    )
    retention_days: float = setting(365.0, help="days verdicts are kept", range=POSITIVE)
    site: str = setting(
        "",
        help="this installation's name in its verdicts; empty = the host name",
        format=Format(
            r"([A-Za-z0-9][A-Za-z0-9._-]{0,63})?",
            "a name of letters, digits, '.', '_' or '-', 64 at most, e.g. clinic-north",
        ),
    )

    def __post_init__(self) -> None:
        check(self)

    def store_path(self, environ: Mapping[str, str] | None = None) -> Path:
        """The store's file: ``store``, else the state folder's (see the help of ``store``)."""
        if self.store is not None:
            return self.store
        environ = os.environ if environ is None else environ
        # systemd's StateDirectory= may list several folders, separated by ':'.
        state = environ.get("STATE_DIRECTORY", "").split(":")[0]
        if state:
            return Path(state) / STORE_NAME
        xdg = environ.get("XDG_STATE_HOME", "")
        if xdg and Path(xdg).is_absolute():  # the XDG spec: ignore a relative one
            return Path(xdg) / APP / STORE_NAME
        try:
            home = Path.home()
        except RuntimeError:
            raise ConfigError(
                "[feedback] store is not set and this user has no home folder: "
                'set [feedback] store = "/path/to/verdicts.sqlite3", or keep = false'
            ) from None
        return home / ".local" / "state" / APP / STORE_NAME

    def site_name(self) -> str:
        """``site``, else this machine's host name."""
        return self.site or socket.gethostname() or "unnamed"
