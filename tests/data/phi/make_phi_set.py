"""Write phi_set.jsonl: the labelled PHI set of scripts/eval_redaction.py (issue 12).

    python tests/data/phi/make_phi_set.py

Each line is one item: a stretch of a call as a streaming recogniser emits it,

    {"id": "phone-whisper-digits-2", "group": "phi", "kinds": ["phone"],
     "utterances": [{"role": "caller", "final": "It's [[phone:8, 0, 8, 5, 5, ...]]."}]}

``[[kind:text]]`` marks a piece of an identifier (``[[phone.2:...]]`` a second one
of the same kind); the pieces of one label in one item are one identifier, which
may be spread over several utterances. An utterance's partials are its words
growing one at a time, unless it lists ``partials`` of its own (recognisers
write digits differently while they are still being said). ``group`` is "phi"
or "clinical"; clinical items hold no identifier and must come back unchanged.

The phrasings are several speakers' ways of giving each identifier: written and
spoken forms, digits as words and as Whisper writes them ("8, 0, 8. 5, 5"),
restatements, a number split over two utterances by a pause, a date of birth
over two finals. Deterministic: the same file every run.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.stages.test_redact import NEGATIVE

HERE = Path(__file__).parent

PHONES = [
    ("808", "555", "1234"),
    ("212", "555", "0187"),
    ("415", "555", "2671"),
    ("617", "555", "0142"),
    ("303", "555", "9876"),
]
WORD = {
    "0": "oh", "1": "one", "2": "two", "3": "three", "4": "four",
    "5": "five", "6": "six", "7": "seven", "8": "eight", "9": "nine",
}  # fmt: skip
PHONE_LEADS = [
    "Sure, it's {}.",
    "Yeah, my number is {}.",
    "You can call me on {}.",
    "The best number to reach me is {}.",
    "My cell is {}, okay?",
    "Um, so it's {}, that's my mobile.",
]


def spoken(digits: str) -> str:
    return " ".join(WORD[d] for d in digits)


def commas(digits: str) -> str:
    return ", ".join(digits)


def phone_forms(a: str, b: str, c: str) -> list[str]:
    return [
        f"{a}-{b}-{c}",
        f"({a}) {b}-{c}",
        f"{a} {b} {c}",
        f"{a}{b}{c}",
        f"{a}.{b}.{c}",
        f"{spoken(a)} {spoken(b)} {spoken(c)}",
        f"{spoken(a)}, {spoken(b)}, {spoken(c)}",
        commas(a + b + c),
        f"{a}, {b}, {c}",
        f"{a}. {commas(b)}, {commas(c)}",
    ]


def mark(kind: str, text: str) -> str:
    return f"[[{kind}:{text}]]"


def item(
    id: str, kinds: list[str], *finals: str, partials: list[list[str]] | None = None
) -> dict[str, object]:
    utterances: list[dict[str, object]] = [{"role": "caller", "final": f} for f in finals]
    for u, p in zip(utterances, partials or [], strict=False):
        if p:
            u["partials"] = p
    return {
        "id": id,
        "group": "phi" if kinds else "clinical",
        "kinds": kinds,
        "utterances": utterances,
    }


def phones() -> list[dict[str, object]]:
    out = []
    for n, (a, b, c) in enumerate(PHONES):
        for f, form in enumerate(phone_forms(a, b, c)):
            lead = PHONE_LEADS[(n + f) % len(PHONE_LEADS)]
            out.append(item(f"phone-{n}-form{f}", ["phone"], lead.format(mark("phone", form))))
        # split by a pause: area code in one final, the rest in the next
        out.append(
            item(
                f"phone-{n}-split-digits",
                ["phone"],
                f"You can call me on {mark('phone', a)}.",
                f"{mark('phone', f'{b}-{c}')}.",
            )
        )
        out.append(
            item(
                f"phone-{n}-split-spoken",
                ["phone"],
                f"My number is {mark('phone', spoken(a))}",
                f"{mark('phone', spoken(b + c))}.",
            )
        )
        out.append(
            item(
                f"phone-{n}-split-whisper",
                ["phone"],
                f"or myself. {mark('phone', f'{a}. {commas(b[:2])},')}",
                f"{mark('phone', f'{commas(b[2:] + c)}')}.",
            )
        )
        out.append(
            item(
                f"phone-{n}-split-three",
                ["phone"],
                f"Okay, my phone number, it's {mark('phone', a)}",
                f"{mark('phone', b)}",
                f"{mark('phone', c)}.",
            )
        )
        # the recogniser writes the digits differently while they are being said
        out.append(
            item(
                f"phone-{n}-partials-differ",
                ["phone"],
                f"Call me back on {mark('phone', f'{a}-{b}-{c}')}.",
                partials=[
                    [
                        "Call me back",
                        f"Call me back on {mark('phone', f'{a}.')}",
                        f"Call me back on {mark('phone', f'{a}. {commas(b[:2])},')}",
                        f"Call me back on {mark('phone', f'{a}. {commas(b)}, {c[:2]}')}",
                    ]
                ],
            )
        )
        # restated after it was given
        out.append(
            item(
                f"phone-{n}-restated",
                ["phone"],
                f"My number is {mark('phone', f'{a}-{b}-{c}')}. "
                f"That's {mark('phone', commas(a + b + c))}.",
            )
        )
        out.append(
            item(
                f"phone-{n}-restated-next",
                ["phone"],
                f"My phone is {mark('phone', f'{a} {b} {c}')}.",
                f"Again, that's {mark('phone', f'{spoken(a)}, {spoken(b)}, {spoken(c)}')}.",
            )
        )
        out.append(
            item(
                f"phone-{n}-plus",
                ["phone"],
                f"From abroad it's {mark('phone', f'+1 {a} {b} {c}')}.",
            )
        )
    return out


DOBS = [
    (3, 3, 1950, "March", "third", "nineteen fifty", "fifty"),
    (11, 14, 1962, "November", "fourteenth", "nineteen sixty-two", "sixty-two"),
    (7, 4, 1948, "July", "fourth", "nineteen forty-eight", "forty-eight"),
    (1, 21, 1975, "January", "twenty-first", "nineteen seventy-five", "seventy-five"),
    (9, 30, 1990, "September", "thirtieth", "nineteen ninety", "ninety"),
]
DOB_LEADS = [
    "My date of birth is {}.",
    "I was born on {}.",
    "It's {}, that's my birthday.",
    "DOB is {}.",
    "Birthday, {}.",
    "Okay so date of birth, {}.",
]


def suffix(day: int) -> str:
    if day in (1, 21, 31):
        return "st"
    return {2: "nd", 22: "nd", 3: "rd", 23: "rd"}.get(day, "th")


def dob_forms(m: int, d: int, y: int, month: str, day: str, year: str, yy: str) -> list[str]:
    short = str(y)[2:]
    return [
        f"{m:02d}/{d:02d}/{y}",
        f"{m}/{d}/{short}",
        f"{month} {d}, {y}",
        f"{month} {d}{suffix(d)}, {y}",
        f"{month} {day}, {year}",
        f"the |{day} of {month}, {year}",
        f"the |{day} of {month}, {short}",
        f"{month} {day} {yy}",
        f"{m:02d}, {d:02d}, {short}",
        f"{spoken(f'{m:02d}')} {spoken(f'{d:02d}')} {year}",
        f"{y}-{m:02d}-{d:02d}",
    ]


def dobs() -> list[dict[str, object]]:
    out = []
    for n, (m, d, y, month, day, year, yy) in enumerate(DOBS):
        for f, form in enumerate(dob_forms(m, d, y, month, day, year, yy)):
            lead = DOB_LEADS[(n + f) % len(DOB_LEADS)]
            before, _, form = form.rpartition("|")  # "the" is not part of the date
            marked = lead.format(before + mark("date_of_birth", form))
            out.append(item(f"dob-{n}-form{f}", ["date_of_birth"], marked))
        short = str(y)[2:]
        out.append(
            item(
                f"dob-{n}-restated",
                ["date_of_birth"],
                "That's in the "
                + mark("date_of_birth", f"{day} of {month} {y}, {m:02d}, {d:02d}, {short}")
                + ".",
            )
        )
        out.append(
            item(
                f"dob-{n}-restated-next",
                ["date_of_birth"],
                f"My date of birth is {mark('date_of_birth', f'{month} {day}, {y}')}.",
                f"So {mark('date_of_birth', f'{m}, {d}, {short}')}.",
            )
        )
        out.append(
            item(
                f"dob-{n}-year-next-final",
                ["date_of_birth"],
                f"My birthday is {mark('date_of_birth', f'{month} {day}')}",
                f"{mark('date_of_birth', year)}.",
            )
        )
        out.append(
            item(
                f"dob-{n}-keyword-then-date",
                ["date_of_birth"],
                "Date of birth is",
                f"the {mark('date_of_birth', f'{day} of {month}, {short}')}.",
            )
        )
        out.append(
            item(
                f"dob-{n}-short-year",
                ["date_of_birth"],
                f"That is the {mark('date_of_birth', f'{day} of {month}, {short}')}.",
            )
        )
        out.append(
            item(
                f"dob-{n}-spoken-unprompted",
                ["date_of_birth"],
                f"{mark('date_of_birth', f'{month} {day} {yy}')}, I think, is what they have.",
            )
        )
    return out


SSNS = [("123", "45", "6789"), ("219", "09", "9999"), ("457", "55", "5462"), ("078", "05", "1120")]
SSN_LEADS = ["My social is {}.", "Social security number, {}.", "SSN is {}.", "It's {}, my social."]


def ssns() -> list[dict[str, object]]:
    out = []
    for n, (a, b, c) in enumerate(SSNS):
        forms = [
            f"{a}-{b}-{c}",
            f"{a} {b} {c}",
            f"{spoken(a)}, {spoken(b)}, {spoken(c)}",
            commas(a + b + c),
            f"{a}{b}{c}",
        ]
        for f, form in enumerate(forms):
            lead = SSN_LEADS[(n + f) % len(SSN_LEADS)]
            out.append(item(f"ssn-{n}-form{f}", ["ssn"], lead.format(mark("ssn", form))))
        out.append(
            item(f"ssn-{n}-last-four", ["ssn"], f"The last four of my social are {mark('ssn', c)}.")
        )
        out.append(
            item(
                f"ssn-{n}-split",
                ["ssn"],
                f"My social is {mark('ssn', spoken(a))}",
                f"{mark('ssn', f'{spoken(b)}, {spoken(c)}')}.",
            )
        )
    return out


CARDS = [
    ("4111", "1111", "1111", "1111"),
    ("5500", "0000", "0000", "0004"),
    ("4242", "4242", "4242", "4242"),
    ("6011", "1111", "1111", "1117"),
]


def cards() -> list[dict[str, object]]:
    out = []
    for n, groups in enumerate(CARDS):
        digits = "".join(groups)
        forms = [
            " ".join(groups),
            "-".join(groups),
            digits,
            ", ".join(spoken(g) for g in groups),
            ", ".join(groups),
        ]
        leads = ["My card number is {}.", "The card is {}.", "It's {}, the Visa.", "Card, {}."]
        for f, form in enumerate(forms):
            out.append(
                item(
                    f"card-{n}-form{f}",
                    ["card"],
                    leads[(n + f) % len(leads)].format(mark("card", form)),
                )
            )
        out.append(
            item(
                f"card-{n}-split",
                ["card"],
                f"The card number is {mark('card', f'{groups[0]} {groups[1]}')}",
                f"{mark('card', f'{groups[2]} {groups[3]}')}.",
            )
        )
    return out


EMAILS = [
    ("john.doe@example.com", "john dot doe at example dot com"),
    ("mary_jones52@yahoo.co.uk", "mary underscore jones five two at yahoo dot co dot uk"),
    ("bob.smith@gmail.com", "bob dot smith at gmail dot com"),
    ("a.patel@nhs.net", "a dot patel at nhs dot net"),
]


def emails() -> list[dict[str, object]]:
    out = []
    for n, (written, said) in enumerate(EMAILS):
        out.append(item(f"email-{n}-written", ["email"], f"My email is {mark('email', written)}."))
        out.append(item(f"email-{n}-spoken", ["email"], f"It's {mark('email', said)}."))
        out.append(item(f"email-{n}-send", ["email"], f"Send it to {mark('email', said)} please."))
        local, domain = said.split(" at ")
        out.append(
            item(
                f"email-{n}-split",
                ["email"],
                f"My email is {mark('email', local)}",
                f"{mark('email', f'at {domain}')}.",
            )
        )
    return out


MEMBERS = [
    ("ABC12345", "A B C one two three four five"),
    ("XK44-1290", "X K four four one two nine oh"),
    ("00123456", "oh oh one two three four five six"),
    ("W123456789", "W one two three four five six seven eight nine"),
]
MEMBER_LEADS = [
    "My member ID is {}.",
    "Policy number {}.",
    "My medical record number is {}.",
    "MRN {}.",
    "The insurance ID is {}, I think.",
]


def members() -> list[dict[str, object]]:
    out = []
    for n, (written, said) in enumerate(MEMBERS):
        for f, form in enumerate((written, said)):
            for k in range(2):
                lead = MEMBER_LEADS[(n + f + k) % len(MEMBER_LEADS)]
                out.append(
                    item(
                        f"member-{n}-form{f}-{k}",
                        ["member_id"],
                        lead.format(mark("member_id", form)),
                    )
                )
        half = said.split()
        out.append(
            item(
                f"member-{n}-split",
                ["member_id"],
                f"My member ID is {mark('member_id', ' '.join(half[:3]))}",
                f"{mark('member_id', ' '.join(half[3:]))}.",
            )
        )
    return out


def mixed() -> list[dict[str, object]]:
    return [
        item(
            "mixed-0",
            ["phone", "date_of_birth"],
            f"My number is {mark('phone', '808-555-1234')} and I was born "
            f"{mark('date_of_birth', 'March 3, 1950')}.",
        ),
        item(
            "mixed-1",
            ["date_of_birth", "member_id"],
            f"Date of birth {mark('date_of_birth', 'oh three oh three fifty')}, "
            f"member ID {mark('member_id', 'A B C one two three four five')}.",
        ),
        item(
            "mixed-2",
            ["phone"],
            "I'm 74 and I take 2 tablets a day.",
            "You can reach me on "
            + mark("phone", "four one five, five five five, two six seven one")
            + ".",
        ),
        item(
            "mixed-3",
            ["date_of_birth"],
            f"I was born on the {mark('date_of_birth', '14th of March, 1952')}, "
            "and I've had diabetes for 20 years.",
        ),
        item(
            "mixed-4",
            ["email", "phone"],
            f"Email {mark('email', 'bob dot smith at gmail dot com')}, "
            f"phone {mark('phone', '212-555-0187')}.",
        ),
    ]


CLINICAL = [
    *NEGATIVE,  # the pinned negatives of tests/stages/test_redact.py
    # more of the same
    "The pain started on March 3rd, 10 days ago.",
    "I took 2 on March 3rd and 2 more on March 5th.",
    "It started March third, about 90 minutes after lunch.",
    "My appointment is on the 14th.",
    "I've lost 10 pounds since March.",
    "My temperature was 101.5 this morning.",
    "I was on 20 mg, now 40 mg.",
    "It's been about three or four days.",
    "I'm 67 and I live alone.",
    "The pharmacy closes at 6.",
    "I had two falls last month.",
    "My oxygen was 92 percent.",
    "I take one pill in the morning and two at night.",
    "I've been on insulin since 2010.",
    "Can you confirm your phone number please?",
    "What is your date of birth?",
    "Let me check your member ID.",
    "I need to call my daughter.",
    "The number of pills is 30.",
    "My heart rate was 110 at rest.",
    "I sleep maybe five hours a night.",
    "Breathe in for four, hold for seven, out for eight.",
    "The second dose was on the 3rd of March.",
    "Room 214, bed 3.",
    "It's 2:30 now.",
    "Between 8 and 9 in the evening.",
]
CLINICAL_PAIRS = [
    ("My date of birth is March 3rd 1950.", "I take 500 mg twice a day."),
    ("My birthday is March third.", "I'm 74."),
    ("You can call me on 808-555-1234.", "The pain is 8 out of 10."),
    ("My number is on file.", "I was admitted for 3 days."),
    ("It started in March.", "Two weeks later it got worse."),
]


def clinical() -> list[dict[str, object]]:
    out = [item(f"clinical-{n}", [], text) for n, text in enumerate(CLINICAL)]
    # after PHI given in the previous final: the clinical second final must stay as it is
    for n, (first, second) in enumerate(CLINICAL_PAIRS):
        out.append({**item(f"clinical-after-{n}", [], first, second), "check": [1]})
    return out


def main() -> None:
    items = phones() + dobs() + ssns() + cards() + emails() + members() + mixed() + clinical()
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids))
    with open(HERE / "phi_set.jsonl", "w") as f:
        for i in items:
            f.write(json.dumps(i, ensure_ascii=False) + "\n")
    print(f"{len(items)} items -> {HERE / 'phi_set.jsonl'}")


if __name__ == "__main__":
    main()
