"""The layering rule of :mod:`edge.contracts`, pinned: the light modules load no model runtime."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import edge

EDGE = Path(edge.__file__).resolve().parent

# Modules (packages: every module inside) that must import without a model runtime.
LIGHT = (
    "edge.stages",
    "edge.events",
    "edge.contracts",
    "edge.settings",
    "edge.config",
    "edge.server.hub",
    "edge.server.subscribe",
    "edge.server.protocol",
    "edge.report",  # edge report runs where no model is installed
)
# Top-level packages of the model runtimes (and their tokenizer and audio decoder).
RUNTIMES = ("onnxruntime", "ctranslate2", "faster_whisper", "av", "tokenizers")
# What a stage may import from the project: its own floor and the floors below it.
STAGE_IMPORTS = ("edge.contracts", "edge.events", "edge.types", "edge.errors", "edge.settings")

_PROBE = """
import importlib, json, pkgutil, sys
imported = []
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    imported.append(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
print(json.dumps({"imported": imported, "loaded": sorted(sys.modules)}))
"""


def test_light_modules_load_no_model_runtime() -> None:
    """Importing every stage, the events, the contracts, the config loader and the hub loads
    no ONNX, Whisper or PyAV."""
    env = dict(os.environ)
    # The child imports the same tree as this test, whatever else PYTHONPATH holds.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(EDGE.parent), env.get("PYTHONPATH", "")) if p
    )
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *LIGHT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report = json.loads(result.stdout)
    assert "edge.stages.voice" in report["imported"]  # the walk reached the stages
    loaded = sorted({m.split(".")[0] for m in report["loaded"]} & set(RUNTIMES))
    assert loaded == [], f"importing {', '.join(LIGHT)} loaded {', '.join(loaded)}"


def _imports(path: Path, package: str) -> list[tuple[str, int]]:
    """Every module a source file imports (at any depth, TYPE_CHECKING included), with its line."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.rsplit(".", node.level - 1)[0]
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((name, node.lineno))
    return found


def test_stages_import_only_contracts_events_and_the_floors_below() -> None:
    """A stage imports only contracts, events, types, errors, settings, other stages,
    the standard library and numpy: never an adapter, the audio I/O or the pipeline."""
    wrong = []
    for path in sorted((EDGE / "stages").glob("*.py")):
        for name, line in _imports(path, "edge.stages"):
            top = name.split(".")[0]
            if top == "edge":
                allowed = name.startswith("edge.stages") or any(
                    name == m or name.startswith(m + ".") for m in STAGE_IMPORTS
                )
            else:
                allowed = top in sys.stdlib_module_names or top in ("__future__", "numpy")
            if not allowed:
                wrong.append(f"edge/stages/{path.name}:{line} imports {name}")
    assert wrong == []
