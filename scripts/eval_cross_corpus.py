"""How the voice emotion model generalises beyond RAVDESS, measured as the service runs it.

    python scripts/eval_cross_corpus.py                          # the shipped model
    python scripts/eval_cross_corpus.py --model a.onnx --model b.onnx   # side by side
    python scripts/eval_cross_corpus.py --quick                  # a smoke test, ~1 minute
    python scripts/eval_cross_corpus.py --calm-only              # false cues on calm speech only

1. **Clips, live.** Per speaker of each corpus, all their clips in shuffled
   order (so a caller may be upset from the first clip) with pauses of
   0.5-1.5 s form one call, run frame by frame through Silero VAD, the live
   windows (``edge.stages.voice``) and the model with the speaker's baseline
   learnt as the call goes (``VoiceBaseline``, from the model's prior): the
   code a call runs (``OfflineChannel``).  A clip scores the highest distress
   among the readings made while it plays (window or current utterance),
   its arousal the highest window arousal; its class is the argmax of its
   readings' mean probabilities.  Distress ROC AUC per corpus (URDU angry+sad
   against neutral+happy; BAVED high against low arousal, by distress and by
   arousal; TESS angry+sad+fearful against neutral+happy; RAVDESS distressed
   against the rest, the held-out actors of the model card, clean and
   telephone) and 4-class balanced accuracy (neutral, happy, sad, angry).
2. **Clips, offline.** Each clip whole (trimmed of silence, as in training),
   scored against the model's population prior (a caller's first words) and
   against the mean statistics of the same speaker's *other* calm clips (an
   oracle baseline no live call has; speakers without calm clips keep the
   prior), so the gap the live baseline closes is visible.
3. **False cues on calm speech.** Calls made only of one speaker's calm clips
   (URDU neutral, TESS neutral, BAVED neutral level; shuffled rounds until the
   call is long enough, so clips repeat) and the two-speaker telephone
   conversation (both voices as the caller, looped to two minutes so most of it
   lies past the cue warm-up; also through 8 kHz G.711), through VAD, windows,
   prosody, model and the cue machine with the shipped ``CueOptions``
   (``CallSignals``): false ``caller_distressed`` cues per hour.

Every table has one column per ``--model``.  VAD probabilities and log-mels are
computed once per call or clip and shared by the models.  A Markdown summary is
printed and the figures go to ``artifacts/eval_cross_corpus.json``;
``--card`` also writes them into ``models/emotion.md`` ("Beyond RAVDESS").
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from eval_emotion import FOUR, Call, Outcome, frames_of, replay_cues, telephone
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from tqdm import tqdm

from edge.adapters.emotion import DISTRESS_LABELS, OnnxEmotionScorer, log_mel
from edge.adapters.vad import SileroVad
from edge.audio.files import read_audio
from edge.contracts import EmotionScore, Frame, Samples
from edge.events import Event, VoiceEmotion
from edge.pipeline.feed import ChannelFeed, OfflineChannel
from edge.pipeline.options import PipelineOptions
from edge.stages.prosody import ProsodyTracker
from edge.stages.voice import EmotionWindows
from edge.training import DATA, ROOT
from edge.training.augment import trim
from edge.training.clips import TO_LABEL
from edge.types import SAMPLE_RATE, Role

SHIPPED = ROOT / "models" / "emotion.onnx"
PHONE_CALL = Path("speech") / "phone"
HANGOVER = 0.25  # a reading this soon after a clip ends still belongs to it (VAD hangover)


@dataclass(frozen=True)
class Corpus:
    """A labelled corpus folder and the question asked of it."""

    name: str  # folder under the data root
    title: str
    speaker: str  # the labels.csv column naming the speaker
    label: str  # the column of the emotion or level
    positive: tuple[str, ...]  # distressed (or high arousal)
    negative: tuple[str, ...] | None  # the other side; None: every other label
    calm: tuple[str, ...]  # the speaker's calm voice (the oracle baseline, the calm calls)
    four: bool = True  # labels allow the 4-class task
    arousal: bool = False  # also rank by the model's arousal output
    channels: tuple[str, ...] = ("clean",)
    calm_once: bool = False  # a calm call holds each calm clip once (enough speakers to not repeat)


CORPORA = {
    c.name: c
    for c in (
        Corpus(
            "urdu", "URDU", "speaker", "emotion",
            positive=("angry", "sad"), negative=("neutral", "happy"), calm=("neutral",),
        ),
        Corpus(
            "baved", "BAVED", "speaker", "level",
            positive=("2",), negative=("0",), calm=("1",),
            four=False, arousal=True, calm_once=True,
        ),
        Corpus(
            "tess", "TESS", "speaker", "emotion",
            positive=("angry", "sad", "fearful"), negative=("neutral", "happy"), calm=("neutral",),
        ),
        Corpus(
            "ravdess", "RAVDESS held-out actors", "actor", "emotion",
            positive=DISTRESS_LABELS, negative=None, calm=("neutral",),  # calm is neutral
            channels=("clean", "phone"),
        ),
    )
}  # fmt: skip
CALM_CORPORA = ("urdu", "tess", "baved")


@dataclass(frozen=True)
class Item:
    """One clip of any corpus: who says it, with which label (RAVDESS calm is neutral)."""

    file: str
    speaker: str
    label: str


def read_items(corpus: Corpus, folder: Path) -> list[Item]:
    with (folder / "labels.csv").open() as f:
        return [
            Item(
                row["file"], row[corpus.speaker], TO_LABEL.get(row[corpus.label], row[corpus.label])
            )
            for row in csv.DictReader(f)
        ]


def on_channel(audio: Samples, channel: str) -> Samples:
    return telephone(audio) if channel == "phone" else audio


def subsample(items: list[Item], speakers: int | None, clips: int | None) -> list[Item]:
    """The ``speakers`` with most clips, each with up to ``clips`` taken round-robin by label."""
    by_speaker: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_speaker[item.speaker].append(item)
    chosen = sorted(by_speaker, key=lambda s: (-len(by_speaker[s]), s))[:speakers]
    kept: list[Item] = []
    for s in chosen:
        by_label: dict[str, list[Item]] = defaultdict(list)
        for item in by_speaker[s]:
            by_label[item.label].append(item)
        queues = [list(v) for _, v in sorted(by_label.items())]
        mine: list[Item] = []
        while any(queues) and (clips is None or len(mine) < clips):
            for q in queues:
                if q and (clips is None or len(mine) < clips):
                    mine.append(q.pop(0))
        kept += mine
    return kept


# --- streams: one speaker's call, VAD run once, every model fed the same frames ---------


class Replayed:
    """A VAD stream answering with probabilities computed once for this call's frames.

    Every model is then fed exactly the same frames and probabilities, and Silero
    runs once per call, not once per model.
    """

    def __init__(self, probs: list[float]) -> None:
        self._probs = iter(probs)

    def probability(self, frame: Samples) -> float:
        return next(self._probs)

    def reset(self) -> None:
        raise RuntimeError("a replayed VAD stream cannot be reset")


@dataclass
class Stream:
    """A call's caller channel: frames with their VAD probabilities, and where each clip lies."""

    frames: list[Frame]
    probs: list[float]
    spans: list[tuple[Item, float, float]] = field(default_factory=list)  # clip, start, end

    @property
    def seconds(self) -> float:
        return self.frames[-1].end if self.frames else 0.0


def make_stream(parts: list[tuple[Item | None, Samples]], channel: str, vad: SileroVad) -> Stream:
    """Clips (and pauses, item None) one after another as one caller channel."""
    spans, t = [], 0.0
    for item, audio in parts:
        if item is not None:
            spans.append((item, t, t + len(audio) / SAMPLE_RATE))
        t += len(audio) / SAMPLE_RATE
    audio = on_channel(np.concatenate([a for _, a in parts]), channel)
    frames = frames_of(audio)
    stream = vad.stream()
    return Stream(frames, [stream.probability(f.samples) for f in frames], spans)


def pause(rng: np.random.Generator) -> tuple[None, Samples]:
    return None, np.zeros(int(rng.uniform(0.5, 1.5) * SAMPLE_RATE), np.float32)


def readings(stream: Stream, model: OnnxEmotionScorer) -> list[VoiceEmotion]:
    """Every voice reading the service would make on this stream (windows and utterances)."""
    options = PipelineOptions()
    windows = EmotionWindows(Role.CALLER, options.emotion, model.prior)
    feed = ChannelFeed(Role.CALLER, threshold=options.vad.threshold, windows=windows)
    channel = OfflineChannel(feed, Replayed(stream.probs), emotion=model)
    out: list[VoiceEmotion] = []
    for frame in stream.frames:
        out += [e for e in channel.push(frame) if isinstance(e, VoiceEmotion)]
    return out


@dataclass
class ClipScores:
    """Per clip, in one order: label, distress, arousal and the 4-class guess (or None)."""

    labels: list[str] = field(default_factory=list)
    distress: list[float] = field(default_factory=list)
    arousal: list[float] = field(default_factory=list)
    guess: list[str | None] = field(default_factory=list)
    unread: int = 0  # clips with no reading while they played (left out)

    def add(self, label: str, score: EmotionScore | None, four: bool) -> None:
        if score is None:
            self.unread += 1
            return
        self.labels.append(label)
        self.distress.append(score.distress)
        self.arousal.append(score.arousal)
        self.guess.append(guess_four(score.probs) if four else None)


def guess_four(probs: tuple[tuple[str, float], ...]) -> str:
    p = dict(probs)
    return max(FOUR, key=lambda k: p.get(k, 0.0))


def clip_reading(events: list[VoiceEmotion], start: float, end: float) -> EmotionScore | None:
    """What the service read while a clip played: the highest window or utterance distress,
    the highest window arousal, the mean of the window probabilities."""
    inside = [e for e in events if start < e.stream_time <= end + HANGOVER]
    if not inside:
        return None
    distress = max(max(e.distress, e.onset_distress or 0.0) for e in inside)
    labels = [label for label, _ in inside[0].probs]
    mean = np.mean([[p for _, p in e.probs] for e in inside], axis=0)
    return EmotionScore(
        probs=tuple(zip(labels, (float(p) for p in mean), strict=True)),
        distress=distress,
        arousal=max(e.arousal for e in inside),
        stats=None,
    )


# --- metrics ------------------------------------------------------------------------


def auc(scores: ClipScores, corpus: Corpus, values: list[float]) -> float | None:
    pairs = [
        (label in corpus.positive, v)
        for label, v in zip(scores.labels, values, strict=True)
        if label in corpus.positive or corpus.negative is None or label in corpus.negative
    ]
    truth = [t for t, _ in pairs]
    if not any(truth) or all(truth):
        return None
    return round(float(roc_auc_score(truth, [v for _, v in pairs])), 4)


def metrics(scores: ClipScores, corpus: Corpus) -> dict[str, float | int | None]:
    m: dict[str, float | int | None] = {
        "clips": len(scores.labels),
        "unread": scores.unread,
        "distress_auc": auc(scores, corpus, scores.distress),
    }
    if corpus.arousal:
        m["arousal_auc"] = auc(scores, corpus, scores.arousal)
    if corpus.four:
        four = [i for i, label in enumerate(scores.labels) if label in FOUR]
        truth = [scores.labels[i] for i in four]
        m["balanced_accuracy_4"] = (
            round(float(balanced_accuracy_score(truth, [scores.guess[i] for i in four])), 4)
            if len(set(truth)) > 1
            else None
        )
    return m


# --- the three measurements -----------------------------------------------------------


def by_speaker(items: list[Item]) -> dict[str, list[Item]]:
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        groups[item.speaker].append(item)
    return dict(sorted(groups.items()))


def live(
    corpus: Corpus,
    items: list[Item],
    folder: Path,
    channel: str,
    vad: SileroVad,
    models: dict[str, OnnxEmotionScorer],
    seed: int,
    order: str,
) -> dict[str, ClipScores]:
    """Each speaker's clips as one call through the streaming path of every model.

    ``groups``: the clips of one label together (a caller in one state says several
    sentences), groups and clips within them in random order; ``clips``: every clip
    in random order, so the 3 s windows mix the clip before into each clip's readings.
    """
    rng = np.random.default_rng(seed)
    out = {name: ClipScores() for name in models}
    for mine in tqdm(by_speaker(items).values(), desc=f"{corpus.name} live ({channel})"):
        shuffled = [mine[k] for k in rng.permutation(len(mine))]
        if order == "groups":
            labels = sorted({i.label for i in mine})
            rank = {labels[k]: r for r, k in enumerate(rng.permutation(len(labels)))}
            shuffled.sort(key=lambda i: rank[i.label])  # stable: shuffled within a group
        parts: list[tuple[Item | None, Samples]] = []
        for item in shuffled:
            parts += [(item, read_audio(folder / item.file, mono=True)), pause(rng)]
        stream = make_stream(parts, channel, vad)
        for name, model in models.items():
            events = readings(stream, model)
            for item, start, end in stream.spans:
                out[name].add(item.label, clip_reading(events, start, end), corpus.four)
    return out


def offline(
    corpus: Corpus,
    items: list[Item],
    folder: Path,
    channel: str,
    models: dict[str, OnnxEmotionScorer],
) -> dict[str, dict[str, ClipScores]]:
    """Whole clips against the population prior, and against the speaker's other calm clips."""
    mels = [
        log_mel(on_channel(trim(read_audio(folder / i.file, mono=True)), channel))
        for i in tqdm(items, desc=f"{corpus.name} log-mels ({channel})")
    ]
    out: dict[str, dict[str, ClipScores]] = {}
    for name, model in models.items():
        prior = [model.score_mel(mel) for mel in mels]
        calm: dict[str, list[int]] = defaultdict(list)
        for k, item in enumerate(items):
            if item.label in corpus.calm:
                calm[item.speaker].append(k)
        oracle = ClipScores()
        for k, (item, mel) in enumerate(zip(items, mels, strict=True)):
            others = [j for j in calm[item.speaker] if j != k]
            if others:
                baseline = np.mean([prior[j].stats for j in others], axis=0).astype(np.float32)
                oracle.add(item.label, model.score_mel(mel, baseline), corpus.four)
            else:
                oracle.add(item.label, prior[k], corpus.four)
        scores = ClipScores()
        for item, score in zip(items, prior, strict=True):
            scores.add(item.label, score, corpus.four)
        out[name] = {"prior": scores, "oracle": oracle}
    return out


def calm_calls(
    corpus: Corpus, items: list[Item], folder: Path, per_speaker: int, seconds: float, seed: int
) -> Iterator[tuple[str, list[tuple[Item | None, Samples]]]]:
    """Calls of one speaker's calm clips in shuffled rounds, at least ``seconds`` long
    (or one round, once per speaker, for a corpus of many speakers: ``calm_once``)."""
    rng = np.random.default_rng(seed)
    for speaker, mine in by_speaker([i for i in items if i.label in corpus.calm]).items():
        audio = [read_audio(folder / i.file, mono=True) for i in mine]
        long = 0.0 if corpus.calm_once else seconds
        for _ in range(1 if corpus.calm_once else per_speaker):
            parts: list[tuple[Item | None, Samples]] = []
            total = 0.0
            while not parts or total < long:
                for k in rng.permutation(len(mine)):
                    parts += [(mine[k], audio[k]), pause(rng)]
                    total += (len(audio[k]) + len(parts[-1][1])) / SAMPLE_RATE
                    if long and total >= long:
                        break
            yield speaker, parts


def phone_conversation(data: Path, seconds: float, *, alone: bool) -> Iterator[tuple[str, list]]:
    """The two-speaker telephone conversation on the caller's channel, looped: both
    voices, or each speaker alone (the other's turns silenced, from ``sample.rttm``)."""
    audio = read_audio(data / PHONE_CALL / "sample.wav", mono=True)
    loops = max(1, int(np.ceil(seconds / (len(audio) / SAMPLE_RATE))))
    if not alone:
        yield "both", [(Item("sample.wav", "both", "neutral"), audio)] * loops
        return
    turns: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in (data / PHONE_CALL / "sample.rttm").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, length = float(fields[3]), float(fields[4])
            turns[fields[7]].append((start, start + length))
    for speaker, spans in sorted(turns.items()):
        alone = np.zeros_like(audio)
        for start, end in spans:
            a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
            alone[a:b] = audio[a:b]
        yield speaker, [(Item("sample.wav", speaker, "neutral"), alone)] * loops


def calm_outcome(stream: Stream, model: OnnxEmotionScorer) -> Outcome:
    """A calm call's caller readings (voice, prosody) and ticks, before the cue machine:
    ``replay_cues`` runs them through any cue settings."""
    options = PipelineOptions()
    feed = ChannelFeed(
        Role.CALLER,
        threshold=options.vad.threshold,
        prosody=ProsodyTracker(Role.CALLER, options.prosody),
        windows=EmotionWindows(Role.CALLER, options.emotion, model.prior),
    )
    caller = OfflineChannel(feed, Replayed(stream.probs), emotion=model)
    trace: list[Event | float] = []
    for frame in stream.frames:
        trace += caller.push(frame)
        trace.append(frame.end)
    call = Call(0, "calm", np.zeros(0, np.float32), None, stream.seconds)
    return Outcome(call, [], [], trace)


def false_cues(stream: Stream, model: OnnxEmotionScorer) -> list[float]:
    """When ``caller_distressed`` cues were raised on this calm call by the full cue path."""
    outcome = replay_cues(calm_outcome(stream, model), PipelineOptions().cues)
    first = {}
    for cue in outcome.cues:  # a cue rising to "high" keeps its cue_id
        first.setdefault(cue.cue_id, round(cue.stream_time, 1))
    return list(first.values())


def calm_speech(
    args: argparse.Namespace,
    vad: SileroVad,
    models: dict[str, OnnxEmotionScorer],
    paths: list[Path],
) -> dict[str, dict]:
    """False cues per hour on calls of calm speech, per source and model."""
    sources: list[tuple[str, str, Iterator[tuple[str, list]]]] = []
    for name in [c for c in CALM_CORPORA if c in args.corpora]:
        corpus = CORPORA[name]
        folder = args.data / name
        calm_items = [i for i in read_items(corpus, folder) if i.label in corpus.calm]
        items = subsample(unseen(calm_items, name, paths), args.speakers, args.clips)
        calls = calm_calls(corpus, items, folder, args.calm_calls, args.calm_seconds, args.seed)
        calm = "neutral level" if name == "baved" else "/".join(corpus.calm)
        sources.append((f"{corpus.title} {calm}", "clean", calls))
    if "phone" in args.corpora:
        for channel in ("clean", "phone"):
            for alone, who in ((False, "both voices"), (True, "each speaker alone")):
                calls = phone_conversation(args.data, args.calm_seconds, alone=alone)
                sources.append((f"telephone conversation, {who}", channel, calls))
    out: dict[str, dict] = {}
    for title, channel, calls in sources:
        key = title if channel == "clean" else f"{title}, 8 kHz G.711"
        seconds = 0.0
        when: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in models}
        for speaker, parts in tqdm(calls, desc=f"calm calls: {key}"):
            stream = make_stream(parts, channel, vad)
            seconds += stream.seconds
            for name, model in models.items():
                when[name][speaker] += false_cues(stream, model)
        hours = seconds / 3600
        cues = {n: sum(map(len, w.values())) for n, w in when.items()}
        out[key] = {
            "speakers": len(when[next(iter(models))]),
            "hours": round(hours, 3),
            "false_cues": cues,
            "false_cues_per_hour": {n: round(c / max(hours, 1e-9), 2) for n, c in cues.items()},
            "cue_times_by_speaker": {n: {s: t for s, t in w.items() if t} for n, w in when.items()},
        }
    return out


# --- report ---------------------------------------------------------------------------


def fmt(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(report: dict) -> list[str]:
    names = list(report["models"])
    head = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    intro = (
        "**Clips through the streaming path, baseline learnt live** (and offline, whole clips, "
        "against the population prior / the speaker's own calm clips):"
    )
    lines = [intro, "", *head] if report["clips"] else []
    for key, block in report["clips"].items():
        corpus = CORPORA[block["corpus"]]
        first = block["models"][names[0]]["live"]
        lines.append(
            f"| **{key}** ({first['clips']} clips read of {first['clips'] + first['unread']}, "
            f"{block['speakers']} speakers) |" + " |" * len(names)
        )
        metrics_ = [("distress_auc", "distress AUC")]
        if corpus.arousal:
            metrics_.append(("arousal_auc", "arousal AUC"))
        if corpus.four:
            metrics_.append(("balanced_accuracy_4", "4-class balanced accuracy"))
        for metric, label in metrics_:
            for how in ("live", "prior", "oracle"):
                cells = [fmt(block["models"][n][how].get(metric)) for n in names]
                lines.append(f"| {label}, {how} | " + " | ".join(cells) + " |")
    calm = (
        "**False `caller_distressed` cues on calm speech** (full cue path, shipped settings; "
        "target ≤ 2 per hour):"
    )
    lines += [*([""] if lines else []), calm, "", *head]
    for key, block in report["calm"].items():
        cells = [
            f"{block['false_cues'][n]} in {block['hours']:.2f} h = "
            f"{block['false_cues_per_hour'][n]:.1f}/h"
            for n in names
        ]
        who = f"{block['speakers']} speaker" + ("s" if block["speakers"] != 1 else "")
        lines.append(f"| {key} ({who}) | " + " | ".join(cells) + " |")
    return lines


def write_card(card: Path, report: dict, command: str) -> None:
    """The figures between the cross-corpus markers of the model card."""
    lines = [
        "<!-- cross-corpus -->",
        f"Measured by `{command}` on {report['machine']}, in {report['seconds']} s "
        f"(model `{next(iter(report['models'].values()))}`).",
        "",
        *markdown(report),
        "<!-- /cross-corpus -->",
    ]
    text = card.read_text()
    begin = text.index("<!-- cross-corpus -->")
    end = text.index("<!-- /cross-corpus -->") + len("<!-- /cross-corpus -->")
    card.write_text(text[:begin] + "\n".join(lines) + text[end:])


def shown(path: Path) -> str:
    """A model's path as the report names it: relative to the checkout when inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def held_out(model: Path) -> dict[str, set[str]]:
    """Per corpus the model trained on, the speakers it never saw.

    From the model's ``.train.json`` (the shipped one's if it has none):
    ``test_actors`` are RAVDESS's held-out actors; a model trained on more corpora
    names them in ``corpora`` and their held-out speakers in ``test_speakers``
    (``{"urdu": ["SM4", ...]}``) or ``urdu_test_speakers``.  A corpus it did not
    train on is all held out.
    """
    path = model.with_suffix(".train.json")
    if not path.is_file():
        print(f"no {path}: assuming it trained as the shipped model did", file=sys.stderr)
        path = SHIPPED.with_suffix(".train.json")
    trained = json.loads(path.read_text())
    test = {k: {str(s) for s in v} for k, v in trained.get("test_speakers", {}).items()}
    for corpus in CORPORA:
        if f"{corpus}_test_speakers" in trained:
            test[corpus] = {str(s) for s in trained[f"{corpus}_test_speakers"]}
    test.setdefault("ravdess", {str(a) for a in trained.get("test_actors", [])})
    return {corpus: test.get(corpus, set()) for corpus in trained.get("corpora", ["ravdess"])}


def unseen(items: list[Item], corpus: str, models: list[Path]) -> list[Item]:
    """The clips of speakers that no model trained on (every column sees the same clips)."""
    for model in models:
        held = held_out(model)
        if corpus in held:
            items = [i for i in items if i.speaker in held[corpus]]
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        help="an emotion ONNX model (repeat for side-by-side columns; default the shipped one)",
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--corpora",
        default="urdu,baved,tess,ravdess,phone",
        help="comma-separated: urdu, baved, tess, ravdess, phone (the telephone conversation)",
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--order",
        choices=("groups", "clips"),
        default="groups",
        help="a speaker's call: clips grouped by label, groups in random order (default), "
        "or every clip in random order",
    )
    parser.add_argument("--speakers", type=int, help="at most this many speakers per corpus")
    parser.add_argument("--clips", type=int, help="at most this many clips per speaker")
    parser.add_argument("--calm-calls", type=int, default=2, help="calm calls per speaker")
    parser.add_argument("--calm-seconds", type=float, default=120.0, help="length of a calm call")
    parser.add_argument("--quick", action="store_true", help="3 speakers, 8 clips each, 30 s calls")
    parser.add_argument(
        "--calm-only",
        action="store_true",
        help="only the false cues on calm speech (section 3): a few minutes",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "eval_cross_corpus.json")
    parser.add_argument("--card", type=Path, help="write the tables into this model card")
    parser.add_argument("--machine", default="a 2-core AMD EPYC VM, no GPU")
    args = parser.parse_args()
    if args.calm_only and args.card:
        raise SystemExit("--card needs every table: run without --calm-only to write the card")
    if args.quick:
        args.speakers, args.clips = args.speakers or 3, args.clips or 8
        args.calm_calls, args.calm_seconds = 1, min(args.calm_seconds, 30.0)
    args.corpora = [c.strip() for c in args.corpora.split(",") if c.strip()]
    unknown = set(args.corpora) - {*CORPORA, "phone"}
    if unknown:
        raise SystemExit(f"unknown corpus {sorted(unknown)}: choose from {[*CORPORA, 'phone']}")
    paths = args.model or [SHIPPED]
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"emotion model {path} does not exist; check --model")
    for name in [c for c in args.corpora if c != "phone"]:
        if not (args.data / name / "labels.csv").is_file():
            raise SystemExit(f"no {args.data / name}/labels.csv: set --data or $EDGE_DATA")

    started = time.time()
    names = [p.stem for p in paths]
    if len(set(names)) < len(names):
        names = [f"{p.parent.name}/{p.stem}" for p in paths]
    models = {n: OnnxEmotionScorer(p) for n, p in zip(names, paths, strict=True)}
    vad = SileroVad()
    report: dict = {
        "machine": args.machine,
        "models": {n: shown(p) for n, p in zip(names, paths, strict=True)},
        "quick": args.quick,
        "order": args.order,
        "speakers": {},  # per corpus, those held out from every model (before --speakers)
        "clips": {},
    }
    for name in [c for c in args.corpora if c in CORPORA and not args.calm_only]:
        corpus, folder = CORPORA[name], args.data / name
        items = unseen(read_items(corpus, folder), name, paths)
        if not items:
            print(f"{corpus.title}: every speaker trained some model; left out", file=sys.stderr)
            continue
        report["speakers"][name] = sorted(by_speaker(items))
        items = subsample(items, args.speakers, args.clips)
        for channel in corpus.channels:
            key = corpus.title + (", telephone" if channel == "phone" else "")
            streamed = live(corpus, items, folder, channel, vad, models, args.seed, args.order)
            whole = offline(corpus, items, folder, channel, models)
            report["clips"][key] = {
                "corpus": name,
                "speakers": len(by_speaker(items)),
                "models": {
                    n: {
                        "live": metrics(streamed[n], corpus),
                        "prior": metrics(whole[n]["prior"], corpus),
                        "oracle": metrics(whole[n]["oracle"], corpus),
                    }
                    for n in models
                },
            }
    report["calm"] = calm_speech(args, vad, models, paths)
    report["seconds"] = round(time.time() - started)
    table = markdown(report)
    print("\n".join(table))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    if args.card:
        write_card(
            args.card, report, "python " + " ".join(["scripts/eval_cross_corpus.py", *sys.argv[1:]])
        )
    print(f"wrote {args.out} in {report['seconds']} s")


if __name__ == "__main__":
    main()
