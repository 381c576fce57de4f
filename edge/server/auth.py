"""Who may do what: tokens from the config file, bound to an agent, teams or a source.

With no ``[[tokens]]`` configured the service runs open, for a workstation
or a demo on loopback (``edge.config.check_serve`` refuses an open service on
any other address): every connection may do everything. Tokens are compared
in constant time and never logged; logs name the token's ``name``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from edge.server.options import MIN_TOKEN_LENGTH, TokenRole, TokenSpec
from edge.server.protocol import Close, Refused
from edge.server.summary import CallMeta


@dataclass(frozen=True)
class Principal:
    """An authenticated client. ``role`` None: open service, everything allowed."""

    name: str
    role: TokenRole | None
    agent: str | None = None
    teams: tuple[str, ...] = ()
    source: str | None = None

    def can_see(self, call: CallMeta) -> bool:
        if self.role is None:
            return True
        if self.role is TokenRole.AGENT:
            return call.agent_id == self.agent
        if self.role is TokenRole.SUPERVISOR:
            return call.team in self.teams
        return False


OPEN = Principal(name="open", role=None)


class Tokens:
    """The configured tokens."""

    def __init__(self, specs: Iterable[TokenSpec]) -> None:
        self._specs = tuple(specs)
        # By the SHA-256 of the token: one look-up per connection, however many
        # tokens a floor has (a token per agent: a scan of them all cost 0.5 ms
        # per connection at 1,000). A look-up's timing tells only about digests.
        self._by_digest = {_digest(spec.token.encode()): spec for spec in self._specs}

    @property
    def open(self) -> bool:
        return not self._specs

    def authenticate(self, token: object) -> Principal:
        """The principal behind ``token``; raises :class:`Refused` (4001) if none.

        ``token`` is what a client sent, of any JSON type: anything but a
        string is refused like an unknown token (and never quoted).
        """
        if self.open:
            return OPEN
        if token is not None and not isinstance(token, str):
            raise Refused(Close.UNAUTHORIZED, "token must be a string: send your access token")
        if not token:
            raise Refused(Close.UNAUTHORIZED, "no token: send your access token")
        found = self._find(token)
        if found is None:
            raise Refused(Close.UNAUTHORIZED, "unknown token: check the token you were given")
        return Principal(
            name=found.name or f"{found.role.value}:{found.agent or found.source or '?'}",
            role=found.role,
            agent=found.agent,
            teams=tuple(found.teams),
            source=found.source,
        )

    def secret_of(self, token: str) -> str | None:
        """The client secret configured with ``token`` (AudioHook request signatures), if any."""
        found = self._find(token)
        return (found.secret or None) if found is not None else None  # "": signing off

    def _find(self, token: str) -> TokenSpec | None:
        # JSON may carry a lone surrogate ("\ud800"), which strict UTF-8 cannot encode:
        # surrogatepass turns it into bytes that match no token (found by test_fuzz.py).
        sent = token.encode("utf-8", "surrogatepass")
        found = self._by_digest.get(_digest(sent))
        if found is None or not hmac.compare_digest(found.token.encode(), sent):
            return None
        return found

    def scrub(self, text: str) -> str:
        """``text`` with every configured token blanked out, for logs and error messages.

        A client may put a token in the wrong field (as a call id, a view, a
        type); a refusal that quotes the field must not write it to the log.
        """
        for spec in self._specs:
            text = text.replace(spec.token, "[token]")
            # edge.server.protocol.shown cuts long input: a token's head before the "…"
            for n in range(len(spec.token) - 1, MIN_TOKEN_LENGTH - 1, -1):
                text = text.replace(spec.token[:n] + "…", "[token]…")
        return text


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


def require(principal: Principal, *roles: TokenRole) -> None:
    """Raise :class:`Refused` (4003) unless the principal has one of ``roles``."""
    if principal.role is not None and principal.role not in roles:
        wanted = " or ".join(r.value for r in roles)
        role = principal.role.value
        article = "an" if role[0] in "aeiou" else "a"
        raise Refused(Close.FORBIDDEN, f"{article} {role} token cannot do this: it needs {wanted}")
