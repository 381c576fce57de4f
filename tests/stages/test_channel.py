import itertools

from edge.events import SpeechEnded, TranscriptFinal, TranscriptPartial
from edge.stages.channel import ChannelStage, JobKind, StreamOptions
from edge.stages.guards import GuardOptions
from edge.stages.segmenter import VadOptions
from edge.types import Role
from tests.stages.scripted import frames, hypothesis, seconds


def stage(**stream):
    return ChannelStage(
        Role.CALLER, vad=VadOptions(), stream=StreamOptions(**stream), guards=GuardOptions()
    )


def drive(st, probs, answers):
    """Feed frames; answer each job from ``answers`` (kind -> list of texts) at once."""
    events, jobs = [], []
    for frame, p in frames(probs):
        events += st.feed(frame, p)
        while (job := st.next_job()) is not None:
            jobs.append(job)
            events += st.complete(job, hypothesis(answers[job.kind].pop(0)))
    return events, jobs


def test_stable_prefix_only_grows_and_is_forced_on_the_next_decode():
    """Each partial starts with the previous stable text, which is passed back as the prefix."""
    st = stage(speculative=False, partial_interval=0.8)
    answers = {
        JobKind.PARTIAL: [
            "I have",
            "I have been wait",
            "I have been waiting for",
            "I have been waiting for hours",
            "x",
        ],
        JobKind.FINAL: ["I have been waiting for hours."],
    }
    events, jobs = drive(st, [0.9] * seconds(4) + [0.0] * seconds(1), answers)
    partials = [e for e in events if isinstance(e, TranscriptPartial)]
    assert [p.stable for p in partials] == ["", "I have", "I have been", "I have been waiting for"]
    for earlier, later in itertools.pairwise(partials):
        assert later.stable.startswith(earlier.stable)
        assert later.text.startswith(later.stable)
    partial_jobs = [j for j in jobs if j.kind is JobKind.PARTIAL]
    assert [j.prefix for j in partial_jobs] == [None, None, "I have", "I have been"]
    (final,) = [e for e in events if isinstance(e, TranscriptFinal)]
    assert final.text == "I have been waiting for hours."
    assert final.role is Role.CALLER and final.confidence == 0.9


def test_partials_come_every_interval_of_new_audio():
    """4 s of speech with a 0.8 s interval gives a partial about every 0.8 s of audio."""
    st = stage(speculative=False, partial_interval=0.8)
    answers = {JobKind.PARTIAL: ["words"] * 10, JobKind.FINAL: ["words"]}
    _, jobs = drive(st, [0.9] * seconds(4) + [0.0] * seconds(1), answers)
    ends = [j.utterance.end for j in jobs if j.kind is JobKind.PARTIAL]
    gaps = [b - a for a, b in itertools.pairwise(ends)]
    assert len(ends) == 4 and all(0.79 <= g <= 0.84 for g in gaps)


def test_speculative_final_is_emitted_as_soon_as_the_pause_is_long_enough():
    """The final decoded during the pause comes out on the frame that ends the utterance."""
    st = stage(partial_interval=0)
    answers = {JobKind.SPECULATIVE: ["call me back"], JobKind.FINAL: []}
    events, jobs = drive(st, [0.9] * seconds(2) + [0.0] * seconds(1), answers)
    assert [j.kind for j in jobs] == [JobKind.SPECULATIVE]
    ended = next(i for i, e in enumerate(events) if isinstance(e, SpeechEnded))
    assert isinstance(events[ended + 1], TranscriptFinal)
    assert events[ended + 1].stream_time == events[ended].stream_time


def test_speculation_is_discarded_when_speech_resumes():
    """A pause that turns out short throws the speculative result away."""
    st = stage(partial_interval=0)
    probs = [0.9] * seconds(2) + [0.0] * seconds(0.35) + [0.9] * seconds(1) + [0.0] * seconds(1)
    answers = {JobKind.SPECULATIVE: ["first half", "the whole thing"], JobKind.FINAL: []}
    events, jobs = drive(st, probs, answers)
    (final,) = [e for e in events if isinstance(e, TranscriptFinal)]
    assert final.text == "the whole thing"
    assert [j.kind for j in jobs] == [JobKind.SPECULATIVE, JobKind.SPECULATIVE]


def test_partial_result_for_a_closed_utterance_is_dropped():
    """A partial that returns after its utterance ended is not shown."""
    st = stage(speculative=False)
    job = None
    for frame, p in frames([0.9] * seconds(1)):
        st.feed(frame, p)
        job = job or st.next_job()
    assert job is not None and job.kind is JobKind.PARTIAL
    for frame, p in frames([0.0] * seconds(1)):
        st.feed(frame, p)
    assert st.complete(job, hypothesis("too late")) == []
    final_job = st.next_job()
    assert final_job.kind is JobKind.FINAL


def test_a_partial_still_in_flight_is_withdrawn_once_a_final_is_due():
    """Speech pauses while a partial is out: the stage takes the partial back and hands
    out the speculative final at once, instead of waiting for a result it would drop."""
    st = stage(partial_interval=0.8)
    job = None
    for frame, p in frames([0.9] * seconds(1.5)):
        st.feed(frame, p)
        job = job or st.next_job()
        assert st.withdraw_partial() is None  # still speaking: the partial stays
    assert job is not None and job.kind is JobKind.PARTIAL
    for frame, p in frames([0.0] * seconds(0.35)):
        st.feed(frame, p)
    assert st.next_job() is None  # one job in flight per channel
    assert st.withdraw_partial() is job
    assert st.withdraw_partial() is None  # nothing left to withdraw
    speculative = st.next_job()
    assert speculative is not None and speculative.kind is JobKind.SPECULATIVE
    assert st.withdraw_partial() is None  # a final in flight is never withdrawn
    events = st.complete(speculative, hypothesis("call me back"))
    for frame, p in frames([0.0] * seconds(1)):
        events += st.feed(frame, p)
    (final,) = [e for e in events if isinstance(e, TranscriptFinal)]
    assert final.text == "call me back"


def test_hallucinated_final_retracts_shown_partials_and_is_silent_otherwise():
    """An invented final gives an empty final only where partials were shown."""
    st = stage(speculative=False)
    answers = {
        JobKind.PARTIAL: ["thank", "thank you", "thank you", "x", "x"],
        JobKind.FINAL: ["[Music]"],
    }
    events, _ = drive(st, [0.9] * seconds(2.5) + [0.0] * seconds(1), answers)
    finals = [e for e in events if isinstance(e, TranscriptFinal)]
    assert [f.text for f in finals] == [""]

    st = stage(speculative=False, partial_interval=0)
    events, _ = drive(st, [0.9] * seconds(2) + [0.0] * seconds(1), {JobKind.FINAL: ["[Music]"]})
    assert not [e for e in events if isinstance(e, TranscriptFinal)]


def test_a_backlogged_model_gets_finals_but_no_partials():
    """partials=False (Whisper busy with other calls): no partial job, yet the final still comes."""
    st = stage(speculative=False, partial_interval=0.8)
    jobs = []
    for frame, p in frames([0.9] * seconds(3) + [0.0] * seconds(1)):
        st.feed(frame, p)
        while (job := st.next_job(partials=False)) is not None:
            jobs.append(job)
            st.complete(job, hypothesis("words"))
    assert [j.kind for j in jobs] == [JobKind.FINAL]


def test_spaced_partials_come_every_spacing_times_the_interval():
    """spacing=3 (the service is behind: fewer_partials): 8 s of speech at a 0.8 s interval
    gives a partial about every 2.4 s of audio instead of every 0.8 s; the final still comes."""
    st = stage(speculative=False, partial_interval=0.8)
    jobs = []
    for frame, p in frames([0.9] * seconds(8) + [0.0] * seconds(1)):
        st.feed(frame, p)
        while (job := st.next_job(spacing=3.0)) is not None:
            jobs.append(job)
            st.complete(job, hypothesis("words"))
    ends = [j.utterance.end for j in jobs if j.kind is JobKind.PARTIAL]
    gaps = [b - a for a, b in itertools.pairwise(ends)]
    assert len(ends) == 3 and all(2.39 <= g <= 2.44 for g in gaps), ends
    assert jobs[-1].kind is JobKind.FINAL
