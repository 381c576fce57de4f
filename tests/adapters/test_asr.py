"""Whisper's encoder window: the bucket arithmetic, and the text it gives on real speech."""

from dataclasses import replace

import jiwer
import numpy as np
import pytest
from faster_whisper import decode_audio

from edge.adapters.asr import (
    _WINDOW,
    FULL_WINDOW_FRAMES,
    AsrOptions,
    WhisperTranscriber,
    content_frames,
    decode_failed,
    encoder_frames,
)
from edge.adapters.vad import SileroVad
from edge.contracts import Hypothesis, RawWord
from edge.errors import ConfigError
from edge.pipeline.engine import Engine
from edge.pipeline.options import LoadOptions, PipelineOptions
from tests.helpers import DATA, finals, run_file, speech_references, wer_text


def test_full_window_is_30_s():
    """encoder_window 0 keeps Whisper's 3000 frames whatever the speech."""
    assert encoder_frames(150, 0) == encoder_frames(2900, 0) == FULL_WINDOW_FRAMES == 3000


def test_speech_plus_margin_rounds_up_to_the_bucket():
    """The speech plus 1 s, rounded up to whole buckets: 1.5 s in 5 s steps reads 5 s."""
    assert encoder_frames(150, 5) == 500
    assert encoder_frames(400, 5) == 500  # 4 s + 1 s fits 5 s exactly
    assert encoder_frames(401, 5) == 1000
    assert encoder_frames(0, 2) == 200
    assert encoder_frames(1150, 10) == 2000


def test_window_never_exceeds_30_s():
    """A window of 29.5 s speech in 10 s steps reads 30 s, not 40."""
    assert encoder_frames(2950, 10) == FULL_WINDOW_FRAMES


def test_content_ends_where_the_zero_padding_starts():
    """faster-whisper's padding is exact zeros; speech (even quiet) is not."""
    features = np.zeros((80, 3000), np.float32)
    features[:, :237] = -0.7
    features[3, 237] = 0.1  # one non-zero bin still counts
    assert content_frames(features) == 238
    assert content_frames(features[None]) == 238  # a batch
    assert content_frames(np.zeros((80, 3000), np.float32)) == 0


def test_encoder_window_range_is_checked():
    """A bucket longer than Whisper's window is refused with the allowed range."""
    with pytest.raises(ConfigError, match="encoder_window"):
        AsrOptions(encoder_window=31)


@pytest.fixture(scope="module")
def short_engine():
    """The default models with the encoder reading the speech in 10 s buckets."""
    options = PipelineOptions(load=LoadOptions(lag_budget=0))
    options = replace(options, asr=replace(options.asr, encoder_window=10))
    loaded = Engine(SileroVad(), WhisperTranscriber(options.asr), options)
    yield loaded
    loaded.close()


@pytest.mark.slow
def test_short_window_keeps_the_accuracy_set(engine, short_engine):
    """On jfk and LibriVox the short window's WER is within 0.02 of the full window's,
    and its word times stay inside the audio in order."""
    refs, full, short = [], [], []
    for path, ref in speech_references().items():
        refs.append(wer_text(ref))
        full.append(wer_text(" ".join(f.text for f in finals(run_file(engine, path)))))
        events = run_file(short_engine, path)
        short.append(wer_text(" ".join(f.text for f in finals(events))))
        words = [w for f in finals(events) for w in f.words]
        assert [w.start for w in words] == sorted(w.start for w in words)
        assert all(0 <= w.start <= w.end for w in words)
    wer_full, wer_short = jiwer.wer(refs, full), jiwer.wer(refs, short)
    print(f"WER full window {wer_full:.4f}, short window {wer_short:.4f}")
    assert wer_short <= wer_full + 0.02


def hypothesis(text: str, *, logprob: float = -0.3, ratio: float = 1.2) -> Hypothesis:
    words = tuple(RawWord(w, i * 0.3, i * 0.3 + 0.2, 0.9) for i, w in enumerate(text.split()))
    return Hypothesis(
        words=words,
        avg_logprob=logprob,
        no_speech_prob=0.01,
        compression_ratio=ratio,
        language="en",
        language_probability=1.0,
    )


def test_a_loop_sends_the_decode_to_the_full_window():
    """A phrase thrice in a row or compression ratio > 2.4 fail; a low log-probability
    alone (hard speech, a partial ending mid-word) does not."""
    assert not decode_failed(hypothesis("ask what you can do for your country"))
    assert not decode_failed(hypothesis("no no"))
    assert decode_failed(hypothesis("answer and so and so and so"))
    assert decode_failed(hypothesis("say the word back", ratio=2.5))
    assert not decode_failed(hypothesis("it is well turn green", logprob=-1.12))


@pytest.mark.slow
def test_partials_read_their_own_window_and_finals_the_full_one(monkeypatch):
    """partial_window 5, encoder_window 0: a partial's encoder reads 5 s buckets, a final 30 s."""
    transcriber = WhisperTranscriber(AsrOptions(partial_window=5, encoder_window=0))
    audio = decode_audio(str(DATA / "jfk.flac"))[:48_000]  # "And so my fellow Americans"
    windows: list[int] = []
    encode = transcriber.model.encode

    def watched(features):
        windows.append(_WINDOW.get())
        return encode(features)

    monkeypatch.setattr(transcriber.model, "encode", watched)
    partial = transcriber.transcribe(audio, prefix=None, final=False)
    assert windows[0] == 5 and partial.words
    windows.clear()
    transcriber.transcribe(audio, prefix=None, final=True)
    assert set(windows) == {0}
