"""The emotion windowing stage with scripted frames: no model involved."""

from __future__ import annotations

import numpy as np
import pytest

from edge.contracts import EmotionScore, Frame
from edge.errors import ConfigError
from edge.stages.voice import EmotionOptions, EmotionWindows, VoiceBaseline
from edge.types import FRAME_SAMPLES, SAMPLE_RATE, Role

FRAME = FRAME_SAMPLES / SAMPLE_RATE


def frames(n: int, start: int = 0, value: float = 0.1) -> list[Frame]:
    return [
        Frame(Role.CALLER, (start + i) * FRAME, np.full(FRAME_SAMPLES, value, np.float32))
        for i in range(n)
    ]


def run(stage: EmotionWindows, probs: list[float]) -> list[tuple[int, float]]:
    """Feed frames with these VAD probabilities; (frame index, window seconds) of each job."""
    jobs = []
    for i, (frame, p) in enumerate(zip(frames(len(probs)), probs, strict=True)):
        stage.feed(frame, p)
        if (job := stage.next_job()) is not None:
            jobs.append((i, len(job.audio) / SAMPLE_RATE))
    return jobs


def score(stats: float) -> EmotionScore:
    return EmotionScore(
        probs=(("neutral", 1.0),), distress=0.0, arousal=0.0, stats=np.full((2, 3), stats)
    )


def test_first_window_after_first_seconds_then_every_hop() -> None:
    """The first job comes after `first` s of speech, then one per `hop`, at most `window` long."""
    stage = EmotionWindows(Role.CALLER, EmotionOptions(first=1.0, hop=1.0, window=3.0))
    jobs = run(stage, [0.9] * 250)  # 8 s of speech
    seconds = [round((i + 1) * FRAME, 2) for i, _ in jobs]
    assert seconds[:3] == pytest.approx([1.02, 2.05, 3.07], abs=0.04)
    assert len(jobs) == 7
    assert max(length for _, length in jobs) <= 3.0 + FRAME
    assert jobs[-1][1] == pytest.approx(3.0, abs=FRAME)


def test_spaced_readings_come_every_spacing_times_hop_and_never_alone() -> None:
    """spacing=2 (the service is behind: fewer_readings): windows every 2 x hop, and no
    utterance-only readings between them; the window readings themselves go on."""
    options = EmotionOptions(first=1.0, hop=1.0, window=3.0, onset_gap=0.6, onset_hop=0.25)
    stage = EmotionWindows(Role.CALLER, options)
    stage.spacing = 2.0
    probs = [0.9] * 250  # 8 s of speech
    jobs = []
    for frame, p in zip(frames(len(probs)), probs, strict=True):
        stage.feed(frame, p)
        if (job := stage.next_job()) is not None:
            jobs.append(job)
            stage.complete(job, score(0.0))
    assert all(job.audio is not None for job in jobs)
    ends = [job.end for job in jobs]
    assert ends[0] == pytest.approx(1.02, abs=0.04)
    assert np.diff(ends) == pytest.approx([2.0] * (len(ends) - 1), abs=0.04)


def test_silence_is_not_scored_and_not_counted() -> None:
    """Frames below the VAD threshold (after the hangover) neither fill windows nor advance them."""
    options = EmotionOptions(first=1.0, hangover=0.0)
    stage = EmotionWindows(Role.CALLER, options)
    probs = [0.9] * 20 + [0.1] * 200 + [0.9] * 12  # 0.64 s speech, 6.4 s silence, 0.38 s speech
    jobs = run(stage, probs)
    assert len(jobs) == 1
    assert jobs[0][0] == len(probs) - 1  # only once 1 s of *speech* was heard
    assert jobs[0][1] == pytest.approx(32 * FRAME)


def test_a_long_enough_pause_starts_a_fresh_window() -> None:
    """With `gap` set, a pause that long clears the window; by default windows span pauses."""
    probs = [0.9] * 60 + [0.1] * 30 + [0.9] * 40  # ~1.9 s speech, ~1 s pause, ~1.3 s speech
    spanning = run(EmotionWindows(Role.CALLER, EmotionOptions(hangover=0.0)), probs)
    fresh = run(EmotionWindows(Role.CALLER, EmotionOptions(hangover=0.0, gap=0.6)), probs)
    assert spanning[-1][1] == pytest.approx(3.0, abs=FRAME)  # old speech still in the window
    assert fresh[-1][0] == 60 + 30 + 31  # the new utterance waits for `first` = 1 s of speech
    assert fresh[-1][1] == pytest.approx(32 * FRAME)


def test_jobs_carry_the_current_utterance_when_it_is_shorter_than_the_window() -> None:
    """After a pause of onset_gap, the new utterance alone is scored too, for a faster onset;
    its first reading comes when it has onset_first seconds, whatever the window's rhythm."""
    options = EmotionOptions(hangover=0.0, onset_gap=0.6, onset_first=0.75)
    stage = EmotionWindows(Role.CALLER, options)
    probs = [0.9] * 60 + [0.1] * 30 + [0.9] * 40
    jobs = []
    for frame, p in zip(frames(len(probs)), probs, strict=True):
        stage.feed(frame, p)
        if (job := stage.next_job()) is not None:
            jobs.append(job)
    assert jobs[0].onset is None  # one utterance so far: it is the window
    assert jobs[0].onset_start == 0.0
    second = [j for j in jobs if j.onset is not None]
    assert len(second[0].onset) == round(0.75 * SAMPLE_RATE / 512) * 512  # onset_first
    assert [j.onset_start for j in second] == pytest.approx([90 * FRAME] * len(second))
    last = jobs[-1]
    assert last.onset is not None and len(last.onset) < len(last.audio)
    event = stage.complete(last, score(0.0), score(0.0))
    assert event.utterance_start == last.onset_start
    assert event.utterance_distress == 0.0
    off = EmotionWindows(Role.CALLER, EmotionOptions(onset_gap=0.0))
    assert off.options.onset_gap == 0.0


def distressed(value: float) -> EmotionScore:
    return EmotionScore(
        probs=(("angry", 1.0),), distress=value, arousal=value, stats=np.full((2, 3), 9.0)
    )


def test_between_window_readings_the_utterance_is_read_alone_every_onset_hop() -> None:
    """Once a window has been read, a short utterance is read every onset_hop of its
    speech; those jobs carry no window, and their events repeat the last window reading."""
    options = EmotionOptions(hangover=0.0, onset_gap=0.6, onset_first=0.75, onset_hop=0.25)
    stage = EmotionWindows(Role.CALLER, options)
    probs = [0.9] * 60 + [0.1] * 30 + [0.9] * 60
    jobs, events = [], []
    for frame, p in zip(frames(len(probs)), probs, strict=True):
        stage.feed(frame, p)
        if (job := stage.next_job()) is not None:
            jobs.append(job)
            window = None if job.audio is None else score(0.0)
            events.append(stage.complete(job, window, distressed(0.8)))
    alone = [(j, e) for j, e in zip(jobs, events, strict=True) if j.audio is None]
    assert alone, "no utterance-only reading"
    reads = [j for j in jobs if j.onset is not None]  # the second utterance, read alone
    assert [j.onset_start for j in reads] == pytest.approx([90 * FRAME] * len(reads))
    gaps = np.diff([j.end for j in reads])
    assert gaps == pytest.approx([round(0.25 * SAMPLE_RATE / 512) * FRAME] * len(gaps), abs=0.02)
    assert [j.audio is None for j in reads[:4]] == [False, True, False, True]
    for job, event in alone:
        window = next(e for e in reversed(events[: events.index(event)]) if not e.window_repeated)
        assert event.window_repeated and event.stream_time == job.end
        assert (event.start, event.end, event.distress) == (window.start, window.end, 0.0)
        assert event.utterance_distress == 0.8 and event.utterance_start == job.onset_start
    # Only window readings judged neutral join the baseline: utterance-only ones never do.
    assert stage.baseline.windows == len(jobs) - len(alone)


def test_an_utterance_reading_never_displaces_a_waiting_window() -> None:
    """The window waiting for a slow model is kept; it carries the utterance too."""
    options = EmotionOptions(hangover=0.0, onset_gap=0.6, onset_first=0.75, onset_hop=0.25)
    stage = EmotionWindows(Role.CALLER, options)
    probs = [0.9] * 60 + [0.1] * 30 + [0.9] * 24  # the second utterance's first window waits
    for frame, p in zip(frames(len(probs)), probs, strict=True):
        stage.feed(frame, p)
        if frame.start < 60 * FRAME and (job := stage.next_job()) is not None:
            stage.complete(job, score(0.0))
    job = stage.next_job()
    assert job is not None and job.audio is not None and job.onset is not None


def test_only_the_latest_window_waits() -> None:
    """A slow model sees the newest window; stale ones are replaced, not queued."""
    stage = EmotionWindows(Role.CALLER, EmotionOptions(first=1.0, hop=1.0))
    for frame in frames(200):
        stage.feed(frame, 0.9)
    job = stage.next_job()
    assert job is not None and job.end == pytest.approx(frames(200)[-1].end, abs=1.0)
    assert stage.next_job() is None


def test_baseline_starts_at_prior_and_moves_to_the_speaker() -> None:
    """The baseline blends the population prior with the speaker's windows, then stays fixed."""
    baseline = VoiceBaseline(np.zeros((2, 3), np.float32), prior_weight=2.0, limit=4)
    assert baseline.mean is not None and float(baseline.mean[0, 0]) == 0.0
    for _ in range(2):
        baseline.add(np.full((2, 3), 6.0, np.float32))
    assert float(baseline.mean[0, 0]) == pytest.approx(3.0)  # (12 + 2*0) / (2 + 2)
    for _ in range(10):
        baseline.add(np.full((2, 3), 6.0, np.float32))
    assert baseline.windows == 4
    assert float(baseline.mean[0, 0]) == pytest.approx(4.0)  # (24 + 0) / (4 + 2)


def test_jobs_carry_the_baseline_and_results_update_it() -> None:
    """Each job holds the baseline as it was cut; completing it adds the window's statistics."""
    stage = EmotionWindows(Role.CALLER, EmotionOptions(prior_weight=1.0), np.zeros((2, 3)))
    jobs = []
    for frame in frames(40):
        stage.feed(frame, 0.9)
        if (job := stage.next_job()) is not None:
            jobs.append(job)
    assert len(jobs) == 1
    assert jobs[0].baseline is not None and float(jobs[0].baseline[0, 0]) == 0.0
    event = stage.complete(jobs[0], score(4.0))
    assert event.role is Role.CALLER and event.start < event.end
    assert stage.baseline.mean is not None and float(stage.baseline.mean[0, 0]) == 2.0


def test_only_windows_judged_neutral_join_the_baseline() -> None:
    """A distressed window does not become the speaker's yardstick."""
    stage = EmotionWindows(Role.CALLER, EmotionOptions(), np.zeros((2, 3)))
    for frame in frames(40):
        stage.feed(frame, 0.9)
    job = stage.next_job()
    assert job is not None
    angry = EmotionScore(
        probs=(("neutral", 0.1), ("angry", 0.9)), distress=0.9, arousal=0.9, stats=np.ones((2, 3))
    )
    stage.complete(job, angry)
    assert stage.baseline.windows == 0
    stage.complete(job, score(1.0))
    assert stage.baseline.windows == 1


def test_reset_forgets_the_speaker_cut_keeps_them() -> None:
    """cut() starts windows afresh for the same speaker; reset() is a new call."""
    stage = EmotionWindows(Role.CALLER, EmotionOptions(), np.zeros((2, 3)))
    stage.baseline.add(np.ones((2, 3), np.float32))
    stage.cut()
    assert stage.baseline.windows == 1
    stage.reset()
    assert stage.baseline.windows == 0


@pytest.mark.parametrize(
    "options",
    [
        {"hop": 0.1},
        {"window": 0.5},
        {"first": 5.0, "window": 3.0},
        {"prior_weight": -1},
        {"onset_hop": 0.05},
        {"onset_hop": 0.75, "hop": 0.5},
    ],
)
def test_bad_options_name_the_key(options: dict[str, float]) -> None:
    """Out-of-range options are refused with the key's name."""
    with pytest.raises(ConfigError, match=r"emotion\.\w+"):
        EmotionOptions(**options)
