"""Evaluate the acoustic emotion model as it runs live, and draw the pictures.

    python scripts/eval_emotion.py            # held-out actors of models/emotion.train.json

1. Held-out clips through the streaming path: each clip, with silence around
   it, goes frame by frame through Silero VAD and the live windowing stage
   (``edge.stages.voice``); every window the service would score is scored.
   Distress ROC AUC and 4-class balanced accuracy over those windows, clean
   and after the telephone channel (8 kHz G.711 mu-law and back).
2. Assembled calls: for each held-out actor, a minute of calm and neutral
   clips with natural pauses, then that actor's distressed clips (angry,
   fearful or sad), run through VAD, windows, model and the cue machine
   exactly as ``edge replay`` runs them.  Cue latency from distress onset,
   share of calls with a cue within 3 s, false cues per hour of calm speech
   (plus calm-only calls for more calm hours).
3. PNGs beside the model card: ROC curves, confusion matrix, one call's timeline.
   The figures are written into ``models/emotion.md`` between eval markers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, roc_auc_score, roc_curve
from tqdm import tqdm

from edge.adapters.emotion import DISTRESS_LABELS, OnnxEmotionScorer
from edge.adapters.vad import SileroVad
from edge.audio.frames import Framer
from edge.audio.g711 import mulaw_round_trip
from edge.contracts import Frame
from edge.events import CueKind, CueRaised, Event, VoiceEmotion
from edge.pipeline.feed import ChannelFeed, OfflineChannel
from edge.pipeline.options import PipelineOptions
from edge.stages.cues import CueOptions
from edge.stages.prosody import ProsodyTracker
from edge.stages.signals import CallSignals
from edge.stages.voice import EmotionOptions, EmotionWindows, VoiceBaseline
from edge.training import DATA, ROOT
from edge.training.clips import Clip, load, read_clips
from edge.types import SAMPLE_RATE, Role

FOUR = ("neutral", "happy", "sad", "angry")
DISTRESSED = ("angry", "fearful", "sad")


def telephone(audio: np.ndarray) -> np.ndarray:
    """8 kHz G.711 mu-law and back, as a phone call reaches the service."""
    narrow = soxr.resample(audio, SAMPLE_RATE, 8000)
    return soxr.resample(mulaw_round_trip(narrow), 8000, SAMPLE_RATE).astype(np.float32)


@dataclass
class Windows:
    """Every window scored live, with the label of the clip it came from."""

    labels: list[str] = field(default_factory=list)
    scores: list[VoiceEmotion] = field(default_factory=list)


def frames_of(audio: np.ndarray) -> list[Frame]:
    framer = Framer(Role.CALLER)
    return [*framer.feed(audio), *framer.flush()]


def speaker_windows(
    clips: list[Clip],
    folder: Path,
    channel: str,
    vad: SileroVad,
    model: OnnxEmotionScorer,
    seed: int,
) -> Windows:
    """Each held-out actor as one stream; the baseline builds as it does live.

    The actor's clips come grouped by emotion (a caller in one state says
    several sentences), groups and clips in random order, with pauses.
    Windows run on across the sentences of a group, as they do live, and are
    cut afresh between groups so that every window has one label; the
    speaker's baseline carries on throughout, as it does in a call.
    """
    result = Windows()
    rng = np.random.default_rng(seed)
    options = EmotionOptions()
    threshold = PipelineOptions().vad.threshold
    for actor in sorted({c.actor for c in clips}):
        mine = [c for c in clips if c.actor == actor]
        baseline = VoiceBaseline(model.prior, options.prior_weight, options.baseline_windows)
        stream = vad.stream()
        groups = sorted({c.label for c in mine})
        for g in tqdm(rng.permutation(len(groups)), desc=f"actor {actor} ({channel})"):
            group = [c for c in mine if c.label == groups[g]]
            windows = EmotionWindows(Role.CALLER, options, baseline=baseline)
            feed = ChannelFeed(Role.CALLER, threshold=threshold, windows=windows)
            # Only the windows are measured here: their utterance readings are skipped.
            voice = OfflineChannel(feed, stream, emotion=model, utterances=False)
            for k in rng.permutation(len(group)):
                pause = np.zeros(int(rng.uniform(0.3, 1.2) * SAMPLE_RATE), np.float32)
                audio = np.concatenate([load(folder, group[k]), pause])
                if channel == "phone":
                    audio = telephone(audio)
                for frame in frames_of(audio):
                    for event in voice.push(frame):
                        assert isinstance(event, VoiceEmotion)
                        result.labels.append(groups[g])
                        result.scores.append(event)
    return result


def window_metrics(w: Windows) -> dict[str, float]:
    distressed = [label in DISTRESS_LABELS for label in w.labels]
    distress = [s.distress for s in w.scores]
    four = [i for i, label in enumerate(w.labels) if label in FOUR]
    guess = [FOUR[int(np.argmax([w.scores[i].prob(k) for k in FOUR]))] for i in four]
    return {
        "windows": len(w.scores),
        "distress_auc": round(float(roc_auc_score(distressed, distress)), 4),
        "balanced_accuracy_4": round(
            float(balanced_accuracy_score([w.labels[i] for i in four], guess)), 4
        ),
    }


# --- assembled calls -------------------------------------------------------


@dataclass
class Call:
    actor: int
    kind: str  # the distressed emotion, or "calm" for a calm-only call
    audio: np.ndarray
    onset: float | None  # stream time distress begins (first distressed speech)
    seconds: float = 0.0  # length (kept when the audio is dropped)

    def __post_init__(self) -> None:
        self.seconds = self.seconds or len(self.audio) / SAMPLE_RATE


def speech_start(audio: np.ndarray, floor_db: float = 35.0) -> float:
    hop = SAMPLE_RATE // 100
    frames = len(audio) // hop
    rms = np.sqrt(np.mean(audio[: frames * hop].reshape(frames, hop) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms)
    return float(np.flatnonzero(db > db.max() - floor_db)[0] * hop / SAMPLE_RATE)


def assemble(pool: list[np.ndarray], seconds: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Clips from ``pool`` in shuffled rounds, with natural pauses, until ``seconds`` long."""
    parts: list[np.ndarray] = []
    total = 0.0
    while total < seconds:
        for k in rng.permutation(len(pool)):
            pause = np.zeros(int(rng.uniform(0.3, 1.2) * SAMPLE_RATE), np.float32)
            parts += [pool[k], pause]
            total += (len(pool[k]) + len(pause)) / SAMPLE_RATE
            if total >= seconds:
                break
    return parts


def build_calls(
    clips: list[Clip], folder: Path, seed: int, shuffles: int, calm_calls: int
) -> list[Call]:
    rng = np.random.default_rng(seed)
    calls = []
    for actor in sorted({c.actor for c in clips}):
        audio = {c.file: load(folder, c) for c in clips if c.actor == actor}
        calm = [audio[c.file] for c in clips if c.actor == actor and c.calm]
        for kind in DISTRESSED:
            upset = [audio[c.file] for c in clips if c.actor == actor and c.emotion == kind]
            for _ in range(shuffles):
                before = np.concatenate(assemble(calm, 60.0, rng))
                after = assemble(upset, 25.0, rng)
                onset = len(before) / SAMPLE_RATE + speech_start(after[0])
                calls.append(Call(actor, kind, np.concatenate([before, *after]), onset))
        for _ in range(calm_calls):
            calls.append(Call(actor, "calm", np.concatenate(assemble(calm, 120.0, rng)), None))
    return calls


@dataclass
class Outcome:
    call: Call
    cues: list[CueRaised]  # caller_distressed raises (a rise to "high" keeps its cue_id)
    timeline: list[tuple[float, float, float]]  # (time, voice distress, fused score)
    trace: list[Event | float] = field(repr=False, default_factory=list)  # inputs and ticks


def run_call(call: Call, vad: SileroVad, model: OnnxEmotionScorer, channel: str) -> Outcome:
    """The caller channel of a call through VAD, windows, model, prosody and cue machine."""
    options = PipelineOptions()
    audio = telephone(call.audio) if channel == "phone" else call.audio
    feed = ChannelFeed(
        Role.CALLER,
        threshold=options.vad.threshold,
        prosody=ProsodyTracker(Role.CALLER, options.prosody),
        windows=EmotionWindows(Role.CALLER, options.emotion, model.prior),
    )
    caller = OfflineChannel(feed, vad.stream(), emotion=model)
    trace: list[Event | float] = []
    for frame in frames_of(audio):
        trace += caller.push(frame)
        trace.append(frame.end)
    return replay_cues(Outcome(call, [], [], trace), options.cues)


def replay_cues(outcome: Outcome, cues: CueOptions) -> Outcome:
    """Run a recorded call's caller readings through the cue logic with these options."""
    signals = CallSignals(PipelineOptions().conversation, cues)
    raised: list[CueRaised] = []
    timeline: list[tuple[float, float, float]] = []
    voice = 0.0
    for item in outcome.trace:
        if isinstance(item, float):
            out = signals.tick(item)
            timeline.append((item, voice, signals.cues.distress_level))
        else:
            if isinstance(item, VoiceEmotion):
                voice = item.distress
            out = signals.observe(item)
        raised += [
            e for e in out if isinstance(e, CueRaised) and e.cue is CueKind.CALLER_DISTRESSED
        ]
    return Outcome(outcome.call, raised, timeline, outcome.trace)


def call_metrics(outcomes: list[Outcome], within: float = 3.0) -> dict[str, float]:
    latencies, fired, false_cues, calm_seconds = [], 0, 0, 0.0
    for o in outcomes:
        onset = o.call.onset
        calm_end = onset if onset is not None else o.call.seconds
        calm_seconds += calm_end
        first = None
        seen: set[int] = set()
        for cue in o.cues:
            if cue.cue_id in seen:  # the same cue rising to "high"
                continue
            seen.add(cue.cue_id)
            if cue.stream_time < calm_end:
                false_cues += 1
            elif first is None:
                first = cue.stream_time - calm_end
        if onset is not None and first is not None:
            latencies.append(first)
            fired += first <= within
    distressed = [o for o in outcomes if o.call.onset is not None]
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {
        "calls": len(distressed),
        "calm_only_calls": len(outcomes) - len(distressed),
        "cue_within_3s": round(fired / max(1, len(distressed)), 3),
        "cue_at_all": round(len(latencies) / max(1, len(distressed)), 3),
        "latency_p50": round(float(np.nanmedian(lat)), 2),
        "latency_p90": round(float(np.nanpercentile(lat, 90)), 2),
        "calm_hours": round(calm_seconds / 3600, 3),
        "false_cues": false_cues,
        "false_cues_per_hour": round(false_cues / max(calm_seconds / 3600, 1e-9), 2),
    }


# --- pictures and the model card --------------------------------------------


def plot_roc(curves: dict[str, Windows], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    for name, w in curves.items():
        truth = [label in DISTRESS_LABELS for label in w.labels]
        fpr, tpr, _ = roc_curve(truth, [s.distress for s in w.scores])
        auc = roc_auc_score(truth, [s.distress for s in w.scores])
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate")
    ax.set_title("Distress (angry, fearful, sad), held-out speakers,\nlive windows", fontsize=10)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_confusion(w: Windows, path: Path) -> None:
    import matplotlib.pyplot as plt

    four = [i for i, label in enumerate(w.labels) if label in FOUR]
    truth = [w.labels[i] for i in four]
    guess = [FOUR[int(np.argmax([w.scores[i].prob(k) for k in FOUR]))] for i in four]
    matrix = confusion_matrix(truth, guess, labels=list(FOUR), normalize="true")
    fig, ax = plt.subplots(figsize=(5, 4.4), dpi=120)
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(FOUR)):
        for j in range(len(FOUR)):
            colour = "white" if matrix[i, j] > 0.5 else "black"
            ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color=colour)
    ax.set_xticks(range(len(FOUR)), FOUR)
    ax.set_yticks(range(len(FOUR)), FOUR)
    ax.set(xlabel="predicted", ylabel="true")
    bacc = balanced_accuracy_score(truth, guess)
    ax.set_title(f"4 classes, held-out speakers (balanced accuracy {bacc:.2f})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_timeline(outcome: Outcome, threshold: float, path: Path) -> None:
    import matplotlib.pyplot as plt

    t, voice, fused = (np.array(v) for v in zip(*outcome.timeline, strict=True))
    audio = outcome.call.audio
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 4.2), dpi=120, sharex=True, gridspec_kw={"height_ratios": [1, 2]}
    )
    step = max(1, len(audio) // 6000)
    top.plot(np.arange(0, len(audio), step) / SAMPLE_RATE, audio[::step], lw=0.4, color="grey")
    top.set_yticks([])
    top.set_title(
        f"Assembled call: actor {outcome.call.actor}, calm then {outcome.call.kind}", fontsize=10
    )
    bottom.plot(t, voice, lw=0.8, color="tab:blue", alpha=0.5, label="voice distress, 3 s window")
    alone = [
        (e.stream_time, e.onset_distress)
        for e in outcome.trace
        if isinstance(e, VoiceEmotion) and e.onset_distress is not None
    ]
    if alone:
        bottom.scatter(
            *zip(*alone, strict=True), s=6, color="tab:purple", label="current utterance alone"
        )
    bottom.plot(t, fused, lw=1.8, color="tab:blue", label="fused, smoothed distress")
    bottom.axhline(threshold, ls=":", color="grey", label=f"raise threshold {threshold}")
    onset = outcome.call.onset
    if onset is not None:
        for ax in (top, bottom):
            ax.axvline(onset, color="tab:red", lw=1.2)
        bottom.text(onset, 1.02, " distress begins", color="tab:red", fontsize=8, va="bottom")
    for i, cue in enumerate(outcome.cues):
        bottom.axvline(cue.stream_time, color="tab:orange", lw=1.5, ls="--")
        bottom.text(
            cue.stream_time,
            0.95 - 0.12 * (i % 3),
            f" cue: {cue.level.value}",
            color="tab:orange",
            fontsize=8,
            ha="right" if i % 2 else "left",
        )
    bottom.set(xlabel="seconds into the call", ylabel="distress", ylim=(0, 1.1))
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _rows(figures: dict, *rows: tuple[str, ...]) -> list[str]:
    """Table rows ``| label | clean | telephone |``; a row is (key, label[, format])."""
    lines = []
    for key, label, *spec in rows:
        clean, phone = (format(figures[name][key], *spec) for name in ("clean", "phone"))
        lines.append(f"| {label} | {clean} | {phone} |")
    return lines


def update_card(card: Path, report: dict) -> None:
    """Write the figures between the eval markers of the model card."""
    s, c = report["streaming"], report["calls"]
    o = EmotionOptions()
    lines = [
        "<!-- eval -->",
        f"Measured by `python scripts/eval_emotion.py` on {report['machine']}, "
        f"held-out actors {report['actors']} (never seen in training), "
        f"{report['seconds']} s.",
        "",
        f"| live windows ({o.window:g} s of speech, every {o.hop:g} s) | windows "
        "| distress ROC AUC | 4-class balanced accuracy |",
        "|---|---|---|---|",
    ]
    for name in ("clean", "phone"):
        m = s[name]
        label = "clean 16 kHz" if name == "clean" else "telephone (8 kHz G.711 mu-law)"
        lines.append(
            f"| {label} | {m['windows']} | {m['distress_auc']:.3f} | "
            f"{m['balanced_accuracy_4']:.3f} |"
        )
    lines += [
        "",
        "| assembled calls (a minute calm, then distressed) | clean | telephone |",
        "|---|---|---|",
    ]
    lines += _rows(
        c,
        ("calls", "calls with distress"),
        ("cue_within_3s", "share with a cue within 3 s of onset"),
        ("cue_at_all", "share with a cue at all"),
        ("latency_p50", "cue latency from onset, p50 (s)"),
        ("latency_p90", "cue latency from onset, p90 (s)"),
        ("calm_hours", "hours of calm speech (incl. calm-only calls)"),
        ("false_cues", "false cues in calm speech"),
        ("false_cues_per_hour", "false cues per hour of calm speech"),
    )
    if "cv" in report:
        cv = report["cv"]
        lines += [
            "",
            f"**Every actor held out once** (`--folds`: the {cv['folds']} fold models of "
            "`train_emotion.py --cv`, each run on the 4 actors it never saw; all 20 actors, "
            "so 5 times the speakers of the table above):",
            "",
            "| every actor, streaming | clean | telephone |",
            "|---|---|---|",
            *_rows(
                cv["streaming"],
                ("windows", "live windows"),
                ("distress_auc", "distress ROC AUC", ".3f"),
                ("balanced_accuracy_4", "4-class balanced accuracy", ".3f"),
            ),
            *_rows(
                cv["calls"],
                ("calls", "calls with distress"),
                ("cue_within_3s", "share with a cue within 3 s of onset"),
                ("cue_at_all", "share with a cue at all"),
                ("latency_p50", "cue latency from onset, p50 (s)"),
                ("calm_hours", "hours of calm speech"),
                ("false_cues_per_hour", "false cues per hour of calm speech"),
            ),
        ]
    per_kind = report["calls_by_kind"]
    lines += [
        "",
        "Cue within 3 s by kind of distress (clean): "
        + ", ".join(f"{k} {v:.2f}" for k, v in per_kind.items())
        + ".",
        "",
        "![ROC curves](emotion_roc.png) ![confusion matrix](emotion_confusion.png)",
        "",
        "![one assembled call](emotion_timeline.png)",
        "<!-- /eval -->",
    ]
    text = card.read_text()
    begin, end = text.index("<!-- eval -->"), text.index("<!-- /eval -->") + len("<!-- /eval -->")
    card.write_text(text[:begin] + "\n".join(lines) + text[end:])


def evaluate(
    model_path: Path,
    actors: list[int],
    data: Path,
    seed: int,
    shuffles: int,
    calm_calls: int,
    *,
    keep_audio: bool = False,
) -> tuple[dict[str, Windows], dict[str, list[Outcome]]]:
    """These actors through the streaming path with this model: their live windows and
    their assembled calls, clean and telephone. Without ``keep_audio`` the calls' audio
    is dropped, so the outcomes travel cheaply between processes."""
    vad, model = SileroVad(), OnnxEmotionScorer(model_path)
    clips = [c for c in read_clips(data) if c.actor in actors]
    streams = {
        name: speaker_windows(clips, data, name, vad, model, seed) for name in ("clean", "phone")
    }
    calls = build_calls(clips, data, seed, shuffles, calm_calls)
    outcomes = {}
    for name in ("clean", "phone"):
        runs = [run_call(c, vad, model, name) for c in tqdm(calls, desc=f"calls {actors} ({name})")]
        if not keep_audio:
            for o in runs:
                o.call = dataclasses.replace(o.call, audio=np.zeros(0, np.float32))
        outcomes[name] = runs
    return streams, outcomes


def cross_validated(args: argparse.Namespace) -> dict:
    """Every actor held out once: the fold models of ``train_emotion.py --cv``."""
    from concurrent.futures import ProcessPoolExecutor

    folds = sorted(args.folds.glob("fold*.json"))
    if not folds:
        raise SystemExit(f"no fold*.json in {args.folds}: run scripts/train_emotion.py --cv first")
    streams = {"clean": Windows(), "phone": Windows()}
    outcomes: dict[str, list[Outcome]] = {"clean": [], "phone": []}
    actors: list[int] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = []
        for meta in folds:
            fold_actors = json.loads(meta.read_text())["test_actors"]
            actors += fold_actors
            futures.append(
                pool.submit(
                    evaluate,
                    meta.with_suffix(".onnx"),
                    fold_actors,
                    args.data,
                    args.seed,
                    args.cv_shuffles,
                    args.cv_calm_calls,
                )
            )
        for future in futures:
            fold_streams, fold_outcomes = future.result()
            for name in ("clean", "phone"):
                streams[name].labels += fold_streams[name].labels
                streams[name].scores += fold_streams[name].scores
                outcomes[name] += fold_outcomes[name]
    if args.keep:  # for trying other cue settings with replay_cues
        import pickle

        with args.keep.open("wb") as f:
            pickle.dump(outcomes, f)
    return {
        "folds": len(folds),
        "actors": sorted(actors),
        "streaming": {name: window_metrics(w) for name, w in streams.items()},
        "calls": {name: call_metrics(o) for name, o in outcomes.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA / "ravdess")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "emotion.onnx")
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--shuffles", type=int, default=3, help="calls per actor and distress")
    parser.add_argument("--calm-calls", type=int, default=8, help="2-minute calm calls per actor")
    parser.add_argument("--machine", default="a 2-core AMD EPYC VM, no GPU")
    parser.add_argument("--explore", action="store_true", help="print other cue settings' figures")
    parser.add_argument(
        "--folds",
        type=Path,
        help="also evaluate every actor with the fold models of train_emotion.py --cv "
        "(e.g. artifacts/emotion_cv)",
    )
    parser.add_argument("--cv-shuffles", type=int, default=2, help="with --folds")
    parser.add_argument("--cv-calm-calls", type=int, default=3, help="with --folds")
    parser.add_argument("--jobs", type=int, default=2, help="processes for --folds")
    parser.add_argument("--keep", type=Path, help="with --folds: pickle the calls' outcomes here")
    args = parser.parse_args()

    started = time.time()
    trained = json.loads(args.model.with_suffix(".train.json").read_text())
    actors = trained["test_actors"]
    streams, outcomes = evaluate(
        args.model,
        actors,
        args.data,
        args.seed,
        args.shuffles,
        args.calm_calls,
        keep_audio=True,  # for the timeline picture
    )
    report: dict = {"actors": actors, "machine": args.machine}
    report["streaming"] = {name: window_metrics(w) for name, w in streams.items()}
    print("live windows:", json.dumps(report["streaming"], indent=1))
    report["calls"] = {name: call_metrics(o) for name, o in outcomes.items()}
    if args.explore:  # how the cue settings trade latency for false cues (not used to pick them)
        for raise_at in (0.5, 0.6, 0.7):
            for min_duration in (0.5, 1.0, 1.5):
                cues = dataclasses.replace(
                    PipelineOptions().cues, raise_at=raise_at, min_duration=min_duration
                )
                m = call_metrics([replay_cues(o, cues) for o in outcomes["clean"]])
                print(f"raise_at {raise_at} min_duration {min_duration}: {m}")
    report["calls_by_kind"] = {
        kind: call_metrics([o for o in outcomes["clean"] if o.call.kind == kind])["cue_within_3s"]
        for kind in DISTRESSED
    }
    print("assembled calls:", json.dumps(report["calls"], indent=1))
    print("cue within 3 s by kind:", report["calls_by_kind"])

    plot_roc(streams, args.out / "emotion_roc.png")
    plot_confusion(streams["clean"], args.out / "emotion_confusion.png")
    example = next(o for o in outcomes["clean"] if o.call.kind == "angry")
    plot_timeline(example, PipelineOptions().cues.raise_at, args.out / "emotion_timeline.png")
    if args.folds:
        report["cv"] = cross_validated(args)
        print("cross-validated, every actor held out once:", json.dumps(report["cv"], indent=1))
    report["seconds"] = round(time.time() - started)
    (args.out / "emotion.eval.json").write_text(json.dumps(report, indent=1) + "\n")
    card = args.out / "emotion.md"
    if card.is_file() and "<!-- eval -->" in card.read_text():
        update_card(card, report)
    print(f"wrote {args.out}/emotion_*.png, emotion.eval.json in {report['seconds']} s")


if __name__ == "__main__":
    main()
