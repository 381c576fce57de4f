"""Command-line options shared by every command that runs the pipeline.

The pipeline flags are derived from the settings that declare one
(``flag=Flag("--beam-size")`` in :mod:`edge.pipeline.options` and the stage
options it composes): name, help, default and allowed values come from that
declaration. They default to None: :func:`pipeline_options` lays only the
flags given over the configuration's ``[pipeline]`` settings (flags win), and
checks each with the setting's own limits.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from edge.errors import ConfigError
from edge.pipeline.options import PipelineOptions
from edge.settings import (
    Flag,
    Setting,
    allowed,
    declared,
    default,
    hints,
    is_section,
    literal,
    number,
    problem,
)

# Flags of these [pipeline] keys go in the "distress detection" group of --help.
_DISTRESS = frozenset({"emotion", "emotion_model", "text"})


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _number(text: str) -> float:
    """A float flag's value; its range is the setting's, checked with the others."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


@dataclass(frozen=True)
class PipelineFlag:
    """A flag and the [pipeline] setting it overrides."""

    path: tuple[str, ...]  # below PipelineOptions: ("asr", "final_beam_size")
    hint: Any  # the setting's type
    spec: Setting
    default: object

    @property
    def flag(self) -> Flag:
        assert self.spec.flag is not None
        return self.spec.flag

    @property
    def key(self) -> str:
        return ".".join(("pipeline", *self.path))

    @property
    def dest(self) -> str:
        return self.flag.name.removeprefix("--").replace("-", "_")

    @property
    def switch(self) -> bool:
        """A flag without a value: it sets the opposite of the default."""
        return self.hint is bool

    def help(self) -> str:
        """The setting's help, and its default when that says more than "not set"."""
        text = self.spec.help
        if self.switch:
            return f"do not {text}" if self.default else text
        if self.default is None:
            return text
        shown = number(self.default) if isinstance(self.default, float) else str(self.default)
        unit = f" {self.spec.unit}" if self.spec.unit else ""
        return f"{text} (default: {shown}{unit})"


def pipeline_flags(cls: type = PipelineOptions, path: tuple[str, ...] = ()) -> list[PipelineFlag]:
    """Every setting under ``[pipeline]`` that declares a flag, in declaration order."""
    flags: list[PipelineFlag] = []
    types = hints(cls)
    for f in dataclasses.fields(typing.cast(Any, cls)):
        if is_section(types[f.name]):
            flags += pipeline_flags(types[f.name], (*path, f.name))
        elif declared(f).flag is not None:
            flags.append(PipelineFlag((*path, f.name), types[f.name], declared(f), default(f)))
    return flags


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="settings file (default: $EDGE_CONFIG, else ./edge.toml if there is one)",
    )
    parser.add_argument("--debug", action="store_true", help="log details and show tracebacks")


def add_pipeline(parser: argparse.ArgumentParser) -> None:
    models = parser.add_argument_group(
        "models and streaming",
        "Each flag overrides its [pipeline] setting in the config file; "
        "the defaults shown apply when neither sets it.",
    )
    distress = parser.add_argument_group("distress detection")
    for item in pipeline_flags():
        group = distress if item.path[0] in _DISTRESS else models
        help_text = item.help().replace("%", "%%")
        if item.switch:
            group.add_argument(
                item.flag.name, dest=item.dest, action="store_true", default=None, help=help_text
            )
            continue
        kwargs: dict[str, Any] = {"dest": item.dest, "metavar": item.flag.metavar}
        if item.spec.choices:
            kwargs["choices"] = item.spec.choices
        elif item.hint is int:
            kwargs["type"] = int
        elif item.hint is float:
            kwargs["type"] = _number
        group.add_argument(item.flag.name, help=help_text, **kwargs)


def _override(obj: Any, changes: dict[tuple[str, ...], object]) -> Any:
    """``obj`` with the values at the given field paths replaced."""
    top: dict[str, object] = {}
    nested: dict[str, dict[tuple[str, ...], object]] = {}
    for path, value in changes.items():
        if len(path) == 1:
            top[path[0]] = value
        else:
            nested.setdefault(path[0], {})[path[1:]] = value
    for name, inner in nested.items():
        top[name] = _override(getattr(obj, name), inner)
    return dataclasses.replace(obj, **top) if top else obj


def pipeline_options(
    args: argparse.Namespace, base: PipelineOptions | None = None
) -> PipelineOptions:
    """``base`` (the config's pipeline options, else the defaults) with the given flags on top."""
    base = base or PipelineOptions()
    changes: dict[tuple[str, ...], object] = {}
    for item in pipeline_flags():
        given = getattr(args, item.dest, None)
        if given is None:
            continue
        value = (not item.default) if item.switch else given
        wrong = problem(item.spec, item.hint, value)
        if wrong is not None:
            shown = number(given) if isinstance(given, float) else given
            raise ConfigError(f"{item.flag.name} {shown} is out of range: {wrong}")
        changes[item.path] = value
    result = _override(base, changes)
    assert isinstance(result, PipelineOptions)
    return result


def flags_markdown() -> str:
    """The table of pipeline flags in docs/configuration.md."""
    rows = ["| flag | setting | allowed | meaning |", "|---|---|---|---|"]
    for item in pipeline_flags():
        metavar = item.flag.metavar or "{" + ",".join(item.spec.choices) + "}"
        name = item.flag.name if item.switch else f"{item.flag.name} {metavar}"
        what = (
            f"no value: sets it to {literal(not item.default)}"
            if item.switch
            else allowed(item.spec, item.hint)
        )
        cells = [f"`{name}`", f"`{item.key}`", what, item.help()]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
