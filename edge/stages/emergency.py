"""The ``possible_emergency`` cue: the caller's words describe an emergency now.

Whatever the voice model reads, a caller who says "my husband isn't breathing"
must reach the agent's eyes within a second of the words (issue 14). So this
watch reads the caller's transcript as it is spoken, partials included, with
phrase rules per category (breathing trouble, chest pain, stroke signs, severe
bleeding, overdose or poisoning, suicide or self-harm, unconscious / collapsed
/ seizure), and sets aside what is not an emergency now:

* negated words: "I'm not short of breath", "no chest pain", "I'm not going to
  hurt myself";
* the past, reported and hypothetical: "I had a heart attack in 2015", "my
  neighbour had a stroke last year", "the leaflet says call if you can't
  breathe", "what are the signs of a stroke?";
* idioms and clinic talk: "this bill is killing me", "you gave me a heart
  attack", "a refill of my seizure medication".

Two layers of rules: phrases per category, read per clause ("can't get my
breath", "he's gone blue"), and looser near-word rules read over the sentence
(a chest word and a pain word close together), void when a negation stands
between them. A match at the end of a partial that the next words often undo
(a simple past, an idiom's first words, a question still being asked) waits for
them.

**A second path, on finals.** The text model's emergency head
(``models/emergency_head.onnx``) reads each caller final's sentence embedding;
its ``emotion.text`` event carries the most likely category and its
probability. When no rule matched that final, the probability is at least
``head_at`` and :func:`vetoed` finds no denial, past, report, question about
facts or idiom in it, the cue is raised (or the category added) with the final
as its quote: new phrasings the rules were not written for.

:func:`detect` is the rule set alone (``scripts/eval_emergency.py`` measures
it on a labelled set; figures and limits in ``models/emergency.md``);
:class:`EmergencyWatch` turns its findings into cues::

    events = watch.feed(event)   # the call's events; the caller's transcripts count
    events = watch.tick(now)     # clears the cue `hold` seconds after the last trigger
    events = watch.flush(now)    # end of call: clears it

**The cue.** High level at once: no warm-up, no minimum duration, no cooldown.
``quote`` holds the triggering spans of the caption, verbatim; ``evidence`` the
categories in plain words; ``suggestion`` the site's protocol (``protocol``,
or the category's own where the site set one). A new category, or new words in
another utterance, re-send the cue with the same ``cue_id``; so does the final
of an utterance whose words differ from the partial's, so that the quote
matches the caption that stays. ``hold`` seconds after the last trigger, or at
the end of the call, it clears.

**Partials may be withdrawn.** A partial is Whisper's guess at words still
being spoken; its final may drop the words the cue was raised on. The cue stays
even then: a missed emergency costs far more than an agent glancing at a cue
the caption does not bear out, and the quote shows them what was heard.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from edge.events import (
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    TextEmotion,
    TranscriptFinal,
    TranscriptPartial,
)
from edge.settings import Range, check, setting
from edge.stages.held import HeldCue
from edge.types import Role

DEFAULT_PROTOCOL = (
    "Follow your emergency protocol: keep the caller on the line "
    "and get a nurse or emergency services now."
)


class Category(str, enum.Enum):
    """What kind of emergency the words describe."""

    BREATHING = "breathing"
    CHEST_PAIN = "chest_pain"
    STROKE = "stroke"
    BLEEDING = "bleeding"
    OVERDOSE = "overdose"
    SELF_HARM = "self_harm"
    UNRESPONSIVE = "unresponsive"

    def __str__(self) -> str:
        return self.value

    @property
    def plain(self) -> str:
        """The category in plain words: the cue's evidence."""
        return _PLAIN[self]


_PLAIN = {
    Category.BREATHING: "breathing trouble",
    Category.CHEST_PAIN: "chest pain",
    Category.STROKE: "stroke signs",
    Category.BLEEDING: "severe bleeding",
    Category.OVERDOSE: "overdose or poisoning",
    Category.SELF_HARM: "suicide or self-harm",
    Category.UNRESPONSIVE: "unconscious, collapsed or seizure",
}
# "Possible emergency: the caller ..." with these, joined by "and".
_SAYS = {
    Category.BREATHING: "says someone can't breathe properly",
    Category.CHEST_PAIN: "describes chest pain",
    Category.STROKE: "describes signs of a stroke",
    Category.BLEEDING: "describes heavy bleeding",
    Category.OVERDOSE: "describes an overdose or poisoning",
    Category.SELF_HARM: "speaks of suicide or self-harm",
    Category.UNRESPONSIVE: "says someone is unconscious, collapsed or fitting",
}


@dataclass(frozen=True, kw_only=True)
class EmergencyOptions:
    """The possible_emergency cue: the caller's words describe an emergency now.

    Raised from the caller's partial transcripts, within a second of the words,
    at level high; never waits for a warm-up or a cooldown. ``protocol`` is what
    the agent is told to do; a category's own protocol, where set, replaces it.
    """

    SECTION: ClassVar[str] = "pipeline.emergency"

    enabled: bool = setting(True, help="watch the caller's words for emergencies")
    protocol: str = setting(
        DEFAULT_PROTOCOL,
        help="the site's emergency protocol, shown to the agent with the cue",
        not_empty="write the site's emergency protocol, or set enabled = false",
    )
    hold: float = setting(
        120.0,
        help="seconds the cue stays after the last words that triggered it",
        range=Range(1, 3600),
        unit="s",
    )
    breathing: str = setting("", help="protocol for breathing trouble; empty = `protocol`")
    chest_pain: str = setting("", help="protocol for chest pain; empty = `protocol`")
    stroke: str = setting("", help="protocol for stroke signs; empty = `protocol`")
    bleeding: str = setting("", help="protocol for severe bleeding; empty = `protocol`")
    overdose: str = setting("", help="protocol for overdose or poisoning; empty = `protocol`")
    self_harm: str = setting(
        "",
        help="protocol for suicide or self-harm (e.g. the crisis line); empty = `protocol`",
    )
    unresponsive: str = setting(
        "", help="protocol for unconscious, collapsed or seizure; empty = `protocol`"
    )
    head_at: float = setting(
        0.35,
        help=(
            "the text model's emergency probability at which a caller's final raises the cue "
            "when no phrase rule matched (and no denial, past or report vetoes it); "
            "1 = rules only"
        ),
        range=Range(0, 1),
    )

    def __post_init__(self) -> None:
        check(self)

    def protocol_for(self, category: Category) -> str:
        own: str = getattr(self, category.value)
        return own.strip() or self.protocol


# -- the rules -----------------------------------------------------------------

_A = "'?"  # an apostrophe, or none (ASR and typing both drop them)
_NT = rf"(?:n{_A}t|\s+not)"  # isn't / is not
_CANT = rf"(?:can{_A}t|cannot|can\s+not|could{_NT}|unable\s+to)"
_WONT = rf"(?:won{_A}t|will\s+not|wont)"
_SELF = r"(?:my|him|her|them|your|our)sel(?:f|ves)"
_POSS = r"(?:my|his|her|their|the|our|your)"
_WHO = r"(?:he|she|they|i|it|we|you)"
_BE = rf"(?:{_A}s|{_A}re|{_A}m|\s+is|\s+are|\s+am|\s+was|\s+were)"
_PERSON = (
    r"(?:he|she|they|him|her|them|my\s+\w+|his\s+\w+|her\s+\w+|our\s+\w+|the\s+(?:baby|child|"
    r"kid|man|woman|patient|boy|girl)|someone|somebody|mum|mom|dad|mother|father|husband|wife|"
    r"son|daughter|partner|grandma|grandad|granny|grandpa|nan|baby)"
)
_INTENSE = r"(?:really\s+|very\s+|so\s+|all\s+|a\s+bit\s+|kind\s+of\s+|sort\s+of\s+|quite\s+)?"
_PILLS = (
    r"(?:pills|tablets|meds|medication|medications|medicine|medicines|capsules|painkillers|"
    r"sleeping\s+(?:pills|tablets)|paracetamol|tylenol|ibuprofen|aspirin|insulin|oxy\w*|"
    r"opioids|heroin|fentanyl|morphine|antidepressants|anti[\s-]?depressants|them|it|the\s+lot)"
)

_RULES: dict[Category, tuple[str, ...]] = {
    Category.BREATHING: (
        rf"{_CANT}\s+(?:really\s+|properly\s+|even\s+|hardly\s+|barely\s+)?"
        rf"(?:breathe?|breathing|get\s+(?:my|his|her|a|any|enough|their)?\s*(?:breath|air)|"
        rf"catch\s+(?:my|his|her|a|their)\s+breath|get\s+(?:his|her|my)\s+breath\s+back)",
        rf"{_CANT}\s+(?:seem\s+to\s+|really\s+|properly\s+|quite\s+|hardly\s+)+(?:breathe?\b|"
        r"get\s+(?:my|his|her|a|any|enough)?\s*(?:breath|air))",
        r"(?:struggling|fighting|gasping|battling|straining)\s+(?:to\s+breathe?|for\s+(?:breath|air))",
        r"(?:trouble|difficulty|difficulties|problems?|hard\s+time|struggling|struggle|pain)"
        r"\s+(?:with\s+)?breathing",
        r"(?:hard|difficult|painful|impossible)\s+to\s+(?:breathe?|get\s+(?:my|his|her)\s+breath)",
        rf"breathing\s+(?:is|has\s+been|'s|s|was)\s+{_INTENSE}(?:difficult|hard|painful|a\s+struggle)",
        r"short(?:ness)?\s+of\s+breath",
        rf"(?:is{_NT}|are{_NT}|was{_NT}|not|stopped|stops|stopping|quit|barely|hardly|no\s+longer)"
        r"\s+breathing",
        r"(?:barely|hardly)\s+breathe?",
        r"(?:can|could)\s+(?:hardly|barely|scarcely|only\s+just)\s+(?:breathe?|catch|get\s+"
        r"(?:a|my|any|his|her|enough)?\s*(?:breath|air))",
        r"(?:gurgling|rattling|rasping|grunting|horrible|awful|strange|weird|funny)\s+(?:\w+\s+){0,3}"
        r"(?:when|as|while)\s+(?:he|she|they|i)\s+breathes?",
        r"out\s+of\s+breath\s+(?:just\s+)?(?:sitting|resting|lying|at\s+rest|doing\s+nothing|"
        r"talking)",
        r"(?:every|each)\s+breath\s+(?:is|feels)",
        r"asthma(?:'s|\s+is)\s+(?:really\s+|very\s+|so\s+)?bad",
        r"breathless(?:ness)?",
        r"gasping",
        r"suffocat(?:ing|e|es)",
        r"(?<!\bgetting\s)chok(?:ing|ed|es)(?!\s+(?:up|back|on\s+(?:my|his|her)\s+words))",
        r"(?:turn(?:ing|ed|s)?|gone|going|went|go(?:es)?)\s+(?:all\s+|a\s+bit\s+|really\s+)?"
        r"(?:blue|purple|grey|gray)",
        r"(?:lips|face|skin|fingers)\s+(?:are|is|look|looks|went|turned|going|gone|turning|have\s+gone)"
        r"\s+(?:all\s+|a\s+bit\s+|really\s+)?(?:blue|purple)",
        r"blue\s+lips",
        r"lips\s+(?:\w+\s+)?(?:blue|purple)",  # "her lips on blue": Whisper's "are" on a phone line
        r"(?:throat|airway)\s+(?:is\s+|'s\s+|feels\s+(?:like\s+it\s+is\s+|like\s+it's\s+)?)?"
        r"(?:closing|swelling|closed|tightening)",
        r"(?:tongue|lips?|face)\s+(?:is\s+|are\s+|has\s+)?(?:swelling|swelled|swollen)\s+up",
        rf"breathing\s+(?:is\s+|was\s+|has\s+gone\s+|sounds\s+|looks\s+|seems\s+|'s\s+)?{_INTENSE}"
        r"(?:funny|strange|weird|shallow|noisy|rattly|rattling|laboured|labored|erratic|"
        r"irregular|really\s+bad|bad|wrong)",
        rf"(?:asthma\s+attack|inhaler{_A}s?\s+(?:is\s+)?(?:is{_NT}|isnt|does{_NT}|not|n't)\s+"
        r"(?:working|helping))",
        r"(?:no|not\s+getting\s+(?:any|enough))\s+air\s+(?:in|into|going)",
        rf"(?:not\s+sure|don{_A}t\s+know|can{_A}t\s+tell)\s+(?:if|whether)\s+{_WHO}{_BE}\s+"
        r"(?:still\s+)?breathing",
        r"(?:don't|do\s+not|dont)\s+think\s+(?:he|she|they)(?:'s|\s+is|'re|\s+are)\s+breathing",
    ),
    Category.CHEST_PAIN: (
        r"chest\s+pains?",
        rf"(?:pains?|ache|aching|tight(?:ness)?|pressure|heaviness|squeezing|crushing(?:\s+pain|"
        rf"\s+feeling)?|burning)\s+(?:in|on|across|around|right\s+in)\s+{_POSS}\s+chest",
        r"chest\s+(?:is|feels?|'s|s|has\s+been|keeps|went|started)\s+"
        rf"{_INTENSE}(?:\w+\s+)?(?:tight|heavy|crushing|crushed|hurting|killing|sore|burning|"
        r"on\s+fire|squeezing|squeezed|aching|pounding|"
        r"like\s+(?:an?|someone|something|it(?:'s|\s+is|s)|i'm|i\s+am)|"
        r"really\s+bad|bad|painful|agony)(?:\s+me)?",
        r"(?:my|his|her)\s+chest\s+(?:really\s+)?(?:hurts|aches|is\s+killing|hurting|kills)"
        r"(?:\s+(?:me|him|her))?",
        r"chest\s+(?:tightness|pressure|heaviness|discomfort)",
        rf"(?:weight|band|vice|elephant|brick)\s+(?:\w+\s+){{0,2}}(?:on|around|across|round)\s+{_POSS}"
        r"\s+chest",
        r"it(?:'s|\s+is)\s+my\s+heart\b(?!\s+\w)",
        r"(?:clutching|clutches|clutched|holding|grabbing|gripping)\s+(?:at\s+)?(?:his|her|my)\s+chest",
        r"heart\s+attack",
        r"cardiac\s+arrest",
        r"pain\s+(?:going|spreading|shooting|radiating|running|moving|goes|spreads|shoots)\s+"
        r"(?:down|into|up|through)\s+(?:my|his|her)\s+(?:left\s+)?(?:arm|jaw|neck|shoulder)",
        r"(?:heart|chest)\s+(?:is\s+)?(?:hurting|hurts)",
        r"elephant\s+(?:sitting\s+|standing\s+)?on\s+(?:my|his|her)\s+chest",
    ),
    Category.STROKE: (
        r"(?:a|another|mini|having|had)[\s-]+(?:mini[\s-]?)?stroke\b",
        r"stroking\s+out",
        rf"(?:face|arm|leg|side|hand)\s+(?:is{_NT}|isnt|not|won{_A}t|will\s+not|can{_A}t)\s+mov(?:e|ing)",
        r"(?:face|mouth|smile|lip|eyelid)\s+(?:is\s+|has\s+|'s\s+|went\s+|looks\s+|seems\s+|"
        r"started\s+|just\s+)?(?:all\s+|gone\s+|kind\s+of\s+|sort\s+of\s+)?(?:drooping|droopy|"
        r"dropped|dropping|drop|fallen|lopsided|crooked|sagging|saggy|twisted|numb|slumped|"
        r"gone\s+(?:droopy|numb|funny)|fallen\s+down)",
        rf"one\s+side\s+of\s+{_POSS}\s+(?:face|mouth|body)",
        r"droop(?:ing|y|ed|s)?\s+(?:face|mouth|on\s+one\s+side|to\s+one\s+side)",
        r"slurr(?:ing|ed|s|y)",
        r"(?:speech|voice|words)\s+(?:(?:is|are|has|'s|sounds|went|gone|coming\s+out|come\s+out|"
        r"came\s+out)\s+){0,2}(?:all\s+|really\s+|very\s+|sort\s+of\s+)?"
        r"(?:slurred|slurry|garbled|jumbled|muddled|mixed\s+up|wrong|funny|weird|strange)",
        r"(?:talking|speaking|saying\s+words)\s+(?:really\s+|all\s+)?(?:funny|gibberish|nonsense|"
        r"strange(?:ly)?|weird(?:ly)?|jumbled|muddled)",
        rf"{_CANT}\s+(?:get\s+(?:his|her|my|their)\s+words\s+out|speak\s+properly|"
        r"talk\s+properly|find\s+(?:his|her|my)\s+words|understand\s+(?:him|her))",
        rf"{_CANT}\s+(?:move|lift|feel|raise|use|grip\s+with)\s+{_POSS}\s+(?:left\s+|right\s+)?"
        r"(?:arm|leg|hand|side|foot|fingers)s?",
        rf"(?:left|right|one)\s+side\s+(?:of\s+{_POSS}\s+(?:body|face)\s+)?(?:is\s+|has\s+|'s\s+)?"
        r"(?:gone\s+|went\s+|feels\s+|is\s+all\s+|all\s+|just\s+)?(?:numb|weak|dead|limp|heavy|"
        r"floppy|paralysed|paralyzed)",
        r"(?:numb(?:ness)?|weak(?:ness)?|tingling|paralys(?:ed|is)|paralyz(?:ed)|droop(?:ing)?)\s+"
        rf"(?:all\s+)?(?:down|on|in|along)\s+(?:one|the\s+(?:left|right)|{_POSS}\s+(?:left|right))\s+side",
        r"sudden(?:ly)?\s+(?:(?:very|really|went|gone|feels?|got|going)\s+)?(?:numb(?:ness)?|"
        rf"weak(?:ness)?|confus(?:ed|ion)|{_CANT}\s+(?:see|speak|talk|move|walk))",
        r"(?:went|gone|going)\s+numb\s+(?:all\s+of\s+a\s+sudden|suddenly|out\s+of\s+nowhere)",
        rf"all\s+of\s+a\s+sudden\s+{_WHO}\s+{_CANT}\s+(?:move|speak|talk|see|feel|walk)",
        r"(?:arm|leg|hand)\s+(?:has\s+|just\s+|'s\s+)?(?:gone|went)\s+(?:completely\s+|all\s+)?"
        r"(?:numb|dead|limp|weak|floppy)",
        r"worst\s+headache\s+(?:of\s+(?:my|his|her)\s+life|(?:i|he|she)(?:'ve|\s+has|\s+have|'s)"
        r"\s+ever\s+had|ever)",
        r"thunderclap\s+headache",
        rf"{_CANT}\s+smile\s+(?:properly|straight|normally|on\s+one\s+side)",
        rf"one\s+side\s+(?:of\s+\w+\s+\w+\s+)?(?:{_WONT}|{_CANT}|does{_NT}|is{_NT}|isnt)\s+mov(?:e|ing)",
        rf"lost\s+(?:the\s+)?(?:use|feeling|strength)\s+(?:of|in)\s+{_POSS}\s+(?:left\s+|right\s+)?"
        r"(?:arm|leg|hand|side|face|foot)",
    ),
    Category.BLEEDING: (
        r"bleed(?:ing|s)?\s+(?:really\s+|very\s+|so\s+)?(?:heavily|badly|bad|a\s+lot|loads|"
        r"everywhere|profusely|like\s+(?:mad|crazy|hell|a\s+stuck\s+pig)|non[\s-]?stop|all\s+over|"
        r"out|through|from\s+(?:the|his|her|my)\s+(?:head|mouth|ears?|neck|eyes?)|and\s+bleeding)",
        rf"(?:{_WONT}|does{_NT}|doesnt|is{_NT}|isnt|{_CANT}|not)\s+stop(?:ping)?\s+"
        r"(?:the\s+|it\s+)?bleed(?:ing)?",
        rf"(?:bleeding|blood)\s+(?:just\s+)?(?:{_WONT}|does{_NT}|doesnt|is{_NT}|isnt|has{_NT}|"
        r"hasnt|keeps\s+on|keeps)\s+(?:stop|stopped|stopping|slow(?:ing)?|coming|going|pouring)",
        r"(?:lots|lot|loads|so\s+much|too\s+much|a\s+pool|pools|puddle|buckets)\s+of\s+blood",
        r"blood\s+(?:is\s+|'s\s+)?(?:everywhere|all\s+over|pouring|gushing|spurting|pumping|"
        r"pooling|squirting|coming\s+out\s+(?:everywhere|fast|of)|dripping\s+everywhere)",
        r"losing\s+(?:a\s+lot\s+of\s+|so\s+much\s+|lots\s+of\s+|too\s+much\s+)?blood",
        r"(?:coughing|vomiting|throwing|bringing|spitting|sicking)\s+(?:up\s+)?(?:blood|clots)",
        r"ha?emorrhag(?:e|ing|ed)",
        r"(?:soaked|soaking|drenched)\s+(?:through\s+)?(?:with|in)\s+blood",
        r"bled\s+through",
        r"(?:gushing|pouring|spurting|squirting|pumping|losing)\s+(?:out\s+)?blood",
        r"bleed(?:ing)?\b[^.?!;]{0,40}?\b(?:a\s+lot|heavily|badly|loads|everywhere|so\s+much)",
        r"wound(?:'s|\s+is)\s+(?:gushing|pouring|pumping|spurting)",
    ),
    Category.OVERDOSE: (
        r"overdos(?:e|ed|ing)",
        rf"\bo\.?\s?d{_A}(?:e)?d\b",
        r"swallowed\s+(?:\w+\s+){0,6}" + _PILLS,
        r"(?:took|taken|eaten|ate)\s+some\s+of\s+(?:my|her|his|their|mum's|dad's|grandma's|nan's|"
        r"the)\s+(?:\w+\s+)?" + _PILLS,
        r"(?:taken|took|swallowed)\s+something(?!\s+for)\b",
        r"(?:drank|drunk|drinking)\s+(?:\w+\s+){0,4}and\s+(?:took|taken|swallowed)\s+(?:\w+\s+){0,3}"
        + _PILLS,
        r"(?:twice|double|triple|three\s+times)\s+the\s+(?:dose|amount)",
        r"(?:more|lots\s+more|loads\s+more|way\s+more)\s+than\s+(?:i|he|she|you|they)\s+"
        r"(?:should|was\s+supposed\s+to|were\s+supposed\s+to)",
        r"(?:took|taken|take|taking|swallowed|had|downed|ate|eaten|necked|injected|injecting|"
        r"given|gave)\s+(?:him\s+|her\s+|them\s+|myself\s+)?(?:all|the\s+whole|"
        r"a\s+whole|too\s+many|too\s+much|loads|lots|a\s+lot|a\s+handful|handfuls|a\s+(?:bottle|box|"
        r"packet|pack|strip|load)|double|twice|extra|a\s+bunch|every\s+one|the\s+rest)\s+"
        r"(?:(?:bottle|box|packet|pack|strip|load|tub|lot|jar)\s+)?"
        r"(?:of\s+)?(?:(?:my|his|her|their|the|your|these|those|our)\s+)?(?:\w+\s+)?" + _PILLS,
        r"(?:took|taken|swallowed)\s+(?:my|his|her|their|the)\s+(?:\w+\s+)?"
        + _PILLS
        + r"\s+(?:twice|three\s+times|all\s+at\s+once)",
        r"(?:swallowed|drank|drunk|drinking|ate|eaten|eating|drunk)\s+(?:some\s+|a\s+|the\s+|"
        r"a\s+bottle\s+of\s+|a\s+load\s+of\s+)?(?:bleach|batter(?:y|ies)|poison|antifreeze|"
        r"drain\s+cleaner|detergent|washing\s+(?:up\s+)?liquid|laundry\s+(?:pods?|capsules?|"
        r"tablets?)|dishwasher\s+(?:tablets?|pods?)|rat\s+poison|weed\s*killer|paint\s+thinner|"
        r"white\s+spirit|lighter\s+fluid|methanol|cleaning\s+(?:stuff|fluid|products?)|"
        r"a\s+(?:magnet|button\s+battery))",
        r"poison(?:ed|ing|s)?\b",
        r"got\s+into\s+(?:my|the|his|her|their|grandma's|nan's)\s+(?:\w+\s+)?(?:pills|medicine|"
        r"medication|tablets|meds|bleach|cabinet|cupboard)",
        r"carbon\s+monoxide",
        r"double[\s-]dosed?",
    ),
    Category.SELF_HARM: (
        rf"kill(?:ing|ed)?\s+{_SELF}",
        r"(?:end|ending|take|taking|took)\s+(?:my|his|her|their)\s+(?:own\s+)?li(?:fe|ves)",
        r"end\s+it\s+all",
        r"(?:going\s+to|gonna|want\s+to|wanna|will|'ll|might|about\s+to|thinking\s+(?:about|of)|"
        r"think\s+about|ready\s+to|plan\s+to|planning\s+to|feel\s+like)\s+end(?:ing)?\s+(?:it|things|"
        r"everything|my\s+life)\b",
        r"(?:want|wanna|wants|wanted|going|ready)\s+(?:to\s+)?die\b",
        r"wish\s+(?:i|he|she)\s+(?:was|were|could\s+be)\s+dead",
        r"wish\s+i\s+(?:could\s+die|(?:had|'d)\s+never\s+been\s+born|wasn't\s+here|"
        r"wasn't\s+alive)",
        r"better\s+off\s+(?:dead|without\s+me|if\s+i\s+(?:was|were)n't\s+(?:here|around))",
        rf"(?:don{_A}t|do\s+not|dont|doesn{_A}t)\s+want\s+to\s+(?:be\s+(?:here|around|alive)\s+"
        r"(?:any\s*more|no\s+more)|(?:be\s+alive|live|exist|wake\s+up)(?:\s+any\s*more)?\b)",
        r"(?:no|nothing)\s+(?:reason|point)\s+(?:to|in)\s+(?:live|living|going\s+on|carrying\s+on)",
        r"nothing\s+(?:left\s+)?to\s+live\s+for",
        rf"{_CANT}\s+go\s+on(?:\s+living|\s+any\s*more|\s+like\s+this)?\b",
        r"(?:want|wanna|going|gonna|about|tempted|thinking\s+(?:about|of)|urge|urges|feel\s+like|"
        r"might|will|'ll|ready|planning|plan)\s+(?:to\s+)?(?:hurt|harm|cut|burn|hurting|harming|"
        rf"cutting|burning)\s+{_SELF}",
        rf"(?:been|started|keep|kept|i'm|i\s+am|is|'s)\s+(?:cutting|harming|hurting|burning)\s+{_SELF}",
        r"self[\s-]?harm(?:ing|ed)?",
        r"(?:cut|cutting|slit|slashed|slashing)\s+(?:my|his|her|their)\s+wrists?",
        r"suicid(?:al|e)",
        r"(?:kill|hang|shoot|drown)\s+(?:my|him|her)self",
        r"standing\s+on\s+(?:the|a)\s+(?:bridge|edge|ledge|roof|cliff)",
        r"(?:want|wish)\s+(?:it\s+all|everything)\s+to\s+(?:stop|end|be\s+over)",
        rf"{_CANT}\s+cope\s+(?:any\s*more|no\s+more)",
        r"(?:nobody|no\s+one|no-one)\s+(?:would|will|'d)\s+(?:miss|care|notice)\s+(?:me|if)",
        r"(?:written|wrote|left|writing)\s+(?:a|my)\s+(?:suicide\s+|goodbye\s+)?(?:note|letter)\s+"
        r"(?:for|to)\s+(?:my\s+)?(?:family|kids|children|wife|husband|everyone|mum|parents)",
        r"never\s+wake\s+up",
        r"no\s+way\s+out",
        rf"(?:don{_A}t|do\s+not|can{_A}t|cannot)\s+see\s+(?:the\s+|any\s+)?point\s+(?:in|of)\s+"
        r"(?:living|life|going\s+on|carrying\s+on|anything|being\s+alive)",
        r"(?:hurt|harmed|cut|burned|burnt)\s+myself\s+(?:on\s+purpose|deliberately)",
        r"(?:cut|cutting|slashed|slashing|scratched|scratching)\s+(?:my|his|her)\s+(?:arms|wrists?|"
        r"legs|thighs)",
    ),
    Category.UNRESPONSIVE: (
        r"unconscious(?:ness)?",
        r"unresponsive",
        rf"(?:not|is{_NT}|isnt|stopped|was{_NT}|wasnt|no\s+longer)\s+responding",
        rf"(?:{_WONT}|{_CANT}|did{_NT}|is{_NT}|not)\s+(?:wak(?:e|ing)|rous(?:e|ing))\s+"
        r"(?:(?:him|her|them|my\s+\w+|his\s+\w+)\s+)?(?:up)?",
        r"pass(?:ed|ing|es)\s+out",
        r"faint(?:ed|ing|s)\b",
        r"black(?:ed|ing)\s+out",
        r"(?:lost|losing)\s+consciousness",
        r"(?:keeled|fell|toppled)\s+over",
        r"collaps(?:ed|ing|e|es)\b",
        r"(?<!face\s)(?<!side\s)(?<!hand\s)(?<!arm\s)(?<!leg\s)"
        rf"(?:not|is{_NT}|isnt|stopped|was{_NT}|no\s+longer)\s+moving",
        r"(?<!arm\s)(?<!leg\s)(?<!hand\s)(?<!side\s)(?<!face\s)"
        r"(?:gone|went|going|is|'s|has\s+gone)\s+(?:all\s+|completely\s+)?(?:limp|floppy)",
        r"(?:he|she|they)\s+(?:won't|will\s+not|isn't|is\s+not|doesn't|does\s+not|can't)\s+"
        r"(?:answer(?:ing)?|respond(?:ing)?)(?=\s+(?:me|us|when|to\s+me)\b|\s*[.,!?]|\s*$)",
        r"dropped\s+(?:down\s+)?(?:to|on)\s+the\s+(?:floor|ground)",
        r"knocked\s+(?:(?:him|her|them|him|him)self\s+|himself\s+|herself\s+)?out\b",
        r"out\s+cold",
        r"seizures?\b",
        r"(?<!\bwill\s)(?<!\bwould\s)(?:having|had|has\s+had|'s\s+having)\s+a\s+fit\b",
        r"(?:is|'s|s|are|'re|been|keeps?|started|still)\s+fitting\b",
        r"convuls(?:ing|ions?|ed|e)",
        r"eyes?\s+(?:have\s+|are\s+|is\s+)?(?:rolled|rolling)\s+(?:back|up)",
        r"(?:shaking|jerking|twitching|thrashing)\s+(?:all\s+over|uncontrollably|and\s+"
        r"(?:won't|not|can't|isn't))",
        rf"(?:no|{_CANT}\s+(?:find|feel)\s+a|(?:there's|there\s+is)\s+no)\s+pulse",
        rf"{_PERSON}(?:{_A}s|\s+is|\s+are|{_A}re|\s+looks|\s+seems)\s+(?:dead|lifeless)",
        rf"(?:think|afraid|scared|worried)\s+{_PERSON}(?:{_A}s|\s+has|\s+is)\s+(?:died|dead|gone)",
        rf"{_CANT}\s+(?:get|wake)\s+(?:him|her|them|my\s+\w+)\s+(?:to\s+)?(?:respond|wake|up)",
        r"not\s+(?:conscious|awake|alert|with\s+it)",
        r"(?:having|had)\s+another\s+(?:one|seizure|fit)",
        rf"(?:{_WONT}|not|is{_NT}|isnt|has{_NT}|hasnt|{_CANT}\s+get\s+(?:him|her|them)\s+to)\s+"
        r"(?:come|coming)\s+(?:round|around|to)\b(?!\s+(?:for|to\s+\w+|today|tomorrow|later|this|"
        r"until|till|any\s*more|the|my|our|your))",
    ),
}

# Looser rules: two words of a kind close together in a clause, in either order. They
# catch phrasings the rules above do not name; a negation inside them voids them.
_NEAR = r"\b[^.?!;]{0,45}?\b"
_LOOSE: dict[Category, tuple[str, ...]] = {
    Category.BREATHING: (
        rf"(?:breath|breathing|breathe|breathes)\b{_NEAR}(?:struggl\w*|difficult\w*|hard|"
        r"labou?red|shallow|rattl\w*|gurgl\w*|wheez\w*|gasp\w*|stopp\w*|stops|funny|"
        r"weird|strange|fast\s+and\s+shallow|noisy)",
        r"(?:struggl\w*|difficult\w*|hard|gasp\w*|fight\w*)\s+(?:\w+\s+){0,2}(?:to\s+)?"
        r"(?:breathe?|for\s+(?:breath|air))",
    ),
    Category.CHEST_PAIN: (
        rf"chest\b{_NEAR}(?:pain\w*|hurt\w*|tight\w*|pressure|heavy|heaviness|crush\w*|agony|"
        r"burn\w*|squeez\w*|ache|aching|sore)",
        rf"(?:pain\w*|hurt\w*|tight\w*|pressure|heavy|heaviness|crush\w*|agony|burn\w*|"
        rf"squeez\w*|ache|aching)\b{_NEAR}chest",
    ),
    Category.STROKE: (
        rf"(?:face|mouth|smile|speech|voice|lip|eye)\b{_NEAR}(?:droop\w*|slurr\w*|lopsided|"
        r"crooked|numb|paralys\w*|dropped|fallen|twisted|sagging)",
        rf"(?:sudden(?:ly)?|all\s+of\s+a\s+sudden|out\s+of\s+nowhere){_NEAR}(?:numb\w*|"
        r"weak\w*|paralys\w*|droop\w*|slurr\w*)",
        rf"(?:one\s+side|left\s+side|right\s+side){_NEAR}(?:numb\w*|weak\w*|paralys\w*|"
        r"droop\w*|dead|limp|floppy)",
    ),
    Category.BLEEDING: (
        rf"(?:blood|bleed\w*|nosebleed\w*)\b{_NEAR}(?:everywhere|pouring|gushing|pumping|spurting|"
        r"squirting|dripping|soaked|soaking|so\s+much|a\s+lot|lots|loads|heavy|heavily|badly|"
        r"all\s+over)",
        rf"(?:pouring|gushing|pumping|spurting|squirting|soaked|soaking|so\s+much|lots|loads|"
        rf"a\s+lot){_NEAR}(?:blood|bleed\w*)",
    ),
    Category.OVERDOSE: (
        rf"{_PILLS}\b{_NEAR}(?:all\s+of\s+(?:them|it)|all\s+at\s+once|the\s+whole\s+(?:lot|box|"
        r"bottle|packet)|too\s+many|too\s+much|overdose|a\s+handful|whole\s+(?:box|bottle|"
        r"packet))",
        rf"(?:took|taken|swallowed|injected|had|eaten|ate|downed)\b{_NEAR}(?:loads|lots|too\s+much|"
        r"too\s+many|a\s+handful|half\s+a\s+\w+|a\s+whole\s+\w+)\s+of\s+(?:(?:my|his|her|the|"
        r"their)\s+)?(?:\w+\s+)?" + _PILLS,
    ),
    Category.SELF_HARM: (
        rf"(?:want|wanna|wish|going|gonna|plan\w*|thinking|ready|better\s+off|feel\s+like|"
        rf"tempted){_NEAR}(?:die|dead|suicid\w*|kill\s+(?:my|him|her)self|end\s+(?:it|my\s+life|"
        r"things|everything)|take\s+my\s+(?:own\s+)?life|not\s+be\s+(?:here|around|alive))\b",
    ),
    Category.UNRESPONSIVE: (
        rf"(?:{_WONT}|{_CANT}|not|is{_NT}|isnt)\s+(?:seem\s+to\s+|get\s+(?:him|her|them)\s+to\s+|"
        r"properly\s+|fully\s+)(?:wake|waking|respond\w*|rouse|come\s+round|coming\s+round)",
        rf"(?:{_PERSON})\s+(?:is|'s|isn't|is\s+not)\s+(?:not\s+)?(?:coming\s+round|breathing\s+and\s+"
        r"not\s+moving)",
    ),
}
_LOOSE_ALLOWS_NEGATION = {Category.UNRESPONSIVE}

# Words around a match that make it something else: idioms, clinic talk, objects.
_IDIOMS = (
    r"(?:gave|give|giving|gives|nearly|almost|practically|going\s+to|gonna)\s+(?:\w+\s+){0,2}"
    r"a\s+heart\s+attack",
    r"heart\s+attack\s+on\s+a\s+plate",
    r"stroke\s+of\s+(?:luck|genius|midnight|the\s+pen|the\s+brush|bad\s+luck)",
    r"(?:back|breast|heat|sun)[\s-]?stroke",
    r"(?:food|blood)\s+poisoning",
    r"poisons?\s+(?:ivy|oak|pen|control|centre|center|line|helpline|unit|information|advice)",
    r"(?:get|gets|getting|feel|feels)\s+(?:a\s+bit\s+|quite\s+|a\s+little\s+|very\s+)?"
    r"(?:breathless|short\s+of\s+breath|out\s+of\s+breath)\s+(?:on|when|after|going|climbing|"
    r"walking|if|with|doing)",
    r"(?:choked|choking)\s+up",
    r"passed\s+out\s+(?:the|some|those|these|leaflets|flyers|forms|copies|papers|sweets)",
    r"(?:will|would|'ll|gonna|going\s+to|throw|threw|throwing|thrown)\s+(?:\w+\s+)?(?:have\s+)?"
    r"a\s+fit\b",
    r"seizure\s+of",
    r"(?:market|deal|tent|building|roof|plan|plans|chair|bridge|company|business|economy|talks|"
    r"negotiations|scaffolding|shelf|bed|ceiling|wall|cake|souffl[eé]|project|case|system|"
    r"website|price|prices|shares|stock|lung)\s+(?:has\s+|had\s+|just\s+|is\s+|'s\s+)?"
    r"collaps(?:ed|ing|e)",
    r"collaps(?:ed|ing|e)\s+(?:the|my|his|her)\s+(?:box|boxes|umbrella|pram|buggy|stroller|tent|"
    r"chair|table)",
    rf"kill(?:ing)?\s+{_SELF}\s+(?:laughing|for\s+(?!real)|over)",
    r"(?:die|died|dying)\s+(?:of|from)\s+(?:embarrassment|shame|laughing|laughter|boredom)",
    r"(?:want|wanna)\s+to\s+die\s+(?:of|from)\s+(?:embarrassment|shame)",
    r"end\s+it\s+(?:with|there|here|for\s+today|on|now\s+with)",
    r"(?:website|app|system|computer|page|portal|phone|server|screen|line|queue|traffic|"
    r"printer|machine|reader|email|program|software|laptop|tablet|bus|train|car|cars|kettle|"
    r"claim|application|refill|order|it|things|nothing|account|pharmacy|office|insurance|"
    r"insurer|company|doctor's\s+office|you\s+guys|anyone|nobody|no\s+one)\s+(?:\w+\s+){0,2}"
    r"(?:not|isn't|isnt|is\s+not|stopped|wasn't|no\s+longer)\s+(?:responding|moving)",
    r"(?:phone|battery|line|car|laptop|plant|plants|it|that|idea|market)\s*(?:'s|\s+is|\s+looks)"
    r"\s+dead",
    r"(?:turn(?:ing|ed|s)?|gone|going|went|go(?:es)?)\s+(?:all\s+|a\s+bit\s+|really\s+)?"
    r"(?:blue|purple|grey|gray)\s+(?:(?:with|from|in)\s+(?:the\s+)?)?(?:cold|envy|rage|paint|"
    r"dye|ink|winter|weather)",
    r"(?:hair|paint|walls?|sky|screen|car|light|traffic\s+light|sign|dress|room)\s+(?:\w+\s+){0,2}"
    r"(?:turn(?:ing|ed|s)?|gone|going|went|go(?:es)?)\s+(?:all\s+|a\s+bit\s+|really\s+)?"
    r"(?:blue|purple|grey|gray)",
    r"(?:grey|gray)\s+hair",
    r"(?:hands|feet|fingers|toes|nose)\s+(?:go|goes|get|gets)\s+(?:a\s+bit\s+|all\s+|really\s+)?"
    r"(?:blue|purple|white)",
    r"fainting\s+(?:goat|spell\s+in\s+the\s+film)",
    r"faint(?:ed|ing|s)?\s+(?:smell|hope|idea|line|chance|sound|trace)",
    r"black(?:ed|ing)\s+out\s+(?:the|my|his|her|some|a|those|these|names|details|windows|curtains|"
    r"blinds|parts)",
    r"(?:power|lights|screen|tv|telly|city|area|street|house)\s+(?:\w+\s+){0,2}black(?:ed|ing)\s+out",
    r"(?:bleeding|bled)\s+(?:me|us|them|you)\s+dry",
    r"blood\s+(?:test|tests|pressure|sugar|sugars|results?|work|count|thinners?|donation|donor|"
    r"bank|type|group|cells|levels?|glucose|clot\s+test)",
    r"rather\s+die\s+than",
    r"(?:nearly|almost|practically)\s+(?:had|have|having)\s+a\s+fit",
    r"bleeding\s+heart",
    r"(?:not|n't)\s+(?:really\s+)?(?:want|wanna)\s+to\s+be\s+(?:here|on\s+hold)\s+(?:all\s+day|forever)",
    r"(?:take|took|taking|taken)\s+(?:all\s+)?(?:my|his|her|the)\s+(?:\w+\s+)?"
    + _PILLS
    + r"\s+(?:this|that|every|each|as|like|on|today|yesterday|in\s+the|with\s+(?:food|water|"
    r"breakfast|lunch|dinner|tea|supper|a\s+meal|my\s+meal))\b",
    r"(?:slurp|slurr)\w*\s+(?:my|his|her|the)\s+(?:soup|tea|coffee|drink)",
    r"drinks?\s+(?:a\s+bit\s+)?slurr",
    r"choking\s+hazard",
    r"gasping\s+for\s+(?:a\s+)?(?:coffee|tea|drink|cuppa|cup|brew|pint|smoke|cigarette|fag)",
)
# Said of something else: the caller asks about, reads, or heard about it.
_INFO = (
    r"\bsigns?\s+(?:of|and\s+symptoms)",
    r"\bsymptoms?\s+(?:of|for)\b",
    r"\bwarning\s+signs?\b",
    r"\b(?:risks?|chances?|likelihood)\s+(?:of|for)\b",
    r"\b(?:risk|risks)\b",
    r"\bside[\s-]?effects?\b",
    r"\b(?:can|could|may|might|does|do|did|will|would)\s+(?:\w+\s+){0,4}(?:cause|give\s+you|"
    r"lead\s+to|trigger|bring\s+on)\b",
    r"\bwhat\s+(?:\w+\s+)?caus(?:e|es|ing)\b",
    r"\b(?:leaflet|pamphlet|booklet|brochure|website|internet|online|article|magazine|news|tv|"
    r"telly|radio|google|googled|label|instructions|poster|packaging|information\s+sheet|"
    r"first\s+aid|documentary|film|movie|novel|podcast|advert)\b",
    r"\b(?:read|heard|learn(?:ed|t|ing)?|told\s+(?:me|us))\s+(?:that|about)\b",
    r"\bhow\s+(?:do|would|can|will|could|should)\s+(?:i|you|we|one|someone|people)\s+"
    r"(?:know|tell|recogni[sz]e|spot|check|avoid|prevent)\b",
    r"\bwhat\s+(?:do|should|would|can)\s+(?:i|you|we)\s+do\s+if\b",
    r"\bwhat\s+(?:are|is|were)\s+the\b",
    r"\bwhat\s+(?:does|do|is)\s+(?:a|an|the)?\s*\w*\s*(?:mean|look\s+like|feel\s+like)\b",
    r"\bwhat\s+if\b",
    r"\bin\s+case\b",
    r"\b(?:worried|afraid|scared|frightened|anxious|nervous|concerned|paranoid)\s+"
    r"(?:about|of)\s+(?:getting|having|another|a)\b",
    r"\b(?:worried|afraid|scared)\s+(?:i|he|she)(?:'ll|\s+will|\s+might|\s+could)\b",
    r"\bprevent(?:ing|ion|s)?\b",
    r"\bavoid(?:ing)?\b",
    r"\b(?:screening|tested\s+for|test\s+for|checked\s+for|check\s+for)\b",
    r"\bhow\s+(?:much|many)\b",
    r"\b(?:is|are)\s+there\s+(?:any\s+)?(?:signs|symptoms|risk)\b",
    r"\bwhat\s+happens\b",
    r"\bwhat(?:'s|s)\s+the\b",
    r"\bis\s+it\s+normal\b",
    r"\bhow\s+(?:long|soon|often|quickly)\b",
    r"\b(?:call|ring|phone|dial|go)\s+(?:\w+\s+){0,3}(?:if|when)\b",
    r"\bif\s+(?:you|someone|anyone|a\s+person|people|they|he|she|i|my|your)\b",
    r"\b(?:imagine|suppose|supposing|hypothetically)\b",
    r"\b(?:the\s+)?(?:doctor|nurse|pharmacist|gp|consultant|specialist)\s+(?:said|says|told|"
    r"mentioned|warned|explained)\b",
    r"\b(?:if|unless|whether)\b",
)
# Not now: the past, a history, a time long gone.
_PAST = (
    r"\b(?:19|20)\d\d\b",
    r"\b(?:years?|months?|weeks?|decades?)\s+(?:ago|back|before)\b",
    r"\b(?:a\s+)?(?:year|month|week|couple\s+of\s+(?:years|months|weeks))\s+(?:ago|back)\b",
    r"\blast\s+(?:year|month|week|spring|summer|autumn|fall|winter|christmas|easter|time|"
    r"january|february|march|april|may|june|july|august|september|october|november|december)\b",
    r"\bback\s+(?:in|when)\b",
    r"\bwhen\s+(?:i|he|she|we|they)\s+(?:was|were)\s+(?:a\s+(?:child|kid|baby|teenager|student|"
    r"boy|girl)|younger|little|small|young|pregnant|at\s+(?:school|uni|college)|"
    r"\w+teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|\d+)\b",
    r"\bearlier\b",
    r"\bas\s+a\s+(?:child|kid|teenager|teen|baby)\b",
    r"\bhistory\s+of\b",
    r"\bused\s+to\b",
    r"\bprevious(?:ly)?\b",
    r"\bprior\b",
    r"\bin\s+the\s+past\b",
    r"\ba\s+(?:while|long\s+time)\s+(?:ago|back)\b",
    r"\bsince\s+(?:my|his|her|the|their)\s+(?:\w+\s+)?(?:stroke|heart\s+attack|overdose|"
    r"seizure|bleed|collapse)\b",
    r"\bafter\s+(?:my|his|her|the|their|a|an)\s+(?:\w+\s+)?(?:stroke|heart\s+attack|overdose|seizure|"
    r"bleed|collapse|surgery|operation)\b",
    r"\brecover(?:ed|ing|y)\b",
    r"\bsurvived?\b",
    r"\brehab\b",
    r"\bfollow[\s-]?up\b",
    r"\bdischarged\b",
    r"\bdied\s+(?:of|from|after|by)\b",
    r"\bpassed\s+away\b",
    r"\b(?:the|that)\s+time\s+(?:i|he|she|when|we)\b",
    r"\bat\s+(?:the\s+)?age\s+(?:of\s+)?\d*\b",
    r"\byears\s+old\s+when\b",
    r"\bin\s+(?:january|february|march|april|june|july|august|september|october|november|"
    r"december)\b",
    r"\bgot\s+over\b",
    r"\b(?:cleared|gone|went\s+away|settled|eased|stopped)\s+(?:now|since|off|completely)\b",
    r"\bbetter\s+now\b",
)
# Scope of a negation: "no chest pain", "I'm not short of breath", "never had a stroke".
_NEGATOR = re.compile(
    r"\b(?:no|not|never|without|nor|neither|none|denies|denied|deny|don't|dont|doesn't|doesnt|"
    r"didn't|didnt|isn't|isnt|wasn't|wasnt|aren't|arent|haven't|havent|hasn't|hasnt|won't|wont|"
    r"hadn't|weren't|free\s+of|nothing\s+like|any\s+more\s+than)\b|n't\b",
    re.IGNORECASE,
)
# Words that look like a negation and are not one ("I'm not sure, he's collapsed").
_NOT_NEGATION = re.compile(
    r"\b(?:not\s+(?:really\s+)?(?:sure|certain|only|just)|(?:don't|dont|do\s+not)\s+know|dunno|"
    r"no\s+idea|can't\s+tell|cannot\s+tell|no(?=[\s,]+(?:no|yes|yeah|oh|please|help|listen|wait|"
    r"sorry|i|i'm|he|he's|she|she's|they|my|his|her|it's|we|you|the|our|there)\b)|"
    r"never\s+(?=.*\b(?:like\s+this|this\s+bad|before|in\s+my\s+life)\b)|"
    r"(?:won't|wont|will\s+not|can't|cant|cannot|doesn't|isn't|couldn't)\s+stop)",
    re.IGNORECASE,
)
# A new subject ends the scope of a negation before it: "not great, I can't breathe".
_SUBJECT = re.compile(
    r"\b(?:i|i'm|im|i've|he|he's|hes|she|she's|shes|they|they're|we|we're|you|you're|my|his|"
    r"her|our|their|there's|it's|its)\b",
    re.IGNORECASE,
)
# Where a clause ends: sentence marks, and "but"/"and" with a new subject.
_CLAUSE_END = re.compile(
    r"[.?!;]+|,(?=\s*(?:and\s+|but\s+|so\s+|now\s+)?(?:i|i'm|im|he|he's|she|she's|they|they're|"
    r"we|my|his|her|our|it's|there's|now|then|oh|please|help|yes|no)\b)|"
    r"\b(?:but|although|though|however|whereas|except|because|cos|cause|and\s+then|and\s+now|"
    r"so\s+now|and\s+(?=(?:i|i'm|im|he|he's|she|she's|they|they're|we|my|his|her|our|it's|"
    r"there's)\b)|so\s+(?=(?:i|i'm|he|she|they|we|my|his|her)\b))\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.?!;]+")

_COMPILED = {
    category: re.compile("|".join(f"(?:\\b{r})" for r in rules), re.IGNORECASE)
    for category, rules in _RULES.items()
}
_LOOSE_COMPILED = {
    category: re.compile("|".join(f"(?:\\b{r})" for r in rules), re.IGNORECASE)
    for category, rules in _LOOSE.items()
}
_IDIOM = re.compile("|".join(f"(?:\\b{r})" for r in _IDIOMS), re.IGNORECASE)
_INFO_RE = re.compile("|".join(_INFO), re.IGNORECASE)
_PAST_RE = re.compile("|".join(_PAST), re.IGNORECASE)
_AS_IF = re.compile(
    r"\b(?:as|like)\s+if\b|\b(?:see|check|ask|tell\s+me|know|sure|wonder|wondering|certain)\s+"
    r"(?:if|whether)\b",
    re.IGNORECASE,
)
_THINK = re.compile(
    r"\s*(?:really\s+)?(?:think|believe|reckon|feel\s+like|say|said|saying|mean|meant)\b",
    re.IGNORECASE,
)
_NEGATION_WORDS = 6
# A question about facts: "Can a stroke cause memory loss?", "How long after a seizure ...?"
_QUESTION = re.compile(
    r"\s*(?:(?:so|and|but|oh|um|erm|okay|ok|well|sorry|hi|hello|also|just|and\s+so),?\s+)?"
    r"(?:can|could|does|do|did|is|are|would|will|should|how|what|when|why|which)\b",
    re.IGNORECASE,
)
_QUESTION_AFTER = re.compile(
    r"\b(?:cause[sd]?|lead\s+to|side[\s-]?effects?|risks?|symptoms?|signs?|look\s+like|mean|"
    r"normal|if|call\s+it|drive|work|fly|travel|driving|take|eat|drink)\b",
    re.IGNORECASE,
)  # a negation reaches this many words ahead


@dataclass(frozen=True)
class Finding:
    """Words of a caption that describe an emergency: ``text[start:end]`` is the quote."""

    category: Category
    start: int
    end: int
    quote: str


def _spans(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``text[start:end]`` cut at ``pattern``'s matches."""
    spans, at = [], start
    for m in pattern.finditer(text, start, end):
        if m.start() > at:
            spans.append((at, m.start()))
        at = max(at, m.end())
    if at < end:
        spans.append((at, end))
    return spans


def _negates(span: str) -> bool:
    """Whether a negation stands inside a loose match ("chest isn't hurting")."""
    return bool(_NEGATOR.search(_NOT_NEGATION.sub(" ", span)))


def _negated(before: str) -> bool:
    """Whether the last words before a match negate it (and no new subject intervenes)."""
    words = before.split()[-_NEGATION_WORDS:]
    window = _NOT_NEGATION.sub(" ", " ".join(words))
    last = None
    for m in _NEGATOR.finditer(window):
        last = m
    if last is None:
        return False
    if _THINK.match(window, last.end()):  # "I don't think it's a stroke"
        return True
    return not _SUBJECT.search(window, last.end())


def _hedged(sentence_before: str) -> bool:
    """Asking about, reading about or supposing it, before the match in its sentence."""
    text = _AS_IF.sub(" ", sentence_before)
    return bool(_INFO_RE.search(text))


def detect(text: str, *, partial: bool = False) -> list[Finding]:
    """The emergencies ``text`` describes now, each with its verbatim span; [] for none.

    Negated, past, reported and hypothetical mentions and idioms are left out.
    With ``partial`` (words still being spoken), a match that ends the text and
    is often completed otherwise ("I had a stroke" ... "in 2015", "I'm going to
    end it" ... "with my pharmacy") waits for the next words.
    """
    original, text = text, text.replace("\u2019", "'")  # one apostrophe; the same length
    findings: list[Finding] = []
    idioms = [(m.start(), m.end()) for m in _IDIOM.finditer(text)]
    for s_start, s_end in _spans(_SENTENCE_END, text, 0, len(text)):
        question = bool(_QUESTION.match(text, s_start, s_end))
        if question and partial and s_end == len(text):
            continue  # a question still being asked: what follows may make it one about facts
        # The rules read a clause; the looser ones the whole sentence ("My chest, it's agony").
        spans = [(c, e, False) for c, e in _spans(_CLAUSE_END, text, s_start, s_end)]
        for c_start, c_end, loose in [*spans, (s_start, s_end, True)]:
            past = bool(_PAST_RE.search(text, c_start, c_end))
            for category, pattern in (_LOOSE_COMPILED if loose else _COMPILED).items():
                for m in pattern.finditer(text, c_start, c_end):
                    start, end = m.start(), m.end()
                    if loose and category not in _LOOSE_ALLOWS_NEGATION and _negates(m.group()):
                        continue
                    if past or any(a < end and start < b for a, b in idioms):
                        continue
                    if _negated(text[c_start:start]) or _hedged(text[s_start:start]):
                        continue
                    if question and _QUESTION_AFTER.search(text, end, s_end):
                        continue
                    if _after_service(text, end):
                        continue
                    if partial and _open_ended(text, c_start, start, end):
                        continue
                    quote = original[_quote_start(text, c_start, start) : end].strip(" ,")
                    findings.append(Finding(category, start, end, quote))
    return _first_per_category(findings)


# A denial, for the head's readings: the negators less those that describe an emergency
# ("can't breathe", "won't wake up", "couldn't stop").
_DENIAL = re.compile(
    r"\b(?:no|not|never|without|nor|neither|none|denies|denied|deny|don't|dont|doesn't|doesnt|"
    r"didn't|didnt|isn't|isnt|wasn't|wasnt|aren't|arent|haven't|havent|hasn't|hasnt|hadn't|"
    r"weren't|free\s+of|nothing\s+like|any\s+more\s+than)\b",
    re.IGNORECASE,
)


def vetoed(text: str) -> bool:
    """Whether the rules set aside ``text`` as a whole, whatever the words: a denial,
    the past, a report, a question about facts or an idiom anywhere in it.

    The text model's emergency head reads a sentence's meaning, not its words, so it
    may read "I'm not short of breath" or "he had a stroke in 2015" as an emergency;
    a reading of the head counts only when this is false. Stricter than :func:`detect`
    (any denial vetoes, wherever it stands): the head adds recall where no phrase
    matched, and must not add the false cues the rules were written to avoid.
    """
    text = text.replace("\u2019", "'")
    if _IDIOM.search(text) or _PAST_RE.search(text):
        return True
    if _DENIAL.search(_NOT_NEGATION.sub(" ", text)):
        return True
    for s_start, s_end in _spans(_SENTENCE_END, text, 0, len(text)):
        if _hedged(text[s_start:s_end]):
            return True
        if _QUESTION.match(text, s_start, s_end) and _QUESTION_AFTER.search(text, s_start, s_end):
            return True
    return False


_SERVICE = re.compile(
    r"\s*(?:medication|medicine|meds|pills?|tablets?|spray|prescription|clinic|nurse|doctor|"
    r"specialist|team|ward|unit|service|risk|prevention|history|test|tests|scan|check|awareness|"
    r"leaflet|support|group|helpline|hotline|line|kit|plan|management|patients?|survivors?|"
    r"disorder|drugs?|cover|insurance|rehab|recovery|appointment|review|assessment|"
    r"training|course|charity|foundation|research|ward|bay|specialists?|care|victims?)\b",
    re.IGNORECASE,
)


def _after_service(text: str, end: int) -> bool:
    """The match names a service or medicine, not an event: "stroke clinic", "seizure meds"."""
    return bool(_SERVICE.match(text, end))


_OPEN_END = re.compile(
    r"(?:\bend\s+(?:it|things)|choked|tablets|meds|medication|medicine|insulin|painkillers|"
    r"\b(?:the|my|his|her|your|what\s+a)\s+(?:seizures?|stroke)|"
    r"\b(?:get|gets|getting)\s+(?:a\s+bit\s+)?(?:breathless|short\s+of\s+breath))$",
    re.IGNORECASE,
)
_SIMPLE_PAST = re.compile(r"(?<!')(?<!\bhas\s)(?<!\bhave\s)\bhad\b", re.IGNORECASE)


def _open_ended(text: str, clause_start: int, start: int, end: int) -> bool:
    """A match at the end of a partial that the next words often undo.

    The simple past ("I had a stroke" ... "last year") waits for the final;
    words an idiom often follows ("I'm going to end it" ... "with my pharmacy")
    wait for the next word; a time or an idiom that may have begun ("collapsed
    back" ... "in 2019", "a stroke of" ... "luck") waits for two more words.
    """
    if _SIMPLE_PAST.search(text, clause_start, start):
        return True
    after = text[end:].split()
    if not after:
        return bool(_OPEN_END.search(text, clause_start, end))
    return len(after) <= 2 and after[0].lower().strip(",.") in _STARTERS


_STARTERS = frozenset(
    [
        "back",
        "last",
        "in",
        "years",
        "months",
        "decades",
        "ages",
        "when",
        "as",
        "a",
        "about",
        "of",
        "up",
        "for",
        "with",
        "from",
    ]
)


def _quote_start(text: str, clause_start: int, start: int) -> int:
    """Where the quote of a match begins: at its subject when that is among the three
    words before it ("my husband isn't breathing"), else at the match."""
    words = list(re.finditer(r"\S+", text[clause_start:start]))[-3:]
    subjects = (w for w in words if _SUBJECT.fullmatch(w.group().strip(",.")))
    return next((clause_start + w.start() for w in subjects), start)


def _first_per_category(findings: list[Finding]) -> list[Finding]:
    """One finding per category (the first), in order of the text."""
    seen: dict[Category, Finding] = {}
    for f in sorted(findings, key=lambda f: f.start):
        seen.setdefault(f.category, f)
    return sorted(seen.values(), key=lambda f: f.start)


# -- the cue -------------------------------------------------------------------


_BY_VALUE = {c.value: c for c in Category}
# A head's finding quotes its final whole, up to this many words: no phrase matched.
HEAD_QUOTE_WORDS = 15
KEPT_FINALS = 4


class EmergencyWatch:
    """The caller's transcripts in; ``possible_emergency`` raised, re-sent and cleared.

    ``new_cue_id`` allocates the cue's id from the call's one sequence
    (:meth:`edge.stages.cues.CueMachine.new_cue_id`).
    """

    def __init__(self, options: EmergencyOptions, new_cue_id: Callable[[], int]) -> None:
        self.options = options
        self._new_cue_id = new_cue_id
        self.reset()

    def reset(self) -> None:
        self.now = 0.0
        self._cue = HeldCue(CueKind.POSSIBLE_EMERGENCY, Role.CALLER, self._new_cue_id)
        self._last_trigger = 0.0
        # (utterance, category) -> quote; in the order they came
        self._found: dict[tuple[int, Category], str] = {}
        # The caller's last few finals, utterance -> text: its emotion.text event follows
        # each a little later (the text model runs off the event loop).
        self._finals: dict[int, str] = {}

    @property
    def active(self) -> CueRaised | None:
        return self._cue.active

    def feed(self, event: Event) -> list[Event]:
        """A caller's TranscriptPartial, TranscriptFinal or TextEmotion; other events
        are ignored."""
        if not self.options.enabled or event.role is not Role.CALLER:
            return []
        if isinstance(event, TextEmotion):
            return self._read_head(event)
        if not isinstance(event, (TranscriptPartial, TranscriptFinal)):
            return []
        self.now = max(self.now, event.stream_time)
        if isinstance(event, TranscriptFinal):
            self._finals[event.utterance] = event.text
            while len(self._finals) > KEPT_FINALS:
                del self._finals[next(iter(self._finals))]
        findings = detect(event.text, partial=isinstance(event, TranscriptPartial))
        return self._found_in(event.utterance, findings, final=isinstance(event, TranscriptFinal))

    def _read_head(self, event: TextEmotion) -> list[Event]:
        """The emergency head's reading of a final: a finding when it is confident, no
        rule matched that final, and the rules' vetoes let the sentence through."""
        if (
            event.emergency_p < self.options.head_at
            or event.emergency not in _BY_VALUE
            or event.utterance not in self._finals
        ):
            return []
        text = self._finals[event.utterance]
        if any(u == event.utterance for u, _ in self._found) or vetoed(text):
            return []
        self.now = max(self.now, event.stream_time)
        words = list(re.finditer(r"\S+", text))[:HEAD_QUOTE_WORDS]
        quote = text[words[0].start() : words[-1].end()] if words else text
        category = _BY_VALUE[event.emergency]
        return self._found_in(event.utterance, [Finding(category, 0, len(text), quote)], final=True)

    def _found_in(self, utterance: int, findings: list[Finding], *, final: bool) -> list[Event]:
        """The cue, raised or re-sent, for ``findings`` in ``utterance``; [] if nothing new."""
        if not findings:
            return []
        self._last_trigger = self.now
        changed = False
        for f in findings:
            key = (utterance, f.category)
            known = self._found.get(key)
            if known is None or (final and known != f.quote):
                # The final's words replace the partial's: the quote is the caption's.
                self._found[key] = f.quote
                changed = True
        if not changed and self._cue.active is not None:
            return []
        return [self._raise()]

    def tick(self, now: float) -> list[Event]:
        self.now = max(self.now, now)
        if self._cue.active is not None and self.now - self._last_trigger >= self.options.hold:
            return [self._clear()]
        return []

    def flush(self, now: float) -> list[Event]:
        self.now = max(self.now, now)
        return [self._clear()] if self._cue.active is not None else []

    def _raise(self) -> CueRaised:
        categories = list(dict.fromkeys(category for _, category in self._found))
        quotes = tuple(dict.fromkeys(self._found.values()))
        newest = next(reversed(self._found))[1]
        if len(categories) == 1:
            says = f"the caller {_SAYS[categories[0]]}"
        else:  # several: the plain words, shorter to read at a glance
            *rest, last = [c.plain for c in categories]
            says = f"the caller describes {', '.join(rest)} and {last}"
        return self._cue.show(
            self.now,
            level=CueLevel.HIGH,
            score=float(len(quotes)),
            evidence=tuple(c.plain for c in categories),
            message=f"Possible emergency: {says}.",
            quote=quotes,
            suggestion=self.options.protocol_for(newest),
        )

    def _clear(self) -> CueCleared:
        cleared = self._cue.clear(self.now)
        self._found.clear()
        return cleared
