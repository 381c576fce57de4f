"""One typed configuration: defaults < ``edge.toml`` < ``EDGE_*`` variables < command-line flags.

:func:`load_config` reads the TOML file and the environment once, at start, and
turns them into the frozen options dataclasses, each declared beside what it
configures (:mod:`edge.pipeline.options`, :mod:`edge.server.options`,
:mod:`edge.feedback.options`, :mod:`edge.audio.options`). Every value is
checked against its type hint and what its declaration allows
(:mod:`edge.settings`: ranges, choices, shapes, cross-field rules); the first
bad one raises :class:`~edge.errors.ConfigError` with one line naming where it
came from, the key, the value and what is allowed::

    edge.toml: [server] port = 70000: must be 0 (any free port) or an integer from 1 to 65535
    EDGE_PIPELINE__CUES__RAISE_AT=high: must be a number above 0 and up to 1

The same declarations give ``edge.toml.example`` (:func:`example_toml`) and
the table of settings in docs/configuration.md (:func:`settings_markdown`);
``make docs`` rewrites both. This module imports no model runtime.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import enum
import ipaddress
import json
import os
import re
import sys
import textwrap
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from edge.audio.options import CaptureOptions
from edge.errors import ConfigError
from edge.feedback.options import FeedbackOptions
from edge.fleet.options import FleetOptions
from edge.pipeline.options import PipelineOptions
from edge.server.options import (
    MIN_TOKEN_LENGTH,
    TOKEN_NEEDS,
    PrivacyOptions,
    ServerOptions,
    TokenSpec,
)
from edge.settings import (
    PORT,
    Setting,
    allowed,
    check,
    declared,
    default,
    hints,
    is_enum,
    is_section,
    item_type,
    literal,
    problem,
    rules,
    section_help,
    setting,
    unwrap,
)
from edge.stages.handoff import HandoffOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_FILE = "edge.toml"
ENV_PREFIX = "EDGE_"
MASK = "***"  # a secret as printed


@dataclass(frozen=True, kw_only=True)
class LogOptions:
    """Logging (--debug overrides the level)."""

    SECTION: ClassVar[str] = "log"

    level: str = setting(
        "warning",
        help="least severe messages logged",
        choices=("debug", "info", "warning", "error"),
    )
    json: bool = setting(False, help="one JSON object per line instead of text")

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True, kw_only=True)
class MetricsOptions:
    """Prometheus metrics."""

    SECTION: ClassVar[str] = "metrics"

    port: int | None = setting(
        None,
        help="`edge run`: serve /metrics here (`edge serve` uses its own port)",
        range=PORT,
        example=9100,
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True, kw_only=True)
class Config:
    """Every section; ``[log]`` and ``[metrics]`` are the commands' own, so they live here."""

    pipeline: PipelineOptions = field(default_factory=PipelineOptions)
    server: ServerOptions = field(default_factory=ServerOptions)
    privacy: PrivacyOptions = field(default_factory=PrivacyOptions)
    feedback: FeedbackOptions = field(default_factory=FeedbackOptions)
    tokens: tuple[TokenSpec, ...] = ()
    fleet: FleetOptions = field(default_factory=FleetOptions)
    handoff: HandoffOptions = field(default_factory=HandoffOptions)
    capture: CaptureOptions = field(default_factory=CaptureOptions)
    log: LogOptions = field(default_factory=LogOptions)
    metrics: MetricsOptions = field(default_factory=MetricsOptions)


# -- types -------------------------------------------------------------------

Key = tuple[str | int, ...]  # ("server", "port"), ("tokens", 0, "role")


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _dotted(key: Key) -> str:
    """The dotted name of a key: indexes of [[tokens]] left out."""
    return ".".join(str(k) for k in key if isinstance(k, str))


def _section_class(section: str) -> type | None:
    """The options class of a dotted section ("pipeline.cues"; "" is the root)."""
    cls: type = Config
    for part in section.split(".") if section else ():
        hint = hints(cls).get(part)
        item = item_type(hint)
        hint = item if item is not None else hint
        if not is_section(hint):
            return None
        cls = typing.cast(type, hint)
    return cls


def _spec(key: str) -> Setting:
    """The declaration of the setting with dotted ``key``."""
    section, _, name = key.rpartition(".")
    cls = _section_class(section)
    assert cls is not None, key
    return declared(_fields(cls)[name])


def _secret(key: Key) -> bool:
    return bool(key) and isinstance(key[-1], str) and _spec(_dotted(key)).secret


# -- errors ------------------------------------------------------------------


class _Bad(Exception):
    """A value that does not fit; the message says what is allowed."""


def _name(text: str) -> str:
    """``text`` as is, or quoted and escaped if it would break the one line or hide in it."""
    return text if text.isprintable() else json.dumps(text)


def _shown(value: object, key: Key) -> str:
    if _secret(key):
        return f'"{MASK}"'
    text = literal(value)
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
            shown = MASK if _secret(key) else _name(text)
            return ConfigError(f"{var}={shown}: {problem}")
        return ConfigError(f"{self.where(key[:-1])} {key[-1]} = {_shown(value, key)}: {problem}")

    def where(self, section: Key) -> str:
        """``edge.toml: [server]``, ``edge.toml: [[tokens]] #2``."""
        if section and section[0] == "tokens":
            name = f"[[tokens]] #{int(section[1]) + 1}" if len(section) > 1 else "[[tokens]]"
        else:
            name = f"[{_dotted(section)}]" if section else "top level:"
        return f"{self.file or 'EDGE_* variables'}: {name}"


# -- conversion --------------------------------------------------------------


def _convert(value: object, hint: object, spec: Setting, base: Path) -> object:
    """A TOML value as the type ``hint`` asks for, within its limits; else :class:`_Bad`."""
    tp, optional = unwrap(hint)
    if optional and value == "":
        return None
    item = item_type(tp)
    if item is not None:
        if not isinstance(value, list):
            example = _example_item(item, spec)
            raise _Bad(f"must be {allowed(spec, tp)}, e.g. [{literal(example)}]")
        out = []
        for i, v in enumerate(value, 1):
            try:
                out.append(_convert(v, item, spec, base))
            except _Bad as e:
                raise _Bad(f"item {i} ({literal(v)}) {e}") from None
        return tuple(out)
    must = f"must be {allowed(spec, hint)}"
    if tp is bool:
        if not isinstance(value, bool):
            raise _Bad(must)
        return value
    if tp is int or tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad(must)
        if tp is int and not isinstance(value, int):
            raise _Bad(must)
        value = float(value) if tp is float else value
    elif not isinstance(value, str):
        quote = f": quote it, {literal(str(value))}" if isinstance(value, int | float) else ""
        raise _Bad(must + quote)
    elif is_enum(tp):
        try:
            return typing.cast(type[enum.Enum], tp)(value)
        except ValueError:
            raise _Bad(must) from None
    wrong = problem(spec, hint, value)
    if wrong is not None:
        raise _Bad(wrong)
    if tp is Path:
        assert isinstance(value, str)
        if not value.strip():
            raise _Bad(must)
        return base / Path(value).expanduser()
    if spec.path:
        assert isinstance(value, str)
        return _resolve_path_text(value, base, hub=spec.hub)
    return value


def _resolve_path_text(text: str, base: Path, *, hub: bool) -> str:
    """A relative path taken from ``base``; a bare name such as small.en stays a hub name."""
    path = Path(text).expanduser()
    looks_like_path = path.is_absolute() or "/" in text or os.sep in text or text.startswith(".")
    if hub and not looks_like_path and not (base / path).exists():
        return text
    return str(base / path)


def _example_item(item: object, spec: Setting) -> object:
    if is_enum(item):
        return next(iter(typing.cast(type[enum.Enum], item))).value
    return spec.example if spec.example is not None else "..."


def _build(cls: type, table: Mapping[str, object], key: Key, src: _Sources) -> object:
    """One section from its TOML table and the environment overrides beneath it."""
    fields = _fields(cls)
    types = hints(cls)
    for name in table:
        if name not in fields:
            raise _unknown(cls, table, key, name, src)
    kwargs: dict[str, object] = {}
    for name in fields:
        hint = types[name]
        sub: Key = (*key, name)
        if is_section(hint):
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
            if default(fields[name]) is dataclasses.MISSING:
                kind = allowed(declared(fields[name]), hint)
                raise ConfigError(f"{src.where(key)}: {name} is missing ({kind})")
            continue
        try:
            kwargs[name] = _convert(value, hint, declared(fields[name]), base)
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
    # A key of another section ([pipeline.asr] language is [pipeline] language).
    owners = sorted(k.rsplit(".", 1)[0] for k in _all_keys() if k.rsplit(".", 1)[-1] == name)
    hint = (
        f"did you mean {close[0]}?"
        if close
        else "it belongs under " + " or ".join(f"[{o}]" for o in owners)
        if owners
        else "see docs/configuration.md for the keys"
    )
    return ConfigError(f"{src.where(key)} unknown key {_name(name)}: {hint}")


def _check_order(cls: type, kwargs: dict[str, object], key: Key, src: _Sources) -> None:
    """The section's cross-field rules, blaming the value the user set (the smaller if both)."""
    for rule in rules(cls):
        a = kwargs.get(rule.small, default(_fields(cls)[rule.small]))
        b = kwargs.get(rule.large, default(_fields(cls)[rule.large]))
        assert isinstance(a, int | float) and isinstance(b, int | float)
        if rule.holds(a, b):
            continue
        if (*key, rule.small) in src.env or (*key, rule.small) in src.set_in_file:
            raise src.error((*key, rule.small), a, rule.blame_small(b))
        raise src.error((*key, rule.large), b, rule.blame_large(a))


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
        needed, example = TOKEN_NEEDS[spec.role]
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


def _check_fleet(fleet: FleetOptions, src: _Sources) -> None:
    if fleet.tls_ca is None:
        return
    if not fleet.redis_url.startswith("rediss://"):
        raise src.error(
            ("fleet", "tls_ca"),
            str(fleet.tls_ca),
            "is for TLS: set redis_url to a rediss:// URL, or leave tls_ca unset",
        )
    try:
        with fleet.tls_ca.open("rb"):
            pass
    except OSError as e:
        raise src.error(
            ("fleet", "tls_ca"), str(fleet.tls_ca), f"cannot read it: {e.strerror}"
        ) from None


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
    tp, optional = unwrap(hint)
    if optional and text == "":
        return ""
    if tp is str or tp is Path or is_enum(tp):
        return text
    value = _toml_value(text)
    if item_type(tp) is not None and isinstance(value, str):
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
    for name, hint in hints(cls).items():
        if name not in _fields(cls):
            continue
        item = item_type(hint)
        if is_section(hint):
            yield from _all_keys(typing.cast(type, hint), f"{prefix}{name}.")
        elif item is not None and is_section(item):
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
    _check_fleet(config.fleet, src)
    return config


# -- writing -----------------------------------------------------------------

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


def describe(key: str) -> str:
    """What a setting or section is for, in a few words: its declared help."""
    cls = _section_class(key)
    return section_help(cls) if cls is not None else _spec(key).help


def _render(config: Config, *, mask: bool, comments: bool) -> str:
    out: list[str] = []

    def comment(text: str) -> None:
        if comments and text:
            out.extend(textwrap.wrap(text, 98, initial_indent="# ", subsequent_indent="# "))

    def section(obj: object, key: str, header: str) -> None:
        cls: type = type(obj)
        types = hints(cls)
        scalars = [f for f in _fields(cls) if not is_section(types[f])]
        if out:
            out.append("")
        comment(section_help(cls))
        out.append(header)
        for name in scalars:
            spec = declared(_fields(cls)[name])
            value = getattr(obj, name)
            if comments:
                what = allowed(spec, types[name])
                comment(f"{spec.help} ({what})" if spec.help else what.capitalize())
            if value is None:
                example = spec.example
                shown = literal(example) if example is not None and comments else "..."
                out.append(f"# {name} = {shown}" + ("" if comments else "  (not set)"))
            elif mask and spec.secret:
                out.append(f'{name} = "{MASK}"')
            else:
                out.append(f"{name} = {literal(value)}")
        for name in _fields(cls):
            if name not in scalars:
                section(getattr(obj, name), f"{key}.{name}", f"[{key}.{name}]")

    for name in _fields(Config):
        value = getattr(config, name)
        if name != "tokens":
            section(value, name, f"[{name}]")
            continue
        out.append("")
        comment(section_help(TokenSpec))
        if not value:
            out.append(_TOKENS_EXAMPLE.rstrip("\n") if comments else "# no [[tokens]]")
        for i, spec in enumerate(value):
            if i:
                out.append("")
            out.extend(_render_token(spec, mask=mask))
    return "\n".join(out) + "\n"


def _render_token(token: TokenSpec, *, mask: bool) -> list[str]:
    lines = ["[[tokens]]"]
    for name, f in _fields(TokenSpec).items():
        value = getattr(token, name)
        if value is None:
            continue
        if mask and declared(f).secret:
            lines.append(f'{name} = "{MASK}"')
        else:
            lines.append(f"{name} = {literal(value)}")
    return lines


def config_to_toml(config: Config, *, mask_secrets: bool = True) -> str:
    """``config`` as TOML; :func:`load_config` reads it back when secrets are not masked."""
    return _render(config, mask=mask_secrets, comments=False)


def example_toml() -> str:
    """The commented example file (edge.toml.example): every setting at its default."""
    return _HEADER + "\n" + _render(Config(), mask=True, comments=True)


def _cell(value: object) -> str:
    """A default as the tables show it."""
    if value is dataclasses.MISSING:
        return "required"
    return "not set" if value is None else f"`{literal(value)}`"


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
        spec = declared(f)
        cells = [f"`{key}`", _cell(default(f)), allowed(spec, hints(cls)[name]), spec.help]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
