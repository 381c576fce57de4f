"""One channel's stages fed frame by frame: the loop a live call and the offline scripts share.

:class:`ChannelFeed` is the pure part: each frame with its VAD probability goes
to the channel's stages (segmentation and ASR, prosody, voice-emotion
windows); the stages' model jobs come out and their results go back in; the
finals the channel emits feed prosody and the text model. Who runs the model
jobs is the caller's business:

* :class:`~edge.pipeline.call.ChannelRunner` runs them on the engine's
  workers, beside the audio when the call is live;
* :class:`OfflineChannel` runs them in line, every job before the next frame:
  the order of a call that is not live, without an event loop.
  ``scripts/eval_emotion.py`` measures the cue logic and the emotion model
  through it, so an evaluation runs the code a call runs, never a copy of it.
"""

from __future__ import annotations

import dataclasses

from edge.contracts import (
    EmotionScore,
    EmotionScorer,
    Frame,
    Hypothesis,
    TextScore,
    TextScorer,
    Transcriber,
    VadStream,
)
from edge.events import Event, TextEmotion, TranscriptFinal
from edge.languages import ENGLISH
from edge.stages.channel import AsrJob, ChannelStage
from edge.stages.language import ChannelLanguage
from edge.stages.prosody import ProsodyTracker
from edge.stages.voice import EmotionJob, EmotionWindows
from edge.types import Role

VoiceScores = tuple[EmotionScore | None, EmotionScore | None]  # the window's, the utterance's
Job = AsrJob | EmotionJob


def score_voice(scorer: EmotionScorer, job: EmotionJob) -> VoiceScores:
    """The window's score and the current utterance's, for those the job carries.

    Model work only, for the model's worker (or in line, offline): the stage's
    logic runs when the scores reach ``EmotionWindows.complete``.
    """
    window = None if job.audio is None else scorer.score(job.audio, job.baseline)
    onset = None if job.onset is None else scorer.score(job.onset, job.baseline)
    return window, onset


class ChannelFeed:
    """The stages of one role's channel, each optional, fed as one state machine.

    A call's channel has all three; an offline evaluation builds only the ones it
    measures (no transcription when it measures the voice).
    """

    def __init__(
        self,
        role: Role,
        *,
        threshold: float,
        stage: ChannelStage | None = None,
        prosody: ProsodyTracker | None = None,
        windows: EmotionWindows | None = None,
        score_text: bool = False,
        language: ChannelLanguage | None = None,
    ) -> None:
        self.role = role
        self.threshold = threshold  # VAD probability that prosody counts as speech
        self.stage = stage
        self.prosody = prosody
        self.windows = windows
        self.score_text = score_text and stage is not None
        self.language = language  # None: English, the text model reads every final

    @property
    def job_language(self) -> str | None:
        """The language to decode the next transcription in; None: detect it."""
        return self.language.language if self.language is not None else ENGLISH

    @property
    def idle(self) -> bool:
        """No transcription in flight or waiting for a final."""
        return self.stage is None or self.stage.idle

    def feed(self, frame: Frame, prob: float) -> list[Event]:
        """One frame and its VAD probability; the events the stages emit for it."""
        events = self.language.start(frame.start) if self.language is not None else []
        if self.stage is not None:
            events += self.stage.feed(frame, prob)
        if self.prosody is not None:
            events += self.prosody.feed(frame, prob >= self.threshold)
        if self.windows is not None:
            self.windows.feed(frame, prob)
        return events

    def flush(self) -> list[Event]:
        """The channel's audio ended: what the stages still hold."""
        events = self.stage.flush() if self.stage is not None else []
        return events + (self.prosody.flush() if self.prosody is not None else [])

    def job_now(self) -> Job | None:
        """The next job of a channel that runs its jobs before the next frame.

        Transcription first, then the voice window: the order of a call that is
        not live.
        """
        if self.stage is not None and (job := self.stage.next_job()) is not None:
            return job
        return self.windows.next_job() if self.windows is not None else None

    def complete(self, job: Job, result: Hypothesis | VoiceScores) -> list[Event]:
        """A model job's result back into the stage that asked for it."""
        if isinstance(job, AsrJob):
            assert self.stage is not None and isinstance(result, Hypothesis)
            told: list[Event] = []
            if self.language is not None:
                utterance = job.utterance
                told = self.language.heard(
                    result,
                    utterance=utterance.index,
                    speech=(utterance.end - utterance.start) * utterance.speech_ratio,
                    final=job.final,
                    now=self.stage.now,
                )
            return told + self.stage.complete(job, result)
        assert self.windows is not None and isinstance(result, tuple)
        return [self.windows.complete(job, *result)]

    def emitted(self, events: list[Event]) -> list[TranscriptFinal]:
        """The channel emitted ``events``: its finals feed prosody; those the text model scores."""
        scored = []
        for event in events:
            if isinstance(event, TranscriptFinal):
                if self.prosody is not None:
                    self.prosody.feed_final(event)
                readable = self.language is None or self.language.reads_final(event.utterance)
                if self.score_text and readable and event.text.strip():
                    scored.append(event)
        return scored

    def text_emotion(self, final: TranscriptFinal, score: TextScore) -> TextEmotion:
        """The text model's reading of a final, as an event."""
        return TextEmotion(
            stream_time=final.stream_time,
            role=self.role,
            utterance=final.utterance,
            distress=score.distress,
            sentiment=score.sentiment,
            evidence=score.evidence,
            quote=score.quote,
            emergency=score.emergency,
            emergency_p=score.emergency_p,
            sensitive_p=score.sensitive_p,
            other_p=score.other_p,
            routine_topic=score.routine_topic,
            sensitive_topic=score.sensitive_topic,
        )


class OfflineChannel:
    """A channel whose model jobs run in line, each before the next frame.

    ``utterances=False`` scores only the voice windows: a job's current-utterance
    reading, and the jobs that carry nothing else, are skipped (an evaluation of
    the window readings alone then spends no time on them).
    """

    def __init__(
        self,
        feed: ChannelFeed,
        vad: VadStream,
        *,
        asr: Transcriber | None = None,
        emotion: EmotionScorer | None = None,
        text: TextScorer | None = None,
        utterances: bool = True,
    ) -> None:
        if feed.stage is not None and asr is None:
            raise ValueError("a channel that transcribes needs a transcriber")
        if feed.windows is not None and emotion is None:
            raise ValueError("a channel that scores its voice needs an emotion model")
        if feed.score_text and text is None:
            raise ValueError("a channel that scores its finals needs a text model")
        self.feed = feed
        self.vad = vad
        self.asr = asr
        self.emotion = emotion
        self.text = text
        self.utterances = utterances

    def push(self, frame: Frame) -> list[Event]:
        """One frame in; every event it leads to, model readings included, in emission order."""
        events = self._emitted(self.feed.feed(frame, self.vad.probability(frame.samples)))
        return events + self._run_jobs()

    def flush(self) -> list[Event]:
        """The audio ended: the stages' last events and the jobs they ask for."""
        return self._emitted(self.feed.flush()) + self._run_jobs()

    def _run_jobs(self) -> list[Event]:
        events: list[Event] = []
        while (job := self.feed.job_now()) is not None:
            if isinstance(job, AsrJob):
                assert self.asr is not None
                audio = job.utterance.audio
                result: Hypothesis | VoiceScores = self.asr.transcribe(
                    audio, prefix=job.prefix, final=job.final, language=self.feed.job_language
                )
            elif job.audio is None and not self.utterances:
                continue
            else:
                assert self.emotion is not None
                scored = job if self.utterances else dataclasses.replace(job, onset=None)
                result = score_voice(self.emotion, scored)
            events += self._emitted(self.feed.complete(job, result))
        return events

    def _emitted(self, events: list[Event]) -> list[Event]:
        """``events`` and the text model's readings of the finals among them."""
        out = list(events)
        for final in self.feed.emitted(events):
            assert self.text is not None
            out.append(self.feed.text_emotion(final, self.text.score([final.text])[0]))
        return out
