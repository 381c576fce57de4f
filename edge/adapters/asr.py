"""Speech to text with faster-whisper (CTranslate2).

Two Whisper models come installed with empathy-edge, so nothing is
downloaded (:mod:`edge.adapters.whisper_models`): tiny.en (English only) and
base (99 languages). Not set, ``[pipeline.asr] model`` follows ``[pipeline]
language``: tiny.en for English, base for any other language or ``auto``.
Any other faster-whisper model can be chosen by local path; a Hugging Face
hub name works only when ``allow_download`` is set (it needs internet, which
our deployments do not have).

Whisper's encoder reads 30 s windows (3000 mel frames), padding a short
utterance with silence, and most of a final's decode is spent there.
``[pipeline.asr] encoder_window`` lets it read only the speech plus a margin,
rounded up to a bucket of seconds, as whisper.cpp's ``audio_ctx`` does:
CTranslate2 takes the shorter input and the decoder attends to what is there.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import logging
import math
import os
import threading
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt

from edge.adapters.whisper_models import BASE, EMBEDDED, TINY_EN, embedded_path
from edge.contracts import Hypothesis, RawWord, Samples
from edge.errors import ModelError
from edge.languages import AUTO, ENGLISH, WHISPER_LANGUAGES
from edge.settings import Flag, Range, check, setting
from edge.stages.guards import GuardOptions, collapse_repeats
from edge.types import SAMPLE_RATE

if TYPE_CHECKING:
    import ctranslate2
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

MEL_FRAMES_PER_SECOND = 100  # Whisper's log-mel hop: 10 ms
FULL_WINDOW_FRAMES = 3000  # the 30 s window Whisper was trained on
# Silence kept after the speech, so the decoder sees the speech end as it does in
# a padded window (measured: docs/bench/encoder_window.md).
WINDOW_MARGIN_S = 1.0
# A short window's token budget: fast speech is about 5 tokens a second.
MAX_TOKENS_PER_SECOND = 16
MAX_TOKENS_EXTRA = 16
MAX_TOKENS = 200  # with a prefix (up to 223 tokens) within Whisper's 448
LOOP_REPEATS = GuardOptions().max_repeats
# Seconds of the encoder's bucket for the decode running in this thread; 0 = full.
_WINDOW: ContextVar[int] = ContextVar("encoder_window", default=0)


@dataclass(frozen=True, kw_only=True)
class AsrOptions:
    """Speech recognition (faster-whisper).

    Which Whisper model runs where, and how hard it searches.
    """

    SECTION: ClassVar[str] = "pipeline.asr"

    model: str | None = setting(
        None,
        help="Whisper model: tiny.en or base (embedded), or a faster-whisper model folder; "
        "not set = tiny.en for language en, base (99 languages) otherwise",
        example="/opt/models/whisper-small.en",
        path=True,
        hub=True,
        flag=Flag("--model", metavar="PATH"),
    )
    device: str = setting(
        "auto",
        help="where Whisper runs; auto = CUDA when present",
        choices=("auto", "cpu", "cuda"),
        flag=Flag("--device"),
    )
    compute_type: str = setting(
        "auto",
        help="CTranslate2 compute type; auto = int8 on CPU, float16 on CUDA",
        # CTranslate2's quantisation types (its documentation's "Quantization" page)
        choices=(
            "auto",
            "default",
            "int8",
            "int8_float32",
            "int8_float16",
            "int8_bfloat16",
            "int16",
            "float16",
            "bfloat16",
            "float32",
        ),
        flag=Flag("--compute-type", metavar="TYPE"),
    )
    cpu_threads: int = setting(
        0,
        help="CPU threads per decode; 0 = all cores, up to 4",
        range=Range(1, zero="all cores, up to 4"),
        flag=Flag("--threads", metavar="N"),
    )
    workers: int = setting(
        1,
        help="decodes at once, each with cpu_threads threads (many calls: 2 x 1 thread)",
        range=Range(1, 8),
    )
    final_beam_size: int = setting(
        5,
        help="beam size of final transcripts",
        range=Range(1, 10),
        flag=Flag("--beam-size", metavar="N"),
    )
    partial_beam_size: int = setting(1, help="beam size of partial transcripts", range=Range(1, 10))
    encoder_window: int = setting(
        5,
        help="seconds of audio Whisper's encoder reads: 0 = its full 30 s window; N = the "
        "utterance plus 1 s rounded up to a multiple of N s, redone on 30 s when Whisper "
        "loops (5: half the CPU per final at the same WER; docs/bench/encoder_window.md)",
        range=Range(1, 30, zero="the full 30 s window"),
    )
    partial_window: int = setting(
        5,
        help="encoder_window of partials, which are greedy and replaced by the final: "
        "0 = the full 30 s window (most of the CPU of a live call goes to partials; "
        "docs/bench/encoder_window.md)",
        range=Range(1, 30, zero="the full 30 s window"),
    )
    allow_download: bool = setting(
        False,
        help="let model be a hub name such as small.en (needs internet)",
        flag=Flag("--allow-download"),
    )

    def __post_init__(self) -> None:
        check(self)


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


class WhisperTranscriber:
    """faster-whisper behind the :class:`~edge.contracts.Transcriber` protocol.

    ``language`` (``[pipeline] language``) picks the model when none is set,
    and a model that reads English only is refused for any other language.
    """

    def __init__(self, options: AsrOptions = AsrOptions(), *, language: str = ENGLISH) -> None:
        self.options = options
        self.device = resolve_device(options.device)
        self.compute_type = options.compute_type
        if self.compute_type == "auto":
            self.compute_type = "float16" if self.device == "cuda" else "int8"
        self.threads = options.cpu_threads or min(os.cpu_count() or 1, 4)
        self.model_label = options.model or (TINY_EN if language == ENGLISH else BASE)
        self.model_name = self._locate(self.model_label, options.allow_download)
        self.workers = max(1, options.workers)
        self._model = _load(
            self.model_name,
            self.device,
            self.compute_type,
            self.threads,
            self.workers,
            not options.allow_download,
        )
        # Short-window decodes that failed: "final" and "partial" ones were redone on
        # the full window, "speculative" ones left to the final.
        self.window_fallbacks: Counter[str] = Counter()
        # Digests of the audio of speculations that failed on the short window: the
        # final of the same utterance is the same audio, decoded the same way, so it
        # goes straight to the full window.
        self._failed_audio: collections.deque[bytes] = collections.deque(maxlen=64)
        self._failed_lock = threading.Lock()
        multilingual = bool(self._model.model.is_multilingual)
        self.languages = WHISPER_LANGUAGES if multilingual else (ENGLISH,)
        if language != ENGLISH and not multilingual:
            wanted = "detection" if language == AUTO else f"language {language!r}"
            raise ModelError(
                f"Whisper model {self.model_label} reads English only, so it cannot do {wanted}: "
                'set [pipeline.asr] model = "base" (embedded, 99 languages) or leave it unset'
            )

    @staticmethod
    def _locate(model: str, allow_download: bool) -> str:
        if model in EMBEDDED:
            return str(embedded_path(model))
        path = Path(model).expanduser()
        if path.is_dir():
            if not (path / "model.bin").is_file():
                raise ModelError(
                    f"{path} holds no model.bin: give the folder of a CTranslate2 Whisper model"
                )
            return str(path)
        if allow_download:
            return model  # a hub name such as "small.en": faster-whisper fetches it
        raise ModelError(
            f"Whisper model {model!r} is not a folder on this machine; give the path of "
            "a CTranslate2 model folder, or tiny.en or base (embedded); other hub names "
            "need --allow-download and internet"
        )

    @property
    def model(self) -> WhisperModel:
        """The faster-whisper model itself (for offline comparisons)."""
        return self._model

    def transcribe(
        self,
        audio: Samples,
        *,
        prefix: str | None,
        final: bool,
        language: str | None = ENGLISH,
        greedy: bool = False,
        speculative: bool = False,
    ) -> Hypothesis:
        beam = (
            1
            if greedy
            else (self.options.final_beam_size if final else self.options.partial_beam_size)
        )
        fallback = final and not greedy  # greedy: the service is behind ([pipeline.load])
        # Partials must come fast: one greedy pass. Finals may fall back to
        # sampling when greedy decoding loops (compression ratio > 2.4).
        temperatures = (0.0, 0.2, 0.4, 0.6) if fallback else (0.0,)
        window = self.options.encoder_window if final else self.options.partial_window
        digest = _digest(audio) if window and final else b""
        if digest:
            with self._failed_lock:
                if digest in self._failed_audio:
                    window = 0  # its speculation failed on the short window just now
                    self.window_fallbacks["final"] += 1
        if window:
            # A short window now and then sends Whisper into a loop ("and so and
            # so ..."): one pass at temperature 0 with a token budget for the
            # audio's length, and the full window when it loops (decode_failed).
            seconds = len(audio) / SAMPLE_RATE
            budget = min(MAX_TOKENS, round(MAX_TOKENS_PER_SECOND * seconds) + MAX_TOKENS_EXTRA)
            token = _WINDOW.set(window)
            try:
                hypothesis, tokens = self._decode(
                    audio, prefix, language, beam, (0.0,), max_new_tokens=budget
                )
            finally:
                _WINDOW.reset(token)
            if tokens < budget and not decode_failed(hypothesis):
                return hypothesis
            if speculative:
                # Most speculations that fail are cut at a pause inside a sentence,
                # and are dropped when the speech goes on: a full-window decode on
                # them was most of the CPU lost to speculation (issue 15).
                self.window_fallbacks["speculative"] += 1
                with self._failed_lock:
                    self._failed_audio.append(digest)
                return dataclasses.replace(hypothesis, failed=True)
            self.window_fallbacks["final" if final else "partial"] += 1
            log.debug("short encoder window failed (%d tokens): full window", tokens)
        return self._decode(audio, prefix, language, beam, temperatures)[0]

    def _decode(
        self,
        audio: Samples,
        prefix: str | None,
        language: str | None,
        beam: int,
        temperatures: tuple[float, ...],
        *,
        max_new_tokens: int | None = None,
    ) -> tuple[Hypothesis, int]:
        """The hypothesis and how many tokens it took."""
        segments, info = self._model.transcribe(
            audio,
            language=language,  # None: Whisper detects it from this audio
            beam_size=beam,
            temperature=list(temperatures),
            word_timestamps=True,
            condition_on_previous_text=False,
            prefix=prefix or None,
            vad_filter=False,  # our own streaming VAD has already cut the audio
            max_new_tokens=max_new_tokens,
        )
        words: list[RawWord] = []
        logprobs: list[float] = []
        no_speech: list[float] = []
        ratios: list[float] = []
        tokens = 0
        for segment in segments:  # a lazy generator: this is where decoding happens
            logprobs.append(segment.avg_logprob)
            no_speech.append(segment.no_speech_prob)
            ratios.append(segment.compression_ratio)
            tokens += len(segment.tokens)
            words.extend(
                RawWord(w.word, float(w.start), float(w.end), float(w.probability))
                for w in segment.words or ()
            )
        hypothesis = Hypothesis(
            words=tuple(words),
            avg_logprob=min(logprobs, default=0.0),
            no_speech_prob=max(no_speech, default=1.0),
            compression_ratio=max(ratios, default=0.0),
            language=info.language,
            language_probability=float(info.language_probability),
        )
        return hypothesis, tokens


def _digest(audio: Samples) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(audio).tobytes(), digest_size=16).digest()


def decode_failed(hypothesis: Hypothesis) -> bool:
    """A short window's decode that loops: the failure a short window brings.

    A loop is a phrase three times in a row (the guards' rule), or Whisper's own
    compression-ratio test (> 2.4) on longer text. Whisper's log-probability
    test (< -1) is not applied: a low log-probability says the speech is hard
    (a name, a mid-word partial), not that the window is short, and the full
    window did no better on it. Measured (docs/bench/encoder_window.md): it
    sent 40 % of TESS's short-window partials and a tenth of the finals to the
    full window, and without it every set's WER is at or below the full
    window's.
    """
    looped = len(collapse_repeats(hypothesis.words, LOOP_REPEATS)) < len(hypothesis.words)
    return looped or hypothesis.compression_ratio > 2.4


def content_frames(features: npt.NDArray[np.float32]) -> int:
    """Mel frames before the padding of a window (faster-whisper pads with exact zeros).

    ``features`` is ``(n_mels, frames)`` or ``(batch, n_mels, frames)``; for a
    batch, the longest content counts.
    """
    speech = np.flatnonzero(np.any(features != 0, axis=tuple(range(features.ndim - 1))))
    return int(speech[-1]) + 1 if speech.size else 0


def encoder_frames(content: int, bucket_s: int) -> int:
    """Mel frames the encoder reads for ``content`` frames of audio.

    ``bucket_s`` 0: the full window. Otherwise the content plus
    :data:`WINDOW_MARGIN_S`, rounded up to a multiple of ``bucket_s`` seconds,
    never more than the full window.
    """
    if bucket_s <= 0:
        return FULL_WINDOW_FRAMES
    bucket = bucket_s * MEL_FRAMES_PER_SECOND
    wanted = content + round(WINDOW_MARGIN_S * MEL_FRAMES_PER_SECOND)
    return min(FULL_WINDOW_FRAMES, max(1, math.ceil(wanted / bucket)) * bucket)


@functools.lru_cache(maxsize=2)
def _load(
    name: str,
    device: str,
    compute_type: str,
    threads: int,
    workers: int,
    local_only: bool,
) -> WhisperModel:
    from faster_whisper import WhisperModel

    class WindowedWhisperModel(WhisperModel):
        """A WhisperModel whose encoder reads :func:`encoder_frames` of each window.

        faster-whisper pads every window to 3000 frames (``pad_or_trim``) before
        calling :meth:`encode`; with a bucket set for this thread's decode
        (``_WINDOW``) the padding past it is cut off again. Timestamps and word
        alignment count encoder frames from the window's start, so they hold.
        """

        def encode(self, features: npt.NDArray[np.float32]) -> ctranslate2.StorageView:
            frames = encoder_frames(content_frames(features), _WINDOW.get())
            return super().encode(np.ascontiguousarray(features[..., :frames]))

    log.info("loading Whisper model %s on %s (%s, %d threads)", name, device, compute_type, threads)
    try:
        return WindowedWhisperModel(
            name,
            device=device,
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=workers,
            local_files_only=local_only,
        )
    except Exception as e:  # CTranslate2 raises RuntimeError/ValueError with plain text
        raise ModelError(
            f"Whisper model {name} failed to load on {device} ({compute_type}): {e}; "
            "check the model path, or use --device cpu"
        ) from e
