"""One declaration per setting, and the one check every options class runs.

A setting is a field of a frozen options dataclass, declared with
:func:`setting`: its type (the annotation), default, help text and limits
(range, choices, shape, command-line flag) in one place::

    @dataclass(frozen=True, kw_only=True)
    class VadOptions:
        \"\"\"Speech detection (Silero VAD) and cutting speech into utterances.\"\"\"

        SECTION: ClassVar[str] = "pipeline.vad"
        RULES: ClassVar[tuple[Order, ...]] = (Order("split_search", "max_utterance", strict=True),)

        threshold: float = setting(0.5, help="...", range=Range(0.05, 0.95))

        def __post_init__(self) -> None:
            check(self)

The class docstring's first paragraph is the section's help; ``SECTION`` is
its dotted key in the configuration file (for messages); ``RULES`` are its
cross-field rules. Everything else is derived from these declarations: the
config loader's checks and messages (:mod:`edge.config`), the pipeline flags
(:mod:`edge.cli.options`), ``edge.toml.example`` and docs/configuration.md.

Standard library only, so that any module can declare its options.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import ConfigError

_META = "edge.setting"  # the key of a field's metadata that holds its Setting


def number(x: float) -> str:
    """A limit or default as people write it: 5, not 5.0."""
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
        """In words: 'a number from 0 to 1', '0 (any free port) or an integer from 1 to 65535'."""
        lo = None if self.lo is None else number(self.lo)
        hi = None if self.hi is None else number(self.hi)
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


UNIT = Range(0, 1)
POSITIVE = Range(0, above=True)
NONNEGATIVE = Range(0)
COUNT = Range(1)
PORT = Range(1, 65535, zero="any free port")


@dataclass(frozen=True)
class Format:
    """The shape a text setting must have: a pattern, and what it looks like in words."""

    pattern: str
    shape: str


@dataclass(frozen=True)
class Flag:
    """The command-line flag that overrides a setting for one run.

    A switch (a bool setting) takes no value: its flag sets the opposite of the
    default (``--no-text`` for ``text = true``, ``--allow-download`` for false).
    """

    name: str  # "--beam-size"
    metavar: str | None = None  # argparse's metavar; None: argparse's own


@dataclass(frozen=True)
class Order:
    """A cross-field rule: ``small`` is at most ``large`` (below it when ``strict``)."""

    small: str
    large: str
    strict: bool = False

    def holds(self, a: float, b: float) -> bool:
        return a < b or (a == b and not self.strict)

    def blame_small(self, b: object) -> str:
        """What is wrong when ``small`` is the value to change."""
        return f"must be {'below' if self.strict else 'at most'} {self.large} ({literal(b)})"

    def blame_large(self, a: object) -> str:
        """What is wrong when ``large`` is the value to change."""
        return f"must be {'above' if self.strict else 'at least'} {self.small} ({literal(a)})"


@dataclass(frozen=True, kw_only=True)
class Setting:
    """What one field declares besides its type and default (see :func:`setting`)."""

    help: str
    range: Range | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    format: Format | None = None
    not_empty: str = ""  # the value must not be blank; this says what to write instead
    example: object = None  # shown in edge.toml.example for a setting that is not set
    flag: Flag | None = None
    secret: bool = False  # masked when printed, never shown in errors
    path: bool = False  # text naming a file: relative ones are taken from the config's folder
    hub: bool = False  # with path: a bare name (no folder) may be a model hub name


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    range: Range | None = None,
    unit: str = "",
    choices: tuple[str, ...] = (),
    format: Format | None = None,
    not_empty: str = "",
    example: object = None,
    flag: Flag | None = None,
    secret: bool = False,
    path: bool = False,
    hub: bool = False,
) -> Any:
    """A dataclass field that declares a setting; no ``default`` makes it required.

    ``help`` is a few words, lower case, as shown after the key in
    docs/configuration.md; write "not set" for None (TOML has no null).
    """
    spec = Setting(
        help=help,
        range=range,
        unit=unit,
        choices=choices,
        format=format,
        not_empty=not_empty,
        example=example,
        flag=flag,
        secret=secret,
        path=path,
        hub=hub,
    )
    return dataclasses.field(default=default, metadata={_META: spec})


def declared(f: dataclasses.Field[Any]) -> Setting:
    """The declaration of a field (an empty one for a field not made by :func:`setting`)."""
    spec = f.metadata.get(_META)
    return spec if isinstance(spec, Setting) else Setting(help="")


def default(f: dataclasses.Field[Any]) -> object:
    """A field's default value, or MISSING when it is required."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def section_help(cls: type) -> str:
    """A section's help: the first paragraph of its class docstring."""
    doc = cls.__doc__ or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def rules(cls: type) -> tuple[Order, ...]:
    """The cross-field rules a section declares."""
    found = getattr(cls, "RULES", ())
    return tuple(found)


# -- types -------------------------------------------------------------------


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    """The resolved type annotations of an options class."""
    return typing.get_type_hints(cls)


def unwrap(hint: object) -> tuple[object, bool]:
    """``X | None`` -> (X, True); anything else -> (it, False)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def item_type(hint: object) -> object | None:
    """The item type of ``tuple[X, ...]``, else None."""
    if typing.get_origin(hint) is tuple:
        return typing.get_args(hint)[0]
    return None


def is_section(hint: object) -> bool:
    """Whether a field holds a section (a nested options dataclass) rather than a value."""
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def is_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def literal(value: object) -> str:
    """A value as a TOML literal (also how messages show values)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return literal(value.value)
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {literal(v)}" for k, v in value.items()) + "}"
    # JSON strings are TOML basic strings, but for DEL, which TOML wants escaped.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


# -- what is allowed ---------------------------------------------------------


def allowed(spec: Setting, hint: object) -> str:
    """What a setting allows, in words: 'an integer from 1 to 10', 'one of: a, b'."""
    tp, _ = unwrap(hint)
    item = item_type(tp)
    if item is not None:
        return f"an array, each item {allowed(spec, item)}"
    if tp is bool:
        return "true or false"
    if tp is int or tp is float:
        return (spec.range or Range()).describe("an integer" if tp is int else "a number")
    if is_enum(tp):
        return "one of: " + ", ".join(str(m.value) for m in typing.cast(type[enum.Enum], tp))
    if spec.choices:
        return "one of: " + ", ".join(spec.choices)
    if spec.format is not None:
        return spec.format.shape
    if tp is Path or spec.path:
        return "a path"
    return "a string"


def problem(spec: Setting, hint: object, value: object) -> str | None:
    """What is wrong with a value already of the setting's type ("must be ..."), or None."""
    tp, _ = unwrap(hint)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        rng = spec.range or Range()
        ok = math.isfinite(value) and rng.allows(value)
        return None if ok else f"must be {allowed(spec, hint)}"
    if isinstance(value, str) and not is_enum(tp):
        if spec.choices and value not in spec.choices:
            return f"must be {allowed(spec, hint)}"
        if spec.format is not None and not re.fullmatch(spec.format.pattern, value):
            return f"must be {allowed(spec, hint)}"
        if spec.not_empty and not value.strip():
            return f"must not be empty: {spec.not_empty}"
    return None


def _value_problem(spec: Setting, hint: object, value: object) -> str | None:
    """:func:`problem` for a value or, for an array, for each of its items."""
    if value is None:
        return None
    item = item_type(unwrap(hint)[0])
    if item is not None and isinstance(value, tuple):
        for i, v in enumerate(value, 1):
            wrong = problem(spec, item, v)
            if wrong is not None:
                return f"item {i} ({literal(v)}) {wrong}"
        return None
    return problem(spec, hint, value)


def check(options: object) -> None:
    """Refuse values outside what the fields of ``options`` declare, and broken rules.

    Every options class calls this from ``__post_init__``. The config loader
    checks the same declarations first, so a user sees its message (naming the
    file or variable); this one is for code that builds options directly.
    """
    cls: type = type(options)
    where = getattr(cls, "SECTION", cls.__name__)
    types_ = hints(cls)
    for f in dataclasses.fields(typing.cast(Any, options)):
        spec, value = declared(f), getattr(options, f.name)
        wrong = _value_problem(spec, types_[f.name], value)
        if wrong is not None:
            shown = '"***"' if spec.secret else literal(value)
            raise ConfigError(f"{where}.{f.name} = {shown}: {wrong}")
    for rule in rules(cls):
        a, b = getattr(options, rule.small), getattr(options, rule.large)
        if not rule.holds(a, b):
            raise ConfigError(f"{where}.{rule.small} = {literal(a)}: {rule.blame_small(b)}")
