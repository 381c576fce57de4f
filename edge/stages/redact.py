"""Redaction of protected health information (PHI) before a transcript leaves the process.

Issue 4, item 5: phone numbers, dates of birth, social security numbers, card
numbers, email addresses and member/record numbers are replaced by tags such
as ``[phone]`` before any transcript is broadcast.

The text comes from speech recognition, so PHI arrives both written
("555-123-4567", "03/14/1952", "john.doe@example.com") and spoken ("five five
five one two three four", "march fourteenth nineteen fifty two", "john dot doe
at gmail dot com", "oh" for zero). Written shapes are found with regular
expressions; spoken numbers, dates, emails and keyword contexts ("member ID is
A B C one two three") by a small parser over word tokens. Ordinary clinical
numbers (doses, durations, scores, ages, a month or a year alone) are kept.

Numbers said again are more of the same (issue 12): digits restated shortly
after a date or phone number, or after its keyword ("March 3rd 1950, so 03,
03, 50"; "call me ... or myself. 808. 5, 5"), and dates with a two-digit year
("the third of March, 90", "March third ninety") are masked.

Policy for text that may go on (issue 12). A partial's last words are masked
until they are known not to be PHI: any trailing number ("(303)", "1, 2,", "I
take 500" until "mg" comes), a trailing date piece ("the third of", "March"),
a trailing address piece ("john dot"), and a keyword's payload at the end
whatever its length. So a clinical number may show as a tag for one partial;
finals are judged on their own. A final's end is *held*: a keyword's number of
three or more digits ("my number is 808") or the first pieces of a phone
number ("808. 5, 5") are masked, as the next final may complete them.

    find_phi(text)        -> [Redaction(kind, start, end), ...]   spans in ``text``
    redact_text(text)     -> text with each span replaced by its tag
    Redactor().event(ev)  -> the event with its transcript text redacted, on its own
    RedactionContext().event(ev)  -> the same, for one speaker of one call in order:
                             it keeps their last words for a while, so the pieces of
                             a number spread over partials and finals are masked

The functions are pure; RedactionContext holds only the speaker's recent words
(in memory, never written). No I/O.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from edge.events import Event, TextEmotion, TranscriptFinal, TranscriptPartial, Word


class PhiKind(str, enum.Enum):
    """The kinds of PHI that are redacted."""

    PHONE = "phone"
    DATE_OF_BIRTH = "date_of_birth"
    SSN = "ssn"
    CARD = "card"
    EMAIL = "email"
    MEMBER_ID = "member_id"
    # A partial's trailing number with nothing yet to say what it is ("I take 500"
    # before "mg"): masked until the next words come, under a tag that claims nothing.
    NUMBER = "number"

    def __str__(self) -> str:
        return self.value

    @property
    def tag(self) -> str:
        """What replaces the PHI in text, e.g. ``[date of birth]``."""
        return "[" + self.value.replace("_", " ") + "]"


@dataclass(frozen=True)
class Redaction:
    """One piece of PHI: its kind and its character span in the original text."""

    kind: PhiKind
    start: int
    end: int


# Where spans of different kinds overlap they are merged into the more specific kind.
_PRIORITY = {
    PhiKind.EMAIL: 0,
    PhiKind.SSN: 1,
    PhiKind.CARD: 2,
    PhiKind.MEMBER_ID: 3,
    PhiKind.DATE_OF_BIRTH: 4,
    PhiKind.PHONE: 5,
    PhiKind.NUMBER: 6,
}
_TAG = re.compile("|".join(re.escape(k.tag) for k in PhiKind))

# --- tokens -------------------------------------------------------------------------


class _Tok(NamedTuple):  # not a frozen dataclass: made for every token of every transcript
    raw: str
    low: str
    start: int
    end: int

    @property
    def word(self) -> bool:
        return self.raw[0].isalnum()


_APOSTROPHE = "\u2019"  # Whisper writes both ' and the typographic apostrophe
_TOKEN = re.compile(rf"[A-Za-z0-9]+(?:['{_APOSTROPHE}][A-Za-z]+)*|\S")


def _tokenize(text: str) -> list[_Tok]:
    return [
        _Tok(m[0], m[0].lower().replace(_APOSTROPHE, "'"), m.start(), m.end())
        for m in _TOKEN.finditer(text)
    ]


def _low(toks: list[_Tok], i: int) -> str:
    return toks[i].low if 0 <= i < len(toks) else ""


def _at_end(toks: list[_Tok], i: int) -> bool:
    """Only punctuation follows token ``i`` (the run may still grow in a partial)."""
    return not any(t.word for t in toks[i:])


class _End(enum.Enum):
    """How the text ends: whether its last words may be the start of PHI said on."""

    CLOSED = "closed"  # a final on its own: the text is all there is
    HELD = "held"  # a final whose speaker may go on in the next one (RedactionContext)
    OPEN = "open"  # a partial: its last words may still grow


# --- spoken and written numbers -----------------------------------------------------

_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
}  # fmt: skip
_ORDINALS = {
    **_ORDINAL_UNITS,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_ZEROS = ("zero", "oh", "o")


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# A number followed by one of these is a quantity, not an identifier.
_QUANTITY_WORDS = _words(
    "seconds second minutes minute hours hour days day weeks week months month years year "
    "mg milligrams milligram mcg ml kg kilos pounds lbs dollars percent % times pills "
    "tablets doses pages people o'clock am pm"
)


@dataclass(frozen=True)
class _Item:
    """One number as said or written: "5", "555", "five", "fifty five", "double five"."""

    digits: str
    start: int  # token index
    end: int  # token index after it
    single: bool  # said digit by digit ("five", "5", "double five")
    spoken: bool


def _small(toks: list[_Tok], i: int) -> tuple[int, int] | None:
    """A spoken 1..99 ("seven", "twelve", "fifty", "fifty-five") and the token after it."""
    w = _low(toks, i)
    if w in _UNITS and w not in _ZEROS:
        return _UNITS[w], i + 1
    if w in _TEENS:
        return _TEENS[w], i + 1
    if w in _TENS:
        k = i + 2 if _low(toks, i + 1) == "-" else i + 1
        u = _low(toks, k)
        if u in _UNITS and u not in _ZEROS:
            return _TENS[w] + _UNITS[u], k + 1
        return _TENS[w], i + 1
    return None


def _base_item(toks: list[_Tok], i: int) -> _Item | None:
    w = _low(toks, i)
    if w.isdigit():
        return _Item(w, i, i + 1, single=len(w) == 1, spoken=False)
    if w in _UNITS:
        return _Item(str(_UNITS[w]), i, i + 1, single=True, spoken=True)
    if w in ("double", "triple") and _low(toks, i + 1) in _UNITS:
        digit = str(_UNITS[_low(toks, i + 1)])
        return _Item(digit * (2 if w == "double" else 3), i, i + 2, single=True, spoken=True)
    small = _small(toks, i)
    if small is not None:
        return _Item(str(small[0]), i, small[1], single=False, spoken=True)
    return None


def _item(toks: list[_Tok], i: int) -> _Item | None:
    """A number at token ``i``, with "hundred" and "thousand" folded in."""
    item = _base_item(toks, i)
    if item is None or len(item.digits) > 2 or _low(toks, i) in _ZEROS:
        return item
    scale = _low(toks, item.end)
    if scale not in ("hundred", "thousand"):
        return item
    zeros = 2 if scale == "hundred" else 3
    value = int(item.digits) * 10**zeros
    end = item.end + 1
    k = end + 1 if _low(toks, end) == "and" else end
    rest = _base_item(toks, k)
    # "two thousand five", "five hundred and twelve"; but "eight hundred five five five"
    # (an 800 number) keeps its digits apart.
    if (
        rest is not None
        and rest.spoken
        and int(rest.digits) < 10**zeros
        and (k > end or scale == "thousand" or not rest.single)
    ):
        value += int(rest.digits)
        end = rest.end
    return _Item(str(value), i, end, single=False, spoken=True)


@dataclass(frozen=True)
class _Run:
    """Consecutive numbers, as a phone or card number is read out."""

    items: tuple[_Item, ...]

    @property
    def start(self) -> int:
        return self.items[0].start

    @property
    def end(self) -> int:
        return self.items[-1].end

    @property
    def digits(self) -> str:
        return "".join(i.digits for i in self.items)

    @property
    def n_single(self) -> int:
        return sum(i.single for i in self.items)

    @property
    def n_spoken(self) -> int:
        return sum(i.spoken for i in self.items)


_RUN_SEPARATORS = frozenset(",-./")


def _run(toks: list[_Tok], i: int) -> _Run | None:
    items: list[_Item] = []
    j = i
    while (item := _item(toks, j)) is not None:
        items.append(item)
        j = item.end
        if _thousands(toks, j):
            break  # "1,500" is one amount, not the digits 1 and 500
        if _low(toks, j) in _RUN_SEPARATORS and _item(toks, j + 1) is not None:
            j += 1
    return _Run(tuple(items)) if items else None


def _thousands(toks: list[_Tok], j: int) -> bool:
    """Token ``j`` is the comma of a written amount: "1,500" (no spaces, three digits on)."""
    if _low(toks, j) != "," or not 0 < j < len(toks) - 1:
        return False
    before, comma, after = toks[j - 1], toks[j], toks[j + 1]
    return (
        before.end == comma.start
        and comma.end == after.start
        and before.raw.isdigit()
        and len(after.raw) == 3
        and after.raw.isdigit()
    )


def _runs(toks: list[_Tok]) -> list[_Run]:
    """The maximal runs of numbers in the text."""
    out = []
    i = 0
    while i < len(toks):
        if _low(toks, i) in _ZEROS and _low(toks, i + 1) in (",", ".", "!", "?"):
            i += 1  # "Oh, ..." is an interjection, not a zero
            continue
        run = _run(toks, i)
        if run is None:
            i += 1
        else:
            out.append(run)
            i = run.end
    return out


# --- dates --------------------------------------------------------------------------


def _month(toks: list[_Tok], i: int) -> int | None:
    """The token after a month name at ``i``."""
    return i + 1 if _low(toks, i) in _MONTHS else None


def _day(toks: list[_Tok], i: int) -> int | None:
    """The token after a day of the month at ``i``: 14, 14th, fourteen(th), twenty-first."""
    w = _low(toks, i)
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", w)
    if m:
        return i + 1 if 1 <= int(m[1]) <= 31 else None
    if w in _ORDINALS:
        return i + 1
    if w in ("twenty", "thirty"):
        k = i + 2 if _low(toks, i + 1) == "-" else i + 1
        if _low(toks, k) in _ORDINAL_UNITS and (w == "twenty" or _low(toks, k) == "first"):
            return k + 1
    small = _small(toks, i)
    return small[1] if small is not None and small[0] <= 31 else None


def _year(toks: list[_Tok], i: int, *, short: bool = False) -> int | None:
    """The token after a year at ``i``: 1952, nineteen fifty-two, two thousand and five.

    ``short`` also accepts a two-digit year ("'52", "fifty two", "oh five").
    """
    w = _low(toks, i)
    if re.fullmatch(r"(?:19|20)\d\d", w):
        return i + 1
    if w == "'" and re.fullmatch(r"\d\d", _low(toks, i + 1)):
        return i + 2
    if w in ("nineteen", "eighteen", "twenty"):
        nxt = _low(toks, i + 1)
        if nxt == "hundred":
            return i + 2
        if nxt in ("oh", "o") and _low(toks, i + 2) in _UNITS:
            return i + 3
        if nxt in _TEENS or nxt in _TENS:
            small = _small(toks, i + 1)
            return small[1] if small is not None else None
        return None
    if w == "two" and _low(toks, i + 1) == "thousand":
        item = _item(toks, i)
        return item.end if item is not None else None
    if short:
        end = None
        if w in ("oh", "o") and _low(toks, i + 1) in _UNITS:
            end = i + 2
        elif re.fullmatch(r"\d\d", w):
            end = i + 1  # "the third of March, 90" (issue 12)
        elif w in _TENS and (small := _small(toks, i)) is not None:
            end = small[1]  # "fifty two", "ninety"
        if end is not None and _low(toks, _skip(toks, end, (",",))) not in _QUANTITY_WORDS:
            return end
    return None


def _skip(toks: list[_Tok], i: int, words: tuple[str, ...]) -> int:
    while _low(toks, i) in words:
        i += 1
    return i


def _date_month_first(toks: list[_Tok], i: int, *, need_year: bool) -> int | None:
    """March 14, 1952 / March the fourteenth nineteen fifty-two / March 1952."""
    after_month = _month(toks, i)
    if after_month is None:
        return None
    ends = []
    day = _day(toks, _skip(toks, after_month, ("the",)))
    if day is not None:
        year = _year(toks, _skip(toks, day, (",",)), short=True)
        if year is not None:
            ends.append(year)
        elif not need_year:
            ends.append(day)
    if not need_year:
        year = _year(toks, _skip(toks, after_month, (",", "of")))
        if year is not None:
            ends.append(year)
    return max(ends, default=None)


def _date_day_first(toks: list[_Tok], i: int, *, need_year: bool) -> int | None:
    """14 March 1952 / the 14th of March, 1952 / fourteenth of march nineteen fifty two."""
    day = _day(toks, i)
    if day is None:
        return None
    after_month = _month(toks, _skip(toks, day, ("of",)))
    if after_month is None:
        return None
    year = _year(toks, _skip(toks, after_month, (",",)), short=True)
    if year is not None:
        return year
    return None if need_year else after_month


def _run_dates(run: _Run) -> list[tuple[int, int]]:
    """Dates read as numbers: "oh three fourteen nineteen fifty two" (month, day, year).

    A two-digit year counts when the run is just a date that starts zero-padded:
    "03, 03, 50" (issue 12).
    """
    items = run.items
    found = []
    for s in range(len(items)):
        for a in (1, 2):
            for b in (1, 2):
                for c in (1, 2):
                    if s + a + b + c > len(items):
                        continue
                    first = "".join(x.digits for x in items[s : s + a])
                    second = "".join(x.digits for x in items[s + a : s + a + b])
                    year = "".join(x.digits for x in items[s + a + b : s + a + b + c])
                    if len(first) > 2 or len(second) > 2:
                        continue
                    whole = s == 0 and s + a + b + c == len(items)
                    padded = whole and len(first) == 2 and first[0] == "0"
                    if not re.fullmatch(r"(19|20)\d\d", year) and not (padded and len(year) == 2):
                        continue
                    lo, hi = sorted((int(first), int(second)))
                    if 1 <= lo <= 12 and hi <= 31:
                        found.append((items[s].start, items[s + a + b + c - 1].end))
    return found


# --- keyword contexts ---------------------------------------------------------------

_FILLERS = _words("is it's its was are will be : , - . # the my number no num id that's thats")
_FILLER_PAIRS = frozenset([("ending", "in"), ("ends", "in"), ("last", "four"), ("last", "4")])


def _skip_fillers(toks: list[_Tok], i: int, extra: frozenset[str]) -> int:
    while i < len(toks):
        w = toks[i].low
        if w in _FILLERS or w in extra:
            i += 1
        elif (w, _low(toks, i + 1)) in _FILLER_PAIRS:
            i += 2
        else:
            break
    return i


def _id_token(t: _Tok) -> bool:
    """A piece of an identifier: has a digit, is one spelled letter, or is short capitals."""
    if not t.word or "'" in t.raw:
        return False
    if any(c.isdigit() for c in t.raw) or len(t.raw) == 1:
        return True
    return t.raw.isupper() and len(t.raw) <= 5 and t.raw not in ("ID", "OK", "DOB", "SSN", "MRN")


def _member_payload(toks: list[_Tok], i: int, ending: _End) -> int | None:
    """An identifier: "A B C one two three", "XK44-1290", "00123456"."""
    j, end, chars, digits = i, None, 0, 0
    while j < len(toks):
        item = _item(toks, j)
        if item is not None:
            chars += len(item.digits)
            digits += len(item.digits)
            j = end = item.end
        elif _id_token(toks[j]):
            chars += len(toks[j].raw)
            digits += sum(c.isdigit() for c in toks[j].raw)
            j = end = j + 1
        elif end == j and toks[j].low in "-,/." and j + 1 < len(toks):
            nxt = toks[j + 1]
            if _item(toks, j + 1) is None and not _id_token(nxt):
                break
            j += 1
        else:
            break
    going_on = ending is not _End.CLOSED and end is not None and _at_end(toks, end)
    while not going_on and end is not None and end > i and _low(toks, end - 1) in ("i", "a"):
        end -= 1  # "member ID 12345 I think"
        chars -= 1
    if end is None or end == i:
        return None
    if going_on:
        return end  # "my member ID is X K" may go on in the next partial or final
    if chars >= 4 and digits >= 1 and _low(toks, end) not in _QUANTITY_WORDS:
        return end
    return None


def _run_payload(
    min_digits: int, max_digits: int = 99
) -> Callable[[list[_Tok], int, _End], int | None]:
    def payload(toks: list[_Tok], i: int, ending: _End) -> int | None:
        start = i + 1 if _low(toks, i) in ("plus", "+") else i
        run = _run(toks, start)
        if run is None:
            return None
        if _at_end(toks, run.end) and (
            ending is _End.OPEN or (ending is _End.HELD and len(run.digits) >= 3)
        ):
            return run.end  # "my number is 808" may go on
        if min_digits <= len(run.digits) <= max_digits:
            return run.end
        return None

    return payload


def _dob_payload(toks: list[_Tok], i: int, ending: _End) -> int | None:
    """A full or partial date: "the 14th of March", "March 14", "March 1952", "3/14"."""
    ends = [
        _date_month_first(toks, i, need_year=False),
        _date_day_first(toks, i, need_year=False),
        _year(toks, i, short=True),
    ]
    if ending is _End.OPEN and _month(toks, i) is not None and _at_end(toks, i + 1):
        ends.append(i + 1)  # "born on March" may go on to the day
    run = _run(toks, i)
    if run is not None and (
        (ending is _End.OPEN and _at_end(toks, run.end))
        or (len(run.digits) >= 2 and _low(toks, run.end) not in _QUANTITY_WORDS)
    ):
        ends.append(run.end)
    return max((e for e in ends if e is not None), default=None)


def _local_payload(toks: list[_Tok], i: int, ending: _End) -> int | None:
    """The start of an address said after "my email is", while it may go on: "john dot doe"."""
    if ending is _End.CLOSED:
        return None
    j = i
    while (
        j < len(toks)
        and (toks[j].word or toks[j].low in _CONNECTORS)
        and toks[j].low
        not in (
            "and",
            "but",
            "so",
            "thanks",
        )
    ):
        j += 1
    if not _at_end(toks, j) or j == i:
        return None
    links = any(t.low in _CONNECTORS or len(t.raw) == 1 for t in toks[i:j])
    return j if links or ending is _End.OPEN else None


@dataclass(frozen=True)
class _Context:
    """A keyword that announces PHI, and how to read the PHI after it."""

    kind: PhiKind
    keyword: re.Pattern[str]
    payload: Callable[[list[_Tok], int, _End], int | None]
    fillers: frozenset[str] = frozenset()


_CONTEXTS = (
    _Context(
        PhiKind.CARD,
        re.compile(r"\b(?:(?:credit|debit)\s+)?card\b|\b(?:visa|mastercard|amex)\b", re.I),
        _run_payload(12, 19),
        frozenset(["number", "numbers", "on", "the"]),
    ),
    _Context(
        PhiKind.EMAIL,
        re.compile(r"\b(?:e-?mail(?:\s+address)?)\b", re.I),
        _local_payload,
        frozenset(["address", "me", "at", "to"]),
    ),
    _Context(
        PhiKind.SSN,
        re.compile(r"\b(?:social(?:\s+security)?|ssn|s\.?\s?s\.?\s?n)\b\.?", re.I),
        _run_payload(4, 11),
        frozenset(["security", "digits", "of"]),
    ),
    _Context(
        PhiKind.MEMBER_ID,
        re.compile(
            r"\b(?:member(?:ship)?|policy|(?:medical\s+)?records?|mrn|account|reference|ref"
            r"|(?:patient|insurance|subscriber|group|claim|case|nhs|hospital|id)"
            r"\s+(?:id|number|no|#))(?!\w)",
            re.I,
        ),
        _member_payload,
    ),
    _Context(
        PhiKind.DATE_OF_BIRTH,
        re.compile(
            r"\b(?:date\s+of\s+birth|birth\s*date|birthday|d\.?\s?o\.?\s?b\b\.?|born)\b", re.I
        ),
        _dob_payload,
        frozenset(["on", "in", "of"]),
    ),
    _Context(
        PhiKind.PHONE,
        re.compile(
            r"\b(?:phone|telephone|tel|cell|mobile|fax|number|call\s+me(?:\s+back)?"
            r"|reach\s+me|contact)\b",
            re.I,
        ),
        _run_payload(7),
        frozenset(["on", "at", "me", "back", "home", "work"]),
    ),
)

# --- written shapes -----------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SSN = re.compile(r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?![\w-])")
_PHONES = (
    # North American: (555) 123-4567, 555-123-4567, 555, 123, 4567, +1 555 123 4567
    re.compile(
        r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}(?:,\s?|[\s.-])?)\d{3}(?:,\s?|[\s.-])?"
        r"\d{4}(?!\w|[.,-]\d)"
    ),
    re.compile(r"(?<![\w+])(?<!\d[\s,.-])\d{3}[.-]\d{4}(?!\w|[\s,.-]\d)"),  # 555-1234
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(0\))?(?:[\s.-]?\d){6,13}(?!\w)"),  # +44 ...
    re.compile(r"(?<![\w+])0\d{2,4}[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\w|[.,-]\d)"),  # 020 7946 0958
    re.compile(r"(?<![\w+])(?<![.,/-])\d{7,15}(?!\w|[.,/]\d)"),  # 5551234567
)
_DIGIT_GROUPS = re.compile(r"(?<![\w+])\d+(?:(?:, ?|[ -])\d+)*(?!\w)")
_NUMERIC_DATE = re.compile(
    r"(?<![\w/.-])(\d{1,2})([/.-])(\d{1,2})\2((?:19|20)?\d\d)(?![\w/-]|\.\d)"
)
_ISO_DATE = re.compile(r"(?<![\w/.-])(?:19|20)\d\d([/.-])(\d{1,2})\1(\d{1,2})(?![\w/-]|\.\d)")


def _luhn(digits: str) -> bool:
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if k % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _cards(text: str) -> list[tuple[int, int]]:
    """13-19 digits (spaces or dashes allowed) that pass Luhn or are grouped as a card is."""
    found = []
    for m in _DIGIT_GROUPS.finditer(text):
        groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", m[0])]
        best: tuple[int, int] | None = None
        for a in range(len(groups)):
            for b in range(a, len(groups)):
                parts = [m[0][s:e] for s, e in groups[a : b + 1]]
                digits = "".join(parts)
                shaped = [len(p) for p in parts] in ([4, 4, 4, 4], [4, 6, 5])
                if 13 <= len(digits) <= 19 and (shaped or _luhn(digits)):
                    span = (m.start() + groups[a][0], m.start() + groups[b][1])
                    if best is None or span[1] - span[0] > best[1] - best[0]:
                        best = span
        if best is not None:
            found.append(best)
    return found


def _written(text: str) -> list[tuple[PhiKind, int, int]]:
    found = [(PhiKind.EMAIL, m.start(), m.end()) for m in _EMAIL.finditer(text)]
    found += [(PhiKind.SSN, m.start(), m.end()) for m in _SSN.finditer(text)]
    found += [(PhiKind.CARD, s, e) for s, e in _cards(text)]
    for pattern in _PHONES:
        for m in pattern.finditer(text):
            n = sum(c.isdigit() for c in m[0])
            if pattern is not _PHONES[3] or 10 <= n <= 11:
                found.append((PhiKind.PHONE, m.start(), m.end()))
    for m in _NUMERIC_DATE.finditer(text):
        lo, hi = sorted((int(m[1]), int(m[3])))
        if 1 <= lo <= 12 and hi <= 31:
            found.append((PhiKind.DATE_OF_BIRTH, m.start(), m.end()))
    for m in _ISO_DATE.finditer(text):
        if 1 <= int(m[2]) <= 12 and 1 <= int(m[3]) <= 31:
            found.append((PhiKind.DATE_OF_BIRTH, m.start(), m.end()))
    return found


# --- spoken emails ------------------------------------------------------------------

_CONNECTORS = frozenset([".", "dot", "_", "underscore", "-", "dash", "hyphen"])
_TLDS = _words("com org net edu gov uk us io info ca au ie biz co")
# Words before "at" that are not the user part of an address ("visit us at ...").
_NOT_LOCAL = _words(
    "is my email e-mail mail address it's its was the me us at to and or you it on in of for "
    "from by with that's thats be him her them our your their look visit go find reach "
    "contact website site online page here there this"
)


def _spelled(t: _Tok) -> bool:
    return len(t.raw) == 1 or t.raw.isdigit() or t.low in _UNITS or t.low in _TEENS


def _label_end(toks: list[_Tok], i: int) -> int | None:
    """The token after one domain label ("gmail", "my-clinic", "a o l")."""
    if not (0 <= i < len(toks)) or not toks[i].word or toks[i].low == "dot":
        return None
    j = i + 1
    if len(toks[i].raw) == 1:
        while j < len(toks) and toks[j].word and len(toks[j].raw) == 1:
            j += 1
    while _low(toks, j) in ("-", "dash", "hyphen") and j + 1 < len(toks) and toks[j + 1].word:
        j += 2
    return j


def _domain_end(toks: list[_Tok], i: int) -> int | None:
    """The token after "gmail dot com", "nhs.net", "clinic dot co dot uk"."""
    best, labels, j = None, 0, i
    while (end := _label_end(toks, j)) is not None:
        labels += 1
        if labels >= 2 and end == j + 1 and toks[j].low in _TLDS:
            best = end
        if _low(toks, end) not in ("dot", ".") or end + 1 >= len(toks):
            break
        j = end + 1
    return best


def _local_start(toks: list[_Tok], k: int) -> int | None:
    """The first token of the user part that ends at token ``k`` ("john dot doe")."""

    def ok(i: int) -> bool:
        return 0 <= i < len(toks) and toks[i].word and toks[i].low not in _NOT_LOCAL

    if not ok(k):
        return None
    while True:
        p = k - 1
        if _low(toks, p) in _CONNECTORS and ok(p - 1):
            k = p - 1
        elif ok(p) and (_spelled(toks[k]) or (len(toks[p].raw) == 1 and toks[p].low != "a")):
            k = p  # spelled out ("j o h n"), digits after a name, or an initial
        else:
            return k


def _spoken_emails(toks: list[_Tok]) -> list[tuple[int, int]]:
    found = []
    for k, t in enumerate(toks):
        if t.low not in ("at", "@"):
            continue
        end = _domain_end(toks, k + 1)
        start = _local_start(toks, k - 1) if end is not None else None
        if end is not None and start is not None:
            found.append((toks[start].start, toks[end - 1].end))
    return found


# --- putting it together ------------------------------------------------------------


def _counting(run: _Run) -> bool:
    """ "one, two, three": counting, not the start of a number."""
    return run.n_single == len(run.items) and run.digits == "123456789"[: len(run.digits)]


def _open_run(run: _Run, ending: _End) -> bool:
    """A last run of numbers that may be the first pieces of an identifier.

    In a partial, any: "(303)", "1, 2," are not known not to be PHI until the
    next words come. At the end of a final, those that look like the start of a
    phone number: "808. 5, 5", "five five five" (but not counting "one, two, three").
    """
    if ending is _End.OPEN:
        return True
    if ending is _End.CLOSED or _counting(run):
        return False
    return run.n_single >= 3 or (len(run.items) >= 2 and len(run.digits) >= 4 and run.n_single >= 1)


def _spoken(toks: list[_Tok], runs: list[_Run], ending: _End) -> list[tuple[PhiKind, int, int]]:
    """Runs of spoken digits (phone, card) and spoken dates."""
    found = []
    for run in runs:
        digits = len(run.digits)
        plus = _low(toks, run.start - 1) in ("plus", "+")
        span = (toks[run.start - 1 if plus else run.start].start, toks[run.end - 1].end)
        if plus and digits >= 7:
            found.append((PhiKind.PHONE, *span))
        elif digits >= 13 and (run.n_single >= 4 or run.n_spoken >= 2):
            found.append((PhiKind.CARD, *span))
        elif digits >= 7 and (run.n_single >= 4 or (digits >= 10 and run.n_spoken >= 2)):
            found.append((PhiKind.PHONE, *span))
        elif _at_end(toks, run.end) and _open_run(run, ending):
            # May still grow into an identifier: a partial's bare number claims nothing
            # yet; a final's held end looks like the start of a phone number.
            kind = PhiKind.NUMBER if ending is _End.OPEN else PhiKind.PHONE
            found.append((kind, *span))
        for a, b in _run_dates(run):
            found.append((PhiKind.DATE_OF_BIRTH, toks[a].start, toks[b - 1].end))
    for i in range(len(toks)):
        end = _date_month_first(toks, i, need_year=True) or _date_day_first(toks, i, need_year=True)
        if end is not None:
            found.append((PhiKind.DATE_OF_BIRTH, toks[i].start, toks[end - 1].end))
    found += [(PhiKind.EMAIL, s, e) for s, e in _spoken_emails(toks)]
    if ending is _End.OPEN:
        found += _date_going_on(toks)
        found += _address_going_on(toks)
    return found


_DATE_LINKS = ("the", "of", ",", "-")


def _date_going_on(toks: list[_Tok]) -> list[tuple[PhiKind, int, int]]:
    """The end of a partial that may be growing into a date: "the third of", "March 3"."""
    end = len(toks)
    while end and not toks[end - 1].word:
        end -= 1
    i = end
    while i > 0 and (
        _low(toks, i - 1) in _MONTHS
        or _low(toks, i - 1) in _DATE_LINKS
        or _low(toks, i - 1) in ("twenty", "thirty", "-")
        or _day(toks, i - 1) == i
        or re.fullmatch(r"\d+(?:st|nd|rd|th)", _low(toks, i - 1))
    ):
        i -= 1
    while i < end and _low(toks, i) in _DATE_LINKS:
        i += 1
    pieces = [t for t in toks[i:end] if t.word and t.low not in _DATE_LINKS]
    if not pieces or not any(
        t.low in _MONTHS or t.low in _ORDINALS or re.fullmatch(r"\d+(?:st|nd|rd|th)", t.low)
        for t in pieces
    ):
        return []
    return [(PhiKind.DATE_OF_BIRTH, toks[i].start, toks[end - 1].end)]


_ADDRESS_LINKS = frozenset(["dot", "underscore", "at", "@", "_"])


def _address_going_on(toks: list[_Tok]) -> list[tuple[PhiKind, int, int]]:
    """The end of a partial that is growing into an email: "john dot", "john dot doe at"."""

    def local(k: int) -> bool:
        w = _low(toks, k)
        return k >= 0 and toks[k].word and w not in _NOT_LOCAL and w not in _ADDRESS_LINKS

    end = len(toks)
    while end and toks[end - 1].low in (",", "?", "!"):
        end -= 1
    i = end - 1 if local(end - 1) else end  # the word being said after a link
    while True:
        if i >= 2 and toks[i - 1].low in _ADDRESS_LINKS and local(i - 2):
            i -= 2
        elif 1 <= i < end and local(i - 1) and _spelled(toks[i]):
            i -= 1  # "jones five", "j o"
        else:
            break
    if not any(t.low in _ADDRESS_LINKS for t in toks[i:end]):
        return []
    return [(PhiKind.EMAIL, toks[i].start, toks[end - 1].end)]


# A keyword or a piece of PHI, and the character where it ends: numbers said soon after
# it are read as more of the same ("call me ... or myself. 808. 5, 5", "03, 03, 50").
_Anchor = tuple[PhiKind, int]


def _in_context(
    text: str, toks: list[_Tok], ending: _End
) -> tuple[list[tuple[PhiKind, int, int]], list[_Anchor]]:
    """PHI announced by a keyword: "member ID is ...", "date of birth ...", "social ..."."""
    tags = [(m.start(), m.end()) for m in _TAG.finditer(text)]
    starts = [t.start for t in toks]
    found, anchors = [], []
    for context in _CONTEXTS:
        for m in context.keyword.finditer(text):
            if any(s <= m.start() < e for s, e in tags):
                continue  # a tag from an earlier redaction
            anchors.append((context.kind, m.end()))
            i = _skip_fillers(toks, bisect.bisect_left(starts, m.end()), context.fillers)
            end = context.payload(toks, i, ending) if i < len(toks) else None
            if end is not None and end > i:
                found.append((context.kind, toks[i].start, toks[end - 1].end))
    return found, anchors


_NEAR = 6  # words between a keyword or a piece of PHI and the numbers that restate it
_MIN_DIGITS = {PhiKind.PHONE: 7, PhiKind.CARD: 13}  # a keyword alone asks for more


def _restated(
    toks: list[_Tok],
    runs: list[_Run],
    spans: list[Redaction],
    anchors: list[_Anchor],
    ending: _End,
) -> list[tuple[PhiKind, int, int]]:
    """Numbers said shortly after PHI or its keyword, as people restate or go on (issue 12).

    After a piece of PHI, two or more numbers of three or more digits in all are
    more of it ("March 3rd 1950, so 3 3 50"); after a keyword alone they must also
    be as long as that kind is. The last run of a partial counts whatever its
    length (it may go on), and so does one of three or more digits at the end
    of a final that the next one may continue.
    """
    marks = [(s.kind, s.end, True) for s in spans] + [(k, e, False) for k, e in anchors]
    found = []
    for whole in runs:
        # "March 1950, 03, 03, 50" is one run; what follows the date is the restatement.
        rest = [
            x
            for x in whole.items
            if not any(s.start < toks[x.end - 1].end and toks[x.start].start < s.end for s in spans)
        ]
        if not rest or rest[-1] is not whole.items[-1]:
            continue
        run = _Run(tuple(rest))
        first, last = toks[run.start], toks[run.end - 1]
        before = [m for m in marks if m[1] <= first.start]
        if not before:
            continue
        kind, end, is_phi = max(before, key=lambda m: m[1])
        between = sum(t.word for t in toks if end <= t.start < first.start)
        if between > _NEAR or _low(toks, run.end) in _QUANTITY_WORDS:
            continue
        digits = len(run.digits)
        said_on = len(run.items) >= 2 and digits >= 3
        if not is_phi and digits < _MIN_DIGITS.get(kind, 0):
            said_on = False
        if ending is _End.OPEN:
            going_on = _at_end(toks, run.end)  # "... March third, nineteen" may be a year
        else:
            going_on = ending is _End.HELD and _at_end(toks, run.end) and digits >= 3
        if said_on or going_on:
            found.append((kind, first.start, last.end))
    return found


def _resolve(found: list[tuple[PhiKind, int, int]]) -> list[Redaction]:
    """Non-overlapping spans; overlapping ones merge into the more specific kind."""
    spans: list[Redaction] = []
    for kind, start, end in sorted(found, key=lambda f: (_PRIORITY[f[0]], f[1] - f[2], f[1])):
        hit = [s for s in spans if s.start < end and start < s.end]
        if hit:
            kind = min(hit, key=lambda s: _PRIORITY[s.kind]).kind
            start = min(start, *(s.start for s in hit))
            end = max(end, *(s.end for s in hit))
            spans = [s for s in spans if s not in hit]
        spans.append(Redaction(kind, start, end))
    return sorted(spans, key=lambda s: s.start)


def find_phi(text: str, *, partial: bool = False) -> list[Redaction]:
    """The PHI in ``text``: non-overlapping spans, sorted by position.

    ``partial`` is for interim transcripts, whose last words may still grow into
    PHI: a keyword's payload at the very end counts whatever its length ("my
    number is five five"), and so does a last run of numbers that may be the
    start of a phone number ("808. 5, 5").
    """
    return _find(text, _End.OPEN if partial else _End.CLOSED)


def _find(text: str, ending: _End) -> list[Redaction]:
    toks = _tokenize(text)
    runs = _runs(toks)
    keyed, anchors = _in_context(text, toks, ending)
    spans = _resolve(_written(text) + _spoken(toks, runs, ending) + keyed)
    again = _restated(toks, runs, spans, anchors, ending)
    if not again:
        return spans
    return _resolve([(s.kind, s.start, s.end) for s in spans] + again)


def redact_text(text: str, *, partial: bool = False) -> str:
    """``text`` with each piece of PHI replaced by its tag, e.g. "call me on [phone]"."""
    return _apply(text, find_phi(text, partial=partial))


def _apply(text: str, spans: list[Redaction]) -> str:
    if not spans:
        return text
    parts, pos = [], 0
    for span in spans:
        parts += [text[pos : span.start], span.kind.tag]
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)


def _find_after(before: str, text: str, ending: _End) -> list[Redaction]:
    """The PHI in ``text`` when ``before`` was just said: spans that reach into it count.

    "my birthday is March third" then "nineteen fifty": the year is masked.
    """
    own = _find(text, ending)
    if not before:
        return own
    joined = before + " " + text
    offset = len(before) + 1
    carried = [
        (s.kind, max(s.start, offset) - offset, s.end - offset)
        for s in _find(joined, ending)
        if s.end > offset and any(c.isalnum() for c in joined[max(s.start, offset) : s.end])
    ]
    if not carried:
        return own
    return _resolve([(s.kind, s.start, s.end) for s in own] + carried)


def _redact_words(words: tuple[Word, ...], spans: list[Redaction]) -> tuple[Word, ...]:
    """Words that overlap PHI become its tag; the words of one span collapse into one.

    ``spans`` are over the words joined by one space, as the channel stage joins them.
    """
    if not spans:
        return words
    out: list[Word] = []
    pos, previous = 0, None
    for w in words:
        start, end = pos, pos + len(w.text)
        pos = end + 1
        hit = next((k for k, s in enumerate(spans) if s.start < end and start < s.end), None)
        if hit is None:
            out.append(w)
        elif hit == previous:
            last = out[-1]
            out[-1] = Word(last.text, last.start, w.end, min(last.confidence, w.confidence))
        else:
            out.append(Word(spans[hit].kind.tag, w.start, w.end, w.confidence))
        previous = hit
    return tuple(out)


def _stable_prefix(text: str, stable: str) -> str:
    """``stable`` if it starts ``text``, else their common prefix, cut before a broken tag."""
    if text.startswith(stable):
        return stable
    pairs = enumerate(zip(text, stable, strict=False))
    common = stable[: next((k for k, (a, b) in pairs if a != b), min(len(text), len(stable)))]
    cut = common.rfind("[")
    return common[:cut] if cut > common.rfind("]") else common


def _redacted(event: Event, before: str, final: _End) -> Event:
    """``event`` with its PHI masked, ``before`` having just been said by the same speaker."""
    if isinstance(event, TranscriptPartial):
        text = _apply(event.text, _find_after(before, event.text, _End.OPEN))
        stable = _apply(event.stable, _find_after(before, event.stable, _End.OPEN))
        stable = _stable_prefix(text, stable)
        if text == event.text and stable == event.stable:
            return event
        return dataclasses.replace(event, text=text, stable=stable)
    if isinstance(event, TranscriptFinal):
        spans = _find_after(before, event.text, final)
        text = _apply(event.text, spans)
        joined = " ".join(w.text for w in event.words)
        # The words joined are the text itself, as a rule: found once, not twice.
        same = joined == event.text
        words = _redact_words(event.words, spans if same else _find_after(before, joined, final))
        if text == event.text and words is event.words:
            return event
        return dataclasses.replace(event, text=text, words=words)
    if isinstance(event, TextEmotion):
        evidence = tuple(redact_text(e) for e in event.evidence)
        quote = tuple(redact_text(q) for q in event.quote)
        if evidence == event.evidence and quote == event.quote:
            return event
        return dataclasses.replace(event, evidence=evidence, quote=quote)
    return event


class Redactor:
    """Redacts each event's transcript text on its own; holds no state.

    For a live call use :class:`RedactionContext`, which also masks PHI whose
    pieces are spread over several events.
    """

    def event(self, event: Event) -> Event:
        """The event with its PHI redacted; the same object when there is nothing to redact."""
        return _redacted(event, "", _End.CLOSED)


class RedactionContext:
    """Redacts one speaker's events of one call in order, remembering their last words.

    People pause while they read a number out, so the recogniser splits it:
    "Call me on 808." then "5, 5, 5, 1, 2, 3, 4."; "My birthday is March third"
    then "nineteen fifty". The context keeps the last ``words`` tokens of the
    speaker's recent finals (raw, in memory only) for ``seconds`` of stream time
    after the last one ended, and finds PHI in them and the new text together:
    a span that reaches into the new text is masked there. A final's own end is
    *held*: a keyword's number of three or more digits ("my number is 808") or
    the first pieces of a phone number ("808. 5, 5") at its end are masked, as
    the next final may complete them. Partials are redacted the same way, and
    never change the context; only finals do.

    One context per call and role (``edge.server.hub.Privacy`` keeps them).
    """

    def __init__(self, *, words: int = 24, seconds: float = 10.0) -> None:
        self.words = words
        self.seconds = seconds
        self._before = ""  # the speaker's last words, unredacted
        self._until = 0.0  # stream time after which they are forgotten

    def event(self, event: Event) -> Event:
        """The event with its PHI redacted; the same object when there is nothing to redact."""
        if not isinstance(event, TranscriptPartial | TranscriptFinal):
            return _redacted(event, "", _End.CLOSED)
        before = self._before if event.start <= self._until else ""
        out = _redacted(event, before, _End.HELD)
        if isinstance(event, TranscriptFinal) and event.text.strip():
            said = (before + " " + event.text).strip()
            tokens = [m.start() for m in _TOKEN.finditer(said)]
            self._before = said[tokens[-self.words] :] if len(tokens) > self.words else said
            self._until = event.end + self.seconds
        return out

    def reset(self) -> None:
        """Forget the speaker's last words."""
        self._before, self._until = "", 0.0
