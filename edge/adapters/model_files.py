"""Finding the models we ship and checking them against their manifest.

Search order for the models folder: ``$EDGE_MODELS_DIR``; ``models/`` beside
the package in a source checkout; ``edge/_models`` inside an installed wheel.
``MANIFEST.sha256`` in that folder lists ``<sha256>  <file>`` per model.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from edge.errors import ModelError

MANIFEST = "MANIFEST.sha256"


def models_dir() -> Path:
    env = os.environ.get("EDGE_MODELS_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "models", here / "_models"):
        if (candidate / MANIFEST).is_file():
            return candidate
    raise ModelError(
        "the bundled models folder was not found; reinstall empathy-edge "
        "or set EDGE_MODELS_DIR to the folder that holds MANIFEST.sha256"
    )


def manifest(folder: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in (folder / MANIFEST).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            entries[name.strip()] = digest
    return entries


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def bundled(name: str) -> Path:
    """Path of a shipped model file, verified against the manifest."""
    folder = models_dir()
    path = folder / name
    expected = manifest(folder).get(name)
    if expected is None:
        raise ModelError(f"{name} is not listed in {folder / MANIFEST}; reinstall empathy-edge")
    return verified(
        path,
        expected,
        missing="reinstall empathy-edge or restore it from git",
        fix="restore it from git",
    )


def verified(path: Path, expected: str, *, missing: str, fix: str) -> Path:
    """``path`` if it exists and its sha256 is ``expected``; ``missing``/``fix`` say what to do."""
    if not path.is_file():
        raise ModelError(f"{path} is missing; {missing}")
    actual = sha256(path)
    if actual != expected:
        raise ModelError(
            f"{path} does not match its manifest (sha256 {actual[:12]}…, expected "
            f"{expected[:12]}…); the file is damaged or was replaced: {fix}"
        )
    return path
