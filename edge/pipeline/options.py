"""The ``[pipeline]`` settings: one options object per stage, composed.

Apart from the engine so that the configuration (and with it the hub and the
CLI's argument parsing) can know every pipeline setting without loading a
model runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from edge.adapters.asr import AsrOptions
from edge.languages import AUTO, WHISPER_LANGUAGES
from edge.pipeline.batching import BatchOptions
from edge.pipeline.load import LoadOptions
from edge.settings import Flag, Format, Range, check, setting
from edge.stages.channel import StreamOptions
from edge.stages.confusion import ConfusionOptions
from edge.stages.conversation import ConversationOptions
from edge.stages.cues import CueOptions
from edge.stages.emergency import EmergencyOptions
from edge.stages.guards import GuardOptions
from edge.stages.jargon import JargonOptions
from edge.stages.prosody import ProsodyOptions
from edge.stages.segmenter import VadOptions
from edge.stages.summary import SummaryOptions
from edge.stages.triage import TriageOptions
from edge.stages.voice import EmotionOptions


@dataclass(frozen=True, kw_only=True)
class PipelineOptions:
    """How each call is processed. Command-line flags override these.

    Everything that shapes a call's processing, one options object per stage.
    """

    SECTION: ClassVar[str] = "pipeline"

    vad: VadOptions = field(default_factory=VadOptions)
    stream: StreamOptions = field(default_factory=StreamOptions)
    guards: GuardOptions = field(default_factory=GuardOptions)
    asr: AsrOptions = field(default_factory=AsrOptions)
    emotion: EmotionOptions = field(default_factory=EmotionOptions)
    prosody: ProsodyOptions = field(default_factory=ProsodyOptions)
    conversation: ConversationOptions = field(default_factory=ConversationOptions)
    cues: CueOptions = field(default_factory=CueOptions)
    language: str = setting(
        "en",
        help="language the callers speak; auto = detected per call and channel from its first "
        "seconds of speech",
        format=Format(
            "|".join((AUTO, *WHISPER_LANGUAGES)),
            "auto or a Whisper language code such as en, es, ja, tl, vi, ro (docs/languages.md)",
        ),
        flag=Flag("--language", metavar="CODE"),
    )
    jargon: JargonOptions = field(default_factory=JargonOptions)
    confusion: ConfusionOptions = field(default_factory=ConfusionOptions)
    emergency: EmergencyOptions = field(default_factory=EmergencyOptions)
    triage: TriageOptions = field(default_factory=TriageOptions)
    summary: SummaryOptions = field(default_factory=SummaryOptions)
    load: LoadOptions = field(default_factory=LoadOptions)
    batching: BatchOptions = field(default_factory=BatchOptions)
    text: bool = setting(
        True, help="score the caller's finals with the text model", flag=Flag("--no-text")
    )
    job_timeout: float = setting(
        60.0,
        help="seconds a model job may run before its call gives up on it and goes on "
        "without its result (a model.failed event); a stuck one-job worker is replaced, "
        "a stuck batch worker is not (the jobs behind it time out one by one)",
        range=Range(0.5, 3600),
        unit="s",
    )
    vad_model: str | None = setting(
        None,
        help="Silero VAD ONNX file; not set = bundled Silero VAD",
        example="models/silero_vad.onnx",
        path=True,
        flag=Flag("--vad-model", metavar="PATH"),
    )
    emotion_model: str | None = setting(
        None,
        help="acoustic emotion ONNX file; not set = bundled models/emotion.onnx",
        example="models/emotion.onnx",
        path=True,
        flag=Flag("--emotion-model", metavar="PATH"),
    )

    def __post_init__(self) -> None:
        check(self)
