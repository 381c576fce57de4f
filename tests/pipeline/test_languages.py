"""Callers in other languages, on the real models: Whisper base through the real pipeline.

Recordings are sentences spoken by espeak-ng, resampled to 16 kHz; each engine
shares the one loaded Whisper base (the loader caches it per process).
"""

import subprocess
import wave

import numpy as np
import pytest
import soxr

from edge.events import CallLanguage, TextEmotion, VoiceEmotion
from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions
from edge.stages.guards import normalise
from edge.types import SAMPLE_RATE, Role
from tests.helpers import DATA, finals, run_file, write_audio

pytestmark = pytest.mark.slow

SPOKEN = {
    "es": "Hola, buenos días. Llamo porque mi madre tiene mucho dolor en el pecho "
    "y no puede respirar bien.",
    "ro": "Bună ziua. Sun pentru că tatăl meu are febră mare de două zile și nu mănâncă nimic.",
    "vi": "Xin chào. Tôi gọi vì mẹ tôi bị đau ngực và khó thở.",
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Each sentence of SPOKEN said by espeak-ng's voice for it, 16 kHz mono, with pauses."""
    folder = tmp_path_factory.mktemp("spoken")
    paths = {}
    for voice, text in SPOKEN.items():
        raw = folder / f"{voice}.espeak.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True)
        with wave.open(str(raw)) as w:
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        audio = soxr.resample(pcm.astype(np.float32) / 32768, rate, SAMPLE_RATE, quality="HQ")
        pad = np.zeros(SAMPLE_RATE // 2, np.float32)
        samples = np.concatenate([pad, audio, pad, pad])
        paths[voice] = write_audio(folder / f"{voice}.wav", samples, SAMPLE_RATE)
    return paths


@pytest.fixture(scope="module")
def engines():
    """Engines by [pipeline] language, made on first use; all share one Whisper base."""
    made: dict[str, Engine] = {}

    def get(language: str) -> Engine:
        if language not in made:
            made[language] = Engine.load(PipelineOptions(language=language))
        return made[language]

    yield get
    for engine in made.values():
        engine.close()


def said(events) -> set[str]:
    """The words of the finals, lower case, accents kept."""
    text = " ".join(f.text for f in finals(events)).lower()
    return set("".join(c if c.isalnum() else " " for c in text).split())


def languages(events) -> list[CallLanguage]:
    return [e for e in events if isinstance(e, CallLanguage)]


def test_spanish_configured_is_transcribed_in_spanish(engines, clips):
    """language = "es": Spanish finals; no text readings, the voice readings go on."""
    events = run_file(engines("es"), clips["es"], channels="caller")
    assert {"buenos", "madre", "dolor", "pecho", "respirar"} <= said(events), said(events)
    (told,) = languages(events)
    assert (told.role, told.language, told.detected, told.probability, told.text_cues) == (
        Role.CALLER,
        "es",
        False,
        None,
        False,
    )
    assert events.index(told) == 1  # known from the channel's first audio
    assert not [e for e in events if isinstance(e, TextEmotion)]
    assert [e for e in events if isinstance(e, VoiceEmotion)]


def test_spanish_auto_is_detected_then_transcribed(engines, clips):
    """language = "auto": call.language says es, detected, sure; the finals are Spanish."""
    events = run_file(engines("auto"), clips["es"], channels="caller")
    (told,) = languages(events)
    assert (told.language, told.detected, told.text_cues) == ("es", True, False)
    assert told.probability is not None and told.probability >= 0.5
    assert {"madre", "dolor", "pecho"} <= said(events), said(events)
    assert not [e for e in events if isinstance(e, TextEmotion)]
    assert [e for e in events if isinstance(e, VoiceEmotion)]


def test_vietnamese_auto_is_detected(engines, clips):
    """language = "auto" on Vietnamese: call.language says vi; the final is in Vietnamese."""
    events = run_file(engines("auto"), clips["vi"], channels="caller")
    (told,) = languages(events)
    assert (told.language, told.detected, told.text_cues) == ("vi", True, False)
    assert {"xin", "chào", "gọi", "mẹ"} <= said(events), said(events)


def test_romanian_configured_is_transcribed_in_romanian(engines, clips):
    """language = "ro": the Romanian words come out (Whisper base on espeak-ng's voice)."""
    events = run_file(engines("ro"), clips["ro"], channels="caller")
    assert languages(events)[0].language == "ro"
    assert len({"bună", "pentru", "două", "nimic", "febră", "zile"} & said(events)) >= 3, said(
        events
    )


def test_english_auto_keeps_the_text_cues(engines):
    """language = "auto" on jfk: English detected, text cues on, the text model reads the finals."""
    events = run_file(engines("auto"), DATA / "jfk.flac")
    (told,) = languages(events)
    assert (told.language, told.detected, told.text_cues) == ("en", True, True)
    assert "country" in normalise(" ".join(f.text for f in finals(events)))
    assert [e for e in events if isinstance(e, TextEmotion)]
