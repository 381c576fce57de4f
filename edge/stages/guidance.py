"""What the agent could do or say, in plain words, chosen from what a cue rests on.

Every client shows ``CueRaised.suggestion`` as it comes, so the words are
chosen here, once: short, concrete and free of jargon, for callers who may be
older or not at ease with technology. The first row of :data:`TOPICS` whose
evidence word the cue carries wins (the most pressing topic first); a cue with
none of them gets its kind's own line (:data:`BY_KIND`).

    suggestion = suggest(CueKind.CALLER_DISTRESSED, ("shaky voice", "pain words"))
    # "Ask where it hurts and how bad it is, from 1 to 10."
"""

from __future__ import annotations

from edge.events import CueKind

# (evidence word, suggestion), most pressing first. The words are the text model's
# tags (edge.adapters.text) and the voice and prosody words of edge.stages.cues.
TOPICS: tuple[tuple[str, str], ...] = (
    (
        "breathing trouble",
        "Ask if they can breathe right now. Keep your words short and stay on the line.",
    ),
    ("urgency", "Ask what is happening right now and where they are. Stay on the line."),
    ("pain words", "Ask where it hurts and how bad it is, from 1 to 10."),
    ("grief words", "Say you are sorry for their loss. Give them a moment before you go on."),
    ("fear", "Say calmly that you are here to help, and tell them the next step."),
    ("low mood", "Ask gently how they are coping. Listen, and do not rush them."),
    ("confusion", "Slow down. Use short, simple words and check they follow each step."),
    ("medicine words", "Ask which medicine it is and what worries them about it."),
    ("waiting/ignored", "Say sorry for the wait. Tell them what you will do now, and by when."),
    ("money words", "Offer to go through the bill together, one charge at a time."),
    ("anger", "Let them finish. Say you understand why they are upset, then what you can do."),
    ("raised voice", "Keep your voice calm and low. Let them finish before you answer."),
    ("shaky voice", "Speak slowly and gently. Ask if they are all right to go on."),
    ("tone of voice only", "Ask how they are doing, and listen: the voice alone can mislead."),
)

# The caller not following: by what showed it (the signs of edge.stages.confusion).
CONFUSED: tuple[tuple[str, str], ...] = (
    ("asked what a word means", "Explain that word in everyday words, then check it made sense."),
    ("asked the same question again", "Answer it again another way, and check it made sense."),
    ("said they don't follow", "Say it again in simpler words, one step at a time."),
    ("asked to hear it again", "Say it again slowly and clearly, in fewer words."),
    ("long pause, then unsure", "Ask: \u201cDoes that make sense? Shall I go over it again?\u201d"),
)

BY_KIND: dict[CueKind, str] = {
    CueKind.CALLER_DISTRESSED: "Ask how they are feeling, and listen.",
    CueKind.ESCALATING: "Slow down. Say you understand, and tell them what you will do next.",
    CueKind.LONG_SILENCE: "Check in: \u201cAre you still there? Take your time.\u201d",
    CueKind.OVERTALK: "Pause and let the caller finish.",
    CueKind.AGENT_SPEAKING_FAST: "Slow down, and check the caller is following.",
    CueKind.CALLER_CONFUSED: "Say it again in simpler words, one step at a time.",
    CueKind.AGENT_JARGON: "Say it in everyday words.",
}

# Topics that make sense for these kinds; conversation habits keep their own line.
_BY_EVIDENCE = frozenset({CueKind.CALLER_DISTRESSED, CueKind.ESCALATING})


def suggest(kind: CueKind, evidence: tuple[str, ...] = ()) -> str:
    """The suggestion for a cue of ``kind`` resting on ``evidence`` ("" when none fits)."""
    table = TOPICS if kind in _BY_EVIDENCE else CONFUSED if kind is CueKind.CALLER_CONFUSED else ()
    for word, suggestion in table:
        if word in evidence:
            return suggestion
    return BY_KIND.get(kind, "")
