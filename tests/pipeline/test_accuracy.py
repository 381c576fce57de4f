"""Streaming must not cost accuracy: real models, real recordings."""

import asyncio
import io

import jiwer
import numpy as np
import pytest
import soxr

from edge.audio import g711
from edge.audio.frames import parse_channel_map
from edge.audio.sources import Encoding, FileSource, RawSource
from edge.pipeline.call import replay
from edge.types import CallId
from tests.helpers import DATA, finals, run_file, speech_references, wer_text

pytestmark = pytest.mark.slow


def offline_text(engine, path):
    segments, _ = engine.asr.model.transcribe(str(path), language="en")
    return " ".join(s.text for s in segments)


def test_jfk_streaming_transcript_is_exact(engine):
    """jfk.flac comes out word for word, with word times inside the audio."""
    events = run_file(engine, DATA / "jfk.flac")
    text = " ".join(f.text for f in finals(events))
    assert wer_text(text) == wer_text((DATA / "jfk.txt").read_text())
    words = [w for f in finals(events) for w in f.words]
    assert all(0 <= w.start <= w.end <= 11.01 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert all(0 < f.confidence <= 1 for f in finals(events))


def test_streaming_wer_is_within_10_percent_of_offline(engine):
    """On jfk and the LibriVox set, streaming WER <= 1.1 x offline transcribe() WER."""
    refs, offline, streamed = [], [], []
    for path, ref in speech_references().items():
        refs.append(wer_text(ref))
        offline.append(wer_text(offline_text(engine, path)))
        streamed.append(wer_text(" ".join(f.text for f in finals(run_file(engine, path)))))
    wer_offline = jiwer.wer(refs, offline)
    wer_stream = jiwer.wer(refs, streamed)
    print(f"WER offline {wer_offline:.4f} streaming {wer_stream:.4f}")
    assert wer_stream <= wer_offline * 1.1 + 1e-9


def telephone_bytes(path) -> bytes:
    """The recording as a telephone line carries it: 8 kHz G.711 mu-law."""
    frames = list(FileSource(path, parse_channel_map("caller,-")).frames())
    audio = np.concatenate([f.samples for f in frames])
    narrow = soxr.resample(audio, 16000, 8000, quality="HQ")
    return g711.pcm16_to_mulaw(g711.float_to_pcm16(narrow)).tobytes()


def test_telephone_channel_is_still_transcribed(engine):
    """The same files through 8 kHz mu-law and back keep WER under 0.15."""
    refs, streamed = [], []

    async def run(data):
        source = RawSource(
            io.BytesIO(data),
            rate=8000,
            encoding=Encoding.MULAW,
            channels=1,
            channel_map=parse_channel_map("caller"),
        )
        return [e async for e in replay(engine, source, call_id=CallId("tel"), realtime=False)]

    for path, ref in speech_references().items():
        events = asyncio.run(run(telephone_bytes(path)))
        refs.append(wer_text(ref))
        streamed.append(wer_text(" ".join(f.text for f in finals(events))))
    wer = jiwer.wer(refs, streamed)
    print(f"telephone (8 kHz mu-law) streaming WER {wer:.4f}")
    assert wer < 0.15
