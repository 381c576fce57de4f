"""One typed configuration: defaults < ``edge.toml`` < ``EDGE_*`` variables < command-line flags.

:func:`load_config` reads the TOML file and the environment once, at start, and
turns them into frozen option dataclasses. Every value is checked against its
type hint and the limits declared below (:data:`RANGES`, :data:`CHOICES`,
:data:`ORDER`); the first bad one raises :class:`~edge.errors.ConfigError`
with one line naming where it came from, the key, the value and what is
allowed::

    edge.toml: [server] port = 70000: must be 0 (any free port) or an integer from 1 to 65535
    EDGE_PIPELINE__CUES__RAISE_AT=high: must be a number above 0 and up to 1

The file format, the override rules and the table of settings are in
docs/configuration.md; ``edge config --example`` prints every setting.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import enum
import functools
import inspect
import ipaddress
import json
import math
import os
import re
import sys
import textwrap
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edge.errors import ConfigError
from edge.pipeline.engine import PipelineOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = "edge.toml"
ENV_PREFIX = "EDGE_"
#: Fields whose values are secrets: masked when printed, never shown in errors.
SECRETS = frozenset({"token", "forward_token"})
MASK = "***"
MIN_TOKEN_LENGTH = 16


class Share(str, enum.Enum):
    """What leaves the process."""

    CUES = "cues"
    TRANSCRIPTS = "transcripts"


class TokenRole(str, enum.Enum):
    AGENT = "agent"  # sees the calls of one agent
    SUPERVISOR = "supervisor"  # sees the calls of the agents in some teams
    INGEST = "ingest"  # sends call audio in


@dataclass(frozen=True, kw_only=True)
class ServerOptions:
    host: str = "127.0.0.1"  # 0.0.0.0 = every interface (needs [[tokens]])
    port: int = 8765  # TCP port to listen on
    tls_cert: Path | None = None  # PEM certificate chain; set tls_key with it
    tls_key: Path | None = None  # PEM private key of tls_cert
    allowed_origins: tuple[str, ...] = ()  # browser Origins allowed besides same-origin
    max_connections: int = 256  # websocket connections at once
    max_message_bytes: int = 1_048_576  # largest websocket message accepted
    max_calls_per_source: int = 64  # calls one ingest source may have open
    ping_interval: float = 20.0  # seconds between keepalive pings
    ping_timeout: float = 20.0  # seconds to wait for a pong before closing
    resume_events: int = 4096  # per-call events kept so a client can resume
    client_queue: int = 512  # events queued per subscriber before it is dropped
    drain_seconds: float = 10.0  # on SIGTERM: seconds calls get to finish


@dataclass(frozen=True, kw_only=True)
class PrivacyOptions:
    share: Share = Share.TRANSCRIPTS  # cues only, or cues and (redacted) transcripts
    redact: bool = True  # mask numbers, names and addresses in transcripts
    event_log: Path | None = None  # folder for a JSONL event log; not set = nothing on disk
    retention_days: float = 7.0  # days event logs are kept


@dataclass(frozen=True, kw_only=True)
class TokenSpec:
    token: str  # the secret a client presents; unique, 16 characters or more
    role: TokenRole
    name: str = ""  # who holds it, for logs (the token itself is never logged)
    agent: str | None = None  # the agent id (role agent)
    teams: tuple[str, ...] = ()  # the teams seen (role supervisor)
    source: str | None = None  # the source name (role ingest)


@dataclass(frozen=True, kw_only=True)
class CaptureOptions:
    caller_device: str | None = None  # device name (part of it, any case) or index
    agent_device: str | None = None
    stereo_device: str | None = None  # both legs from one device: left caller, right agent
    rate: int | None = None  # device sample rate; not set = the device's default
    buffer_seconds: float = 2.0  # audio buffered per leg before the oldest is dropped
    forward_url: str | None = None  # send the audio to `edge serve` (its ingest URL)
    forward_token: str | None = None  # ingest token for forward_url
    agent_id: str = ""  # who this workstation's agent is
    team: str = ""  # the agent's team


@dataclass(frozen=True, kw_only=True)
class LogOptions:
    level: str = "warning"
    json: bool = False  # one JSON object per line instead of text


@dataclass(frozen=True, kw_only=True)
class MetricsOptions:
    port: int | None = None  # `edge run`: serve /metrics here (`edge serve` uses its own port)


@dataclass(frozen=True, kw_only=True)
class Config:
    pipeline: PipelineOptions = field(default_factory=PipelineOptions)
    server: ServerOptions = field(default_factory=ServerOptions)
    privacy: PrivacyOptions = field(default_factory=PrivacyOptions)
    tokens: tuple[TokenSpec, ...] = ()
    capture: CaptureOptions = field(default_factory=CaptureOptions)
    log: LogOptions = field(default_factory=LogOptions)
    metrics: MetricsOptions = field(default_factory=MetricsOptions)


# -- limits ------------------------------------------------------------------


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


@dataclass(frozen=True)
class Range:
    """The numbers a setting allows."""

    lo: float | None = None
    hi: float | None = None
    above: bool = False  # lo itself is not allowed
    below: bool = False  # hi itself is not allowed
    zero: str = ""  # 0 is allowed too, and means this

    def allows(self, x: float) -> bool:
        if self.zero and x == 0:
            return True
        if self.lo is not None and (x <= self.lo if self.above else x < self.lo):
            return False
        return self.hi is None or (x < self.hi if self.below else x <= self.hi)

    def describe(self, kind: str) -> str:
        lo = None if self.lo is None else _num(self.lo)
        hi = None if self.hi is None else _num(self.hi)
        if lo is not None and hi is not None:
            if self.above or self.below:
                start = f"above {lo}" if self.above else f"from {lo}"
                text = f"{kind} {start} and {'below' if self.below else 'up to'} {hi}"
            else:
                text = f"{kind} from {lo} to {hi}"
        elif lo is not None:
            text = f"{kind} above {lo}" if self.above else f"{kind} of {lo} or more"
        elif hi is not None:
            text = f"{kind} below {hi}" if self.below else f"{kind} of {hi} or less"
        else:
            text = kind
        return f"0 ({self.zero}) or {text}" if self.zero else text


_UNIT = Range(0, 1)
_POSITIVE = Range(0, above=True)
_NONNEGATIVE = Range(0)
_COUNT = Range(1)
_PORT = Range(1, 65535, zero="any free port")

#: Limits of numeric settings, by dotted key. The stage option classes check
#: themselves too; these say what is allowed in the user's terms first.
RANGES: dict[str, Range] = {
    "server.port": _PORT,
    "server.max_connections": _COUNT,
    "server.max_message_bytes": Range(1024),
    "server.max_calls_per_source": _COUNT,
    "server.ping_interval": _POSITIVE,
    "server.ping_timeout": _POSITIVE,
    "server.resume_events": Range(16),
    "server.client_queue": Range(8),
    "server.drain_seconds": _POSITIVE,
    "privacy.retention_days": _POSITIVE,
    "capture.rate": Range(8000, 384_000),
    "capture.buffer_seconds": _POSITIVE,
    "metrics.port": _PORT,
    "pipeline.vad.threshold": Range(0.05, 0.95),
    "pipeline.vad.min_speech": Range(0, 5),
    "pipeline.vad.min_silence": Range(0.1, 5),
    "pipeline.vad.pad": Range(0, 1),
    "pipeline.vad.max_utterance": Range(2, 29),
    "pipeline.vad.split_search": _POSITIVE,
    "pipeline.stream.partial_interval": Range(0.2, 10, zero="no partials"),
    "pipeline.stream.first_partial": Range(0, 10),
    "pipeline.guards.no_speech_prob": _UNIT,
    "pipeline.guards.min_logprob": Range(hi=0),
    "pipeline.guards.hallucination_min_confidence": _UNIT,
    "pipeline.guards.hallucination_min_speech_ratio": _UNIT,
    "pipeline.guards.max_repeats": _COUNT,
    "pipeline.asr.cpu_threads": Range(1, zero="all cores, up to 4"),
    "pipeline.asr.workers": Range(1, 8),
    "pipeline.asr.final_beam_size": Range(1, 10),
    "pipeline.asr.partial_beam_size": Range(1, 10),
    "pipeline.emotion.window": Range(1, 30),
    "pipeline.emotion.hop": Range(0.2, 10),
    "pipeline.emotion.first": Range(0.5, 30),
    "pipeline.emotion.threshold": _UNIT,
    "pipeline.emotion.hangover": _NONNEGATIVE,
    "pipeline.emotion.gap": Range(0, 10),
    "pipeline.emotion.onset_gap": Range(0, 10),
    "pipeline.emotion.onset_first": Range(0.5, 30),
    "pipeline.emotion.onset_hop": Range(0.1, 10),
    "pipeline.emotion.prior_weight": _NONNEGATIVE,
    "pipeline.emotion.baseline_windows": _NONNEGATIVE,
    "pipeline.prosody.window": Range(1, 30),
    "pipeline.prosody.interval": Range(0.2, 30),
    "pipeline.prosody.min_speech": _POSITIVE,
    "pipeline.prosody.fmin": Range(40, 1000),
    "pipeline.prosody.fmax": Range(40, 1000),
    "pipeline.prosody.voicing": Range(0.01, 0.6),
    "pipeline.prosody.min_voiced": _COUNT,
    "pipeline.prosody.quiet_db": Range(-120, 0),
    "pipeline.prosody.rate_window": Range(2, 300),
    "pipeline.prosody.min_rate_words": _COUNT,
    "pipeline.prosody.baseline_speech": Range(2, 600),
    "pipeline.prosody.baseline_adapt": _POSITIVE,
    "pipeline.conversation.talk_window": Range(5, 3600),
    "pipeline.conversation.min_talk": _POSITIVE,
    "pipeline.conversation.rate_window": Range(2, 600),
    "pipeline.conversation.rate_min_speech": _POSITIVE,
    "pipeline.cues.text_weight": Range(0, 1, below=True),
    "pipeline.cues.prosody_weight": Range(0, 1, below=True),
    "pipeline.cues.z_onset": _NONNEGATIVE,
    "pipeline.cues.z_full": Range(0, 10, above=True),
    "pipeline.cues.smoothing": Range(0.05, 60),
    "pipeline.cues.hold": Range(0, 60),
    "pipeline.cues.idle_fade": _POSITIVE,
    "pipeline.cues.stale": Range(0.5, 60),
    "pipeline.cues.text_fade": Range(0.5, 600),
    "pipeline.cues.resolution": Range(0.01, 1),
    "pipeline.cues.raise_at": Range(0, 1, above=True),
    "pipeline.cues.clear_at": Range(0, 1, above=True),
    "pipeline.cues.high_at": Range(0, 1, above=True),
    "pipeline.cues.min_duration": Range(0, 60),
    "pipeline.cues.clear_after": Range(0, 600),
    "pipeline.cues.cooldown": Range(0, 3600),
    "pipeline.cues.warmup": Range(0, 600),
    "pipeline.cues.warmup_raise_at": _UNIT,
    "pipeline.cues.onset_readings": Range(1, 20, zero="no fast onset path"),
    "pipeline.cues.onset_at": Range(0, 1, above=True),
    "pipeline.cues.onset_z": Range(0, 20),
    "pipeline.cues.onset_prior": Range(-10, 10),
    "pipeline.cues.onset_prior_spread": Range(0.05, 10),
    "pipeline.cues.onset_prior_weight": _NONNEGATIVE,
    "pipeline.cues.onset_history": Range(1, 100_000),
    "pipeline.cues.evidence_voice": _UNIT,
    "pipeline.cues.evidence_text": _UNIT,
    "pipeline.cues.evidence_z": _NONNEGATIVE,
    "pipeline.cues.arousal_high": _UNIT,
    "pipeline.cues.shaky_share": _UNIT,
    "pipeline.cues.escalate_window": Range(10, 3600),
    "pipeline.cues.escalate_slope": _POSITIVE,
    "pipeline.cues.escalate_clear_slope": _NONNEGATIVE,
    "pipeline.cues.escalate_half_slope": _NONNEGATIVE,
    "pipeline.cues.escalate_floor": _UNIT,
    "pipeline.cues.long_silence": Range(1, 600),
    "pipeline.cues.overtalk": Range(0.2, 60),
    "pipeline.cues.agent_fast_wps": _POSITIVE,
    "pipeline.cues.agent_fast_clear_wps": _POSITIVE,
    "pipeline.cues.notice_clear_after": Range(0, 60),
    "pipeline.cues.notice_cooldown": Range(0, 3600),
}

#: Text settings with a fixed set of values (enums list their own).
CHOICES: dict[str, tuple[str, ...]] = {
    "log.level": ("debug", "info", "warning", "error"),
    "pipeline.asr.device": ("auto", "cpu", "cuda"),
    # CTranslate2's quantisation types (https://opennmt.net/CTranslate2/quantization.html)
    "pipeline.asr.compute_type": (
        "auto",
        "default",
        "int8",
        "int8_float32",
        "int8_float16",
        "int8_bfloat16",
        "int16",
        "float16",
        "bfloat16",
        "float32",
    ),
}

#: Text settings with a required shape: (pattern, what it should look like).
FORMATS: dict[str, tuple[str, str]] = {
    "server.allowed_origins": (
        r"https?://[^/\s]+",
        "an origin such as https://desk.example.org (scheme and host, no path)",
    ),
    "capture.forward_url": (r"wss?://\S+", "a ws:// or wss:// URL"),
}

#: Settings that must not be empty.
NOT_EMPTY: dict[str, str] = {
    "server.host": "use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
}

#: Pairs within a section: (section, smaller, larger, strictly smaller).
ORDER: tuple[tuple[str, str, str, bool], ...] = (
    ("pipeline.vad", "split_search", "max_utterance", True),
    ("pipeline.emotion", "first", "window", False),
    ("pipeline.prosody", "interval", "window", False),
    ("pipeline.prosody", "min_speech", "window", False),
    ("pipeline.prosody", "fmin", "fmax", True),
    ("pipeline.prosody", "interval", "baseline_adapt", False),
    ("pipeline.conversation", "min_talk", "talk_window", False),
    ("pipeline.conversation", "rate_min_speech", "rate_window", False),
    ("pipeline.cues", "clear_at", "raise_at", True),
    ("pipeline.cues", "raise_at", "high_at", False),
    ("pipeline.cues", "z_onset", "z_full", True),
    ("pipeline.cues", "smoothing", "idle_fade", False),
    ("pipeline.cues", "escalate_clear_slope", "escalate_slope", True),
    ("pipeline.cues", "escalate_half_slope", "escalate_slope", False),
    ("pipeline.cues", "agent_fast_clear_wps", "agent_fast_wps", True),
)

#: String settings that name files: relative ones are taken from the config file's folder.
PATH_KEYS = frozenset({"pipeline.vad_model", "pipeline.emotion_model", "pipeline.asr.model"})

_TOKEN_NEEDS: dict[TokenRole, tuple[str, str]] = {
    TokenRole.AGENT: ("agent", 'agent = "<agent id>"'),
    TokenRole.SUPERVISOR: ("teams", 'teams = ["<team>", ...]'),
    TokenRole.INGEST: ("source", 'source = "<source name>"'),
}


# -- types -------------------------------------------------------------------

Key = tuple[str | int, ...]  # ("server", "port"), ("tokens", 0, "role")


@functools.cache
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _fields(cls: type) -> dict[str, dataclasses.Field[object]]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _unwrap(hint: object) -> tuple[object, bool]:
    """``X | None`` -> (X, True); anything else -> (it, False)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _item_type(hint: object) -> object | None:
    """The item type of ``tuple[X, ...]``, else None."""
    if typing.get_origin(hint) is tuple:
        return typing.get_args(hint)[0]
    return None


def _is_section(hint: object) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _dotted(key: Key) -> str:
    """The limits-table name of a key: indexes of [[tokens]] left out."""
    return ".".join(str(k) for k in key if isinstance(k, str))


# -- errors ------------------------------------------------------------------


class _Bad(Exception):
    """A value that does not fit; the message says what is allowed."""


def _toml(value: object) -> str:
    """A value as a TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _toml(value.value)
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    # JSON strings are TOML basic strings, but for DEL, which TOML wants escaped.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _name(text: str) -> str:
    """``text`` as is, or quoted and escaped if it would break the one line or hide in it."""
    return text if text.isprintable() else json.dumps(text)


def _shown(value: object, name: str | int) -> str:
    if name in SECRETS:
        return f'"{MASK}"'
    text = _toml(value)
    return text if len(text) <= 60 else text[:56] + " ..."


@dataclass
class _Sources:
    """Where values came from, to say so in errors."""

    file: str | None  # the config file as the user named it
    base: Path  # folder relative paths are taken from
    env: dict[Key, tuple[str, str]]  # key -> (variable, its text)
    set_in_file: set[Key] = field(default_factory=set)

    def error(self, key: Key, value: object, problem: str) -> ConfigError:
        """One line: where, the key, the value, and ``problem`` (what is allowed)."""
        if key in self.env:
            var, text = self.env[key]
            shown = MASK if key[-1] in SECRETS else _name(text)
            return ConfigError(f"{var}={shown}: {problem}")
        return ConfigError(
            f"{self.where(key[:-1])} {key[-1]} = {_shown(value, key[-1])}: {problem}"
        )

    def where(self, section: Key) -> str:
        """``edge.toml: [server]``, ``edge.toml: [[tokens]] #2``."""
        if section and section[0] == "tokens":
            name = f"[[tokens]] #{int(section[1]) + 1}" if len(section) > 1 else "[[tokens]]"
        else:
            name = f"[{_dotted(section)}]" if section else "top level:"
        return f"{self.file or 'EDGE_* variables'}: {name}"


# -- conversion --------------------------------------------------------------


def _kind(key: str, hint: object) -> str:
    """What a setting allows, in words: 'an integer from 1 to 10', 'one of: a, b'."""
    tp, _ = _unwrap(hint)
    item = _item_type(tp)
    if item is not None:
        return f"an array, each item {_kind(key, item)}"
    if tp is bool:
        text = "true or false"
    elif tp is int or tp is float:
        text = RANGES.get(key, Range()).describe("an integer" if tp is int else "a number")
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        text = "one of: " + ", ".join(str(m.value) for m in tp)
    elif key in CHOICES:
        text = "one of: " + ", ".join(CHOICES[key])
    elif key in FORMATS:
        text = FORMATS[key][1]
    elif tp is Path or key in PATH_KEYS:
        text = "a path"
    else:
        text = "a string"
    return text


def _convert(value: object, hint: object, key: str, base: Path) -> object:
    """A TOML value as the type ``hint`` asks for, within its limits; else :class:`_Bad`."""
    tp, optional = _unwrap(hint)
    if optional and value == "":
        return None
    item = _item_type(tp)
    if item is not None:
        if not isinstance(value, list):
            raise _Bad(f"must be {_kind(key, tp)}, e.g. [{_toml(_example_item(item, key))}]")
        out = []
        for i, v in enumerate(value, 1):
            try:
                out.append(_convert(v, item, key, base))
            except _Bad as e:
                raise _Bad(f"item {i} ({_toml(v)}) {e}") from None
        return tuple(out)
    must = f"must be {_kind(key, hint)}"
    if tp is bool:
        if not isinstance(value, bool):
            raise _Bad(must)
        return value
    if tp is int or tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad(must)
        if tp is int and not isinstance(value, int):
            raise _Bad(must)
        if not math.isfinite(value) or not RANGES.get(key, Range()).allows(value):
            raise _Bad(must)
        return float(value) if tp is float else value
    if not isinstance(value, str):
        quote = f": quote it, {_toml(str(value))}" if isinstance(value, int | float) else ""
        raise _Bad(must + quote)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise _Bad(must) from None
    if key in CHOICES and value not in CHOICES[key]:
        raise _Bad(must)
    if key in FORMATS and not re.fullmatch(FORMATS[key][0], value):
        raise _Bad(must)
    if key in NOT_EMPTY and not value.strip():
        raise _Bad(f"must not be empty: {NOT_EMPTY[key]}")
    if tp is Path:
        if not value.strip():
            raise _Bad(must)
        return base / Path(value).expanduser()
    if key in PATH_KEYS:
        return _resolve_path_text(value, base, hub=key == "pipeline.asr.model")
    return value


def _resolve_path_text(text: str, base: Path, *, hub: bool) -> str:
    """A relative path taken from ``base``; a bare name such as small.en stays a hub name."""
    path = Path(text).expanduser()
    looks_like_path = path.is_absolute() or "/" in text or os.sep in text or text.startswith(".")
    if hub and not looks_like_path and not (base / path).exists():
        return text
    return str(base / path)


def _example_item(item: object, key: str) -> object:
    if isinstance(item, type) and issubclass(item, enum.Enum):
        return next(iter(item)).value
    return "https://desk.example.org" if key in FORMATS else "..."


def _build(cls: type, table: Mapping[str, object], key: Key, src: _Sources) -> object:
    """One section from its TOML table and the environment overrides beneath it."""
    fields = _fields(cls)
    hints = _hints(cls)
    for name in table:
        if name not in fields:
            raise _unknown(cls, table, key, name, src)
    kwargs: dict[str, object] = {}
    for name in fields:
        hint = hints[name]
        sub: Key = (*key, name)
        if _is_section(hint):
            inner = table.get(name, {})
            if not isinstance(inner, dict):
                raise src.error(sub, inner, f"must be a table: write it as [{_dotted(sub)}]")
            if inner or any(k[: len(sub)] == sub for k in src.env):
                kwargs[name] = _build(typing.cast(type, hint), inner, sub, src)
            continue
        if name == "tokens" and cls is Config:
            kwargs[name] = _tokens(table.get(name, []), src)
            continue
        if sub in src.env:
            value: object = _env_value(src.env[sub][1], hint)
            base = Path.cwd()
        elif name in table:
            value, base = table[name], src.base
            src.set_in_file.add(sub)
        else:
            if fields[name].default is dataclasses.MISSING and (
                fields[name].default_factory is dataclasses.MISSING
            ):
                kind = _kind(_dotted(sub), hint)
                raise ConfigError(f"{src.where(key)}: {name} is missing ({kind})")
            continue
        try:
            kwargs[name] = _convert(value, hint, _dotted(sub), base)
        except _Bad as e:
            raise src.error(sub, value, str(e)) from None
    _check_order(cls, kwargs, key, src)
    try:
        return cls(**kwargs)
    except ConfigError as e:  # a rule the options class checks itself
        raise ConfigError(f"{src.where(key)} {e}") from None


def _unknown(
    cls: type, table: Mapping[str, object], key: Key, name: str, src: _Sources
) -> ConfigError:
    known = list(_fields(cls))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if isinstance(table[name], dict) and not key:
        hint = (
            f"did you mean [{close[0]}]?"
            if close
            else "sections are " + ", ".join(f"[{k}]" for k in known)
        )
        return ConfigError(f"{src.file}: unknown section [{_name(name)}]: {hint}")
    if isinstance(table[name], dict):
        full = f"{_dotted(key)}.{_name(name)}"
        hint = (
            f"did you mean [{_dotted(key)}.{close[0]}]?" if close else "see docs/configuration.md"
        )
        return ConfigError(f"{src.file}: unknown section [{full}]: {hint}")
    if not key:
        owners = sorted(k.rsplit(".", 1)[0] for k in _all_keys() if k.endswith("." + name))
        hint = (
            "put it under " + " or ".join(f"[{o}]" for o in owners)
            if owners
            else "settings go in sections such as [server]"
        )
        return ConfigError(f"{src.file}: {_name(name)} at the top level: {hint}")
    hint = f"did you mean {close[0]}?" if close else "see docs/configuration.md for the keys"
    return ConfigError(f"{src.where(key)} unknown key {_name(name)}: {hint}")


def _check_order(cls: type, kwargs: dict[str, object], key: Key, src: _Sources) -> None:
    section = _dotted(key)
    for sec, small, large, strict in ORDER:
        if sec != section:
            continue
        a = kwargs.get(small, _fields(cls)[small].default)
        b = kwargs.get(large, _fields(cls)[large].default)
        assert isinstance(a, int | float) and isinstance(b, int | float)
        if a < b or (a == b and not strict):
            continue
        # Blame the one the user set; the smaller one if both.
        if (*key, small) in src.env or (*key, small) in src.set_in_file:
            word = "below" if strict else "at most"
            raise src.error((*key, small), a, f"must be {word} {large} ({_toml(b)})")
        word = "above" if strict else "at least"
        raise src.error((*key, large), b, f"must be {word} {small} ({_toml(a)})")


def _tokens(value: object, src: _Sources) -> tuple[TokenSpec, ...]:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ConfigError(
            f"{src.file}: tokens must be an array of tables: write each as [[tokens]]"
        )
    specs: list[TokenSpec] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(value):
        key: Key = ("tokens", i)
        spec = _build(TokenSpec, table, key, src)
        assert isinstance(spec, TokenSpec)
        token = spec.token
        if token == MASK:
            raise src.error((*key, "token"), token, "is masked: write the real token")
        if len(token) < MIN_TOKEN_LENGTH or token != token.strip():
            raise src.error(
                (*key, "token"),
                token,
                f"must be {MIN_TOKEN_LENGTH} characters or more, without spaces around it "
                "(make one: python -c 'import secrets; print(secrets.token_urlsafe())')",
            )
        if token in seen:
            raise src.error(
                (*key, "token"),
                token,
                f"the same token as [[tokens]] #{seen[token] + 1}: every token must be unique",
            )
        seen[token] = i
        needed, example = _TOKEN_NEEDS[spec.role]
        if not getattr(spec, needed):
            raise src.error(
                (*key, "role"), spec.role, f"a token of role {spec.role.value} needs {example}"
            )
        specs.append(spec)
    return tuple(specs)


def _check_server(server: ServerOptions, src: _Sources) -> None:
    if (server.tls_cert is None) != (server.tls_key is None):
        given, missing = (
            ("tls_cert", "tls_key") if server.tls_key is None else ("tls_key", "tls_cert")
        )
        raise src.error(
            ("server", given),
            str(getattr(server, given)),
            f"{missing} is not set: set both (PEM files) or neither",
        )
    for name in ("tls_cert", "tls_key"):
        path = getattr(server, name)
        if path is None:
            continue
        try:
            with path.open("rb"):
                pass
        except OSError as e:
            raise src.error(("server", name), str(path), f"cannot read it: {e.strerror}") from None


def _check_capture(capture: CaptureOptions, src: _Sources) -> None:
    if capture.stereo_device and (capture.caller_device or capture.agent_device):
        raise src.error(
            ("capture", "stereo_device"),
            capture.stereo_device,
            "takes both legs: set it, or caller_device and agent_device, not both",
        )


def check_serve(config: Config) -> None:
    """Refuse to serve beyond this machine without tokens (`edge serve` calls this)."""
    host = config.server.host
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not config.tokens:
        raise ConfigError(
            f"refusing to serve on {host} without tokens: add [[tokens]] to the config file "
            '(see edge.toml.example), or bind [server] host = "127.0.0.1"'
        )


# -- the environment ----------------------------------------------------------


def _env_value(text: str, hint: object) -> object:
    """An ``EDGE_`` variable's text as a TOML value when it parses as one, else as text.

    Text settings take the text as it is (a device index "2" stays "2"); list
    settings also take comma-separated text.
    """
    tp, optional = _unwrap(hint)
    if optional and text == "":
        return ""
    if tp is str or tp is Path or (isinstance(tp, type) and issubclass(tp, enum.Enum)):
        return text
    value = _toml_value(text)
    if _item_type(tp) is not None and isinstance(value, str):
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _toml_value(text: str) -> object:
    try:
        doc = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    value = doc.get("v")
    if len(doc) != 1 or isinstance(value, datetime.date | datetime.time):
        return text
    return value


def _env_name(key: str) -> str:
    return ENV_PREFIX + key.upper().replace(".", "__")


def _all_keys(cls: type = Config, prefix: str = "") -> Iterator[str]:
    """Every settable dotted key (the [[tokens]] keys as tokens.KEY)."""
    for name, hint in _hints(cls).items():
        if name not in _fields(cls):
            continue
        item = _item_type(hint)
        if _is_section(hint):
            yield from _all_keys(typing.cast(type, hint), f"{prefix}{name}.")
        elif item is not None and _is_section(item):
            yield from _all_keys(typing.cast(type, item), f"{prefix}{name}.")
        else:
            yield prefix + name


def _env_overrides(environ: Mapping[str, str]) -> dict[Key, tuple[str, str]]:
    """``EDGE_SECTION__KEY`` variables by key; the others (EDGE_CONFIG, EDGE_DATA) are ignored."""
    keys = {k for k in _all_keys() if not k.startswith("tokens.")}
    out: dict[Key, tuple[str, str]] = {}
    for var, text in environ.items():
        if not var.startswith(ENV_PREFIX) or "__" not in var:
            continue
        dotted = var[len(ENV_PREFIX) :].lower().replace("__", ".")
        if dotted.startswith("tokens.") or dotted == "tokens":
            raise ConfigError(f"{var}: tokens can only be set in the config file, as [[tokens]]")
        if dotted not in keys:
            below = [k for k in _all_keys() if k.startswith(dotted + ".")]
            if below:
                raise ConfigError(
                    f"{var}: is a section, not a setting: set its keys one by one, "
                    f"e.g. {_env_name(below[0])}"
                )
            names = [_env_name(k) for k in keys]
            close = difflib.get_close_matches(var.upper(), names, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else "see docs/configuration.md"
            raise ConfigError(f"{var}: no such setting ({dotted}): {hint}")
        out[tuple(dotted.split("."))] = (var, text)
    return out


# -- loading -----------------------------------------------------------------


def config_path(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The file :func:`load_config` reads: ``path``, else $EDGE_CONFIG, else ./edge.toml if any."""
    if path is not None:
        return Path(path)
    environ = os.environ if environ is None else environ
    if environ.get("EDGE_CONFIG"):
        return Path(environ["EDGE_CONFIG"])
    default = Path(DEFAULT_FILE)
    return default if default.is_file() else None


def _read(path: Path) -> dict[str, object]:
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{name}: no such file; give an existing file (--config or $EDGE_CONFIG), "
            "or none to use the defaults"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a folder; give the TOML file in it") from None
    except OSError as e:
        raise ConfigError(f"{name}: cannot read it: {e.strerror}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        m = re.fullmatch(r"(.*) \(at (line \d+, column \d+|end of document)\)", str(e))
        what, where = (m.group(1), m.group(2)) if m else (str(e), "somewhere")
        raise ConfigError(
            f"{name}: invalid TOML at {where}: {what[:1].lower()}{what[1:]}; "
            "fix that line (see edge.toml.example)"
        ) from None


def load_config(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """The effective configuration: defaults, then the file, then ``EDGE_*`` variables.

    ``path`` None means $EDGE_CONFIG if set, else ./edge.toml if it exists, else
    the defaults only. Raises :class:`ConfigError` (one line) on the first bad value.
    """
    environ = os.environ if environ is None else environ
    file = config_path(path, environ=environ)
    table = _read(file) if file is not None else {}
    src = _Sources(
        file=str(file) if file is not None else None,
        base=(file.parent if file is not None else Path.cwd()).absolute(),
        env=_env_overrides(environ),
    )
    config = _build(Config, table, (), src)
    assert isinstance(config, Config)
    _check_server(config.server, src)
    _check_capture(config.capture, src)
    return config


# -- writing -----------------------------------------------------------------

_EXAMPLES: dict[str, object] = {
    "server.tls_cert": "/etc/edge/cert.pem",
    "server.tls_key": "/etc/edge/key.pem",
    "privacy.event_log": "/var/lib/edge/events",
    "capture.caller_device": "Headset",
    "capture.agent_device": "USB Audio",
    "capture.stereo_device": "Line In",
    "capture.rate": 48000,
    "capture.forward_url": "wss://edge.example.org/ingest",
    "capture.forward_token": "<an ingest token>",
    "metrics.port": 9100,
    "pipeline.vad_model": "models/silero_vad.onnx",
    "pipeline.emotion_model": "models/emotion.onnx",
    "pipeline.asr.model": "/opt/models/whisper-small.en",
}

# For fields whose class has no comment on them, and for sections.
_HELP: dict[str, str] = {
    "pipeline": "How each call is processed. Command-line flags override these.",
    "pipeline.vad": "Speech detection (Silero VAD) and cutting speech into utterances.",
    "pipeline.vad.threshold": "speech probability that starts speech",
    "pipeline.stream": "When partial and final transcripts are asked for.",
    "pipeline.guards": "Filters against Whisper's hallucinations on silence and noise.",
    "pipeline.guards.min_logprob": "average log-probability below which a no-speech guess wins",
    "pipeline.guards.hallucination_min_confidence": "finals less confident than this are checked",
    "pipeline.guards.hallucination_min_speech_ratio": "share of speech those finals need",
    "pipeline.asr": "Speech recognition (faster-whisper).",
    "pipeline.asr.device": "where Whisper runs; auto = CUDA when present",
    "pipeline.asr.language": "language spoken",
    "pipeline.asr.final_beam_size": "beam size of final transcripts",
    "pipeline.asr.partial_beam_size": "beam size of partial transcripts",
    "pipeline.asr.allow_download": "let model be a hub name such as small.en (needs internet)",
    "pipeline.emotion": "The acoustic emotion model on the caller's voice.",
    "pipeline.emotion.enabled": "score the voice at all",
    "pipeline.prosody": "Pitch, loudness and speaking rate against the speaker's own baseline.",
    "pipeline.conversation": "Talk time, silences and speaking rate across both sides.",
    "pipeline.cues": "How the signals fuse into a distress score and when cues raise and clear.",
    "pipeline.cues.raised_z": "loudness z-score that, with arousal_high, is a raised voice",
    "pipeline.cues.high_at": "distress score at which the cue turns high",
    "pipeline.cues.notice_cooldown": "seconds after a notice clears before it may raise again",
    "pipeline.cues.agent_fast_clear_wps": "agent words per second below which fast speech clears",
    "server": "`edge serve`: the websocket server.",
    "privacy": "What leaves the process and what is kept on disk.",
    "tokens": "Who may connect to `edge serve`, one [[tokens]] table each.",
    "tokens.role": "what the holder may see or do",
    "capture": "`edge run`: audio devices on an agent's workstation.",
    "capture.agent_device": "as caller_device, for the agent's leg",
    "log": "Logging (--debug overrides the level).",
    "log.level": "least severe messages logged",
    "metrics": "Prometheus metrics.",
}

_HEADER = """\
# empathy-edge configuration: every setting with its default.
#
# Copy this file to edge.toml (read from the current folder), or point --config or
# $EDGE_CONFIG at it, and keep only what you change. Any setting can also be set by an
# environment variable EDGE_<SECTION>__<KEY>, e.g. EDGE_SERVER__PORT=9000 or
# EDGE_PIPELINE__CUES__RAISE_AT=0.7. Precedence: defaults < this file < environment
# < command-line flags. Relative paths are taken from this file's folder. A setting
# that is "not set" has no value: leave it out (or set it to "").
# Check a file with `edge config --check`; see docs/configuration.md.
"""

_TOKENS_EXAMPLE = """\
# [[tokens]]
# token = "<16 or more random characters>"  # e.g. from: openssl rand -base64 24
# role = "supervisor"
# name = "Night shift lead"
# teams = ["renal", "oncology"]
#
# [[tokens]]
# token = "<another token>"
# role = "agent"
# agent = "a.smith"
#
# [[tokens]]
# token = "<another token>"
# role = "ingest"
# source = "pbx-1"
"""


@functools.cache
def _comments(cls: type) -> dict[str, str]:
    """The comment on each field in the source of ``cls``: on its line, else just above it."""
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    above: list[str] = []
    for line in lines[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
            continue
        m = re.match(r"\s+(\w+)\s*:[^#]*?(?:#\s*(.*))?$", line)
        if m and m.group(1) in _fields(cls):
            out[m.group(1)] = m.group(2) or " ".join(above)
        above = []
    return out


def describe(key: str) -> str:
    """What a setting or section is for, in a few words ("" if nobody said)."""
    if key in _HELP:
        return _HELP[key]
    section, _, name = key.rpartition(".")
    cls = _section_class(section)
    text = _comments(cls).get(name, "") if cls else ""
    return re.sub(r"\bNone\b", "not set", text)  # TOML has no None


def _section_class(section: str) -> type | None:
    cls: type = Config
    for part in section.split(".") if section else ():
        hint = _hints(cls).get(part)
        item = _item_type(hint)
        hint = item if item is not None else hint
        if not _is_section(hint):
            return None
        cls = typing.cast(type, hint)
    return cls


def _render(config: Config, *, mask: bool, comments: bool) -> str:
    out: list[str] = []

    def comment(text: str) -> None:
        if comments and text:
            out.extend(textwrap.wrap(text, 98, initial_indent="# ", subsequent_indent="# "))

    def section(obj: object, key: str, header: str) -> None:
        cls = type(obj)
        scalars = [f for f in _fields(cls) if not _is_section(_hints(cls)[f])]
        if out:
            out.append("")
        comment(describe(key) if key in _HELP else "")
        out.append(header)
        for name in scalars:
            dotted = f"{key}.{name}"
            value = getattr(obj, name)
            if comments:
                help_text = describe(dotted)
                allowed = _kind(dotted, _hints(cls)[name])
                comment(f"{help_text} ({allowed})" if help_text else allowed.capitalize())
            if value is None:
                example = _EXAMPLES.get(dotted)
                shown = _toml(example) if example is not None and comments else "..."
                out.append(f"# {name} = {shown}" + ("" if comments else "  (not set)"))
            elif mask and name in SECRETS:
                out.append(f'{name} = "{MASK}"')
            else:
                out.append(f"{name} = {_toml(value)}")
        for name in _fields(cls):
            if name not in scalars:
                section(getattr(obj, name), f"{key}.{name}", f"[{key}.{name}]")

    for name in _fields(Config):
        value = getattr(config, name)
        if name != "tokens":
            section(value, name, f"[{name}]")
            continue
        out.append("")
        comment(_HELP["tokens"])
        if not value:
            out.append(_TOKENS_EXAMPLE.rstrip("\n") if comments else "# no [[tokens]]")
        for i, spec in enumerate(value):
            if i:
                out.append("")
            section_lines = _render_token(spec, mask=mask)
            out.extend(section_lines)
    return "\n".join(out) + "\n"


def _render_token(spec: TokenSpec, *, mask: bool) -> list[str]:
    lines = ["[[tokens]]"]
    for name in _fields(TokenSpec):
        value = getattr(spec, name)
        if value is None:
            continue
        if mask and name in SECRETS:
            lines.append(f'{name} = "{MASK}"')
        else:
            lines.append(f"{name} = {_toml(value)}")
    return lines


def config_to_toml(config: Config, *, mask_secrets: bool = True) -> str:
    """``config`` as TOML; :func:`load_config` reads it back when secrets are not masked."""
    return _render(config, mask=mask_secrets, comments=False)


def example_toml() -> str:
    """The commented example file (edge.toml.example): every setting at its default."""
    return _HEADER + "\n" + _render(Config(), mask=True, comments=True)


def settings_markdown() -> str:
    """The table of settings in docs/configuration.md."""
    rows = [
        "| key | default | allowed | meaning |",
        "|---|---|---|---|",
    ]
    for key in _all_keys():
        section, _, name = key.rpartition(".")
        cls = _section_class(section)
        assert cls is not None
        f = _fields(cls)[name]
        if f.default is not dataclasses.MISSING:
            default = "not set" if f.default is None else _toml(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = _toml(f.default_factory())
        else:
            default = "required"
        allowed = _kind(key, _hints(cls)[name])
        cells = [f"`{key}`", default if default in ("not set", "required") else f"`{default}`"]
        cells += [allowed, describe(key)]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
