"""The daily report as a page: four plots (PNG files next to it) and the headline numbers.

The page is self-contained: inline CSS, no script, no external address; its
images are files in the same folder, named by what they show. Each plot has a
text alternative and its numbers in a table under it, for a screen reader and
for anyone who wants the figures.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import ConfigError
from edge.report.day import Figures

PAGE = "index.html"
NONE_SHOWN = "\N{EN DASH}"  # a figure with nothing to measure
WIDTH, DPI = 7.2, 110  # the plots' width in inches, and their pixels an inch
# Colours that read apart for the common colour-vision deficiencies (Okabe-Ito).
PEAK, END, ROUTINE, SENSITIVE, NONE = "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#999999"
CUE_COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]


@dataclass(frozen=True)
class Plot:
    file: str  # PNG name next to the page
    title: str
    alt: str  # what the plot says, in a sentence
    table: tuple[tuple[str, ...], Sequence[tuple[str, ...]]]  # header, rows
    size: tuple[int, int] = (0, 0)  # pixels, once drawn


def write(figures: Figures, out: Path) -> Path:
    """Write the page and its plots into ``out`` (created); the page's path."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot create the folder: {e.strerror or e}") from e
    plots = [
        _plot(out, _distress, figures),
        _plot(out, _cues, figures),
        _plot(out, _triage, figures, height=2.0),
        _plot(out, _handoffs, figures),
    ]
    page = out / PAGE
    page.write_text(_html(figures, plots), encoding="utf-8")
    return page


def headline(figures: Figures) -> list[tuple[str, str, str]]:
    """(name, figure, what it is of) for the top of the page, in words."""
    f = figures
    calmer = (
        f"{f.calmer_share:.0%}"
        if f.calmer_share is not None
        else NONE_SHOWN  # no distressed caller had both a peak and an ending
    )
    median = NONE_SHOWN
    if f.median_distressed_s is not None:
        median = f"{f.median_distressed_s / 60:.1f} min"
    helpful = f"{f.helpful_rate:.0%}" if f.helpful_rate is not None else NONE_SHOWN
    return [
        ("Calls", str(f.calls), f"{f.distressed_calls} with a distressed caller"),
        ("Ended calmer than their peak", calmer, f"{f.calmer} of {f.calmer_known} distressed"),
        ("Median time distressed", median, "over the calls with a distressed caller"),
        ("Cues found helpful", helpful, f"{f.helpful} of {f.verdicts} agents' verdicts"),
    ]


# -- plots ------------------------------------------------------------------------------


def _plot(
    out: Path, draw: Callable[[Any, Figures], Plot], figures: Figures, *, height: float = 3.6
) -> Plot:
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    plot = draw(fig.subplots(), figures)
    # No timestamp in the file: the same day gives the same bytes.
    fig.savefig(out / plot.file, dpi=DPI, metadata={"Software": None})
    return dataclasses.replace(plot, size=(round(WIDTH * DPI), round(height * DPI)))


def _distress(ax: Any, f: Figures) -> Plot:
    hours = sorted(f.hours)
    peak = [f.hours[h].mean_peak or 0.0 for h in hours]
    end = [f.hours[h].mean_end or 0.0 for h in hours]
    xs = range(len(hours))
    ax.bar([x - 0.2 for x in xs], peak, width=0.4, color=PEAK, label="peak")
    ax.bar([x + 0.2 for x in xs], end, width=0.4, color=END, label="at the end")
    ax.set_xticks(list(xs), [f"{h:02d}:00" for h in hours])
    ax.set_ylim(0, 1)
    ax.set_ylabel("caller distress (0 to 1)")
    ax.set_xlabel("hour the call ended (UTC)")
    ax.set_title("Callers' distress: their peak and how they ended, by hour")
    ax.legend(loc="upper right", frameon=False)
    rows = [
        (
            f"{h:02d}:00",
            str(f.hours[h].calls),
            _figure(f.hours[h].mean_peak),
            _figure(f.hours[h].mean_end),
            f"{f.hours[h].distressed_minutes:.1f}",
        )
        for h in hours
    ]
    return Plot(
        "distress-by-hour.png",
        "Distress over the day",
        "Bars per hour of the day: the callers' mean peak distress beside their mean "
        "distress at the end of the call.",
        (("hour (UTC)", "calls", "mean peak", "mean at the end", "minutes distressed"), rows),
    )


def _cues(ax: Any, f: Figures) -> Plot:
    teams = list(f.cues_per_team)
    kinds = sorted({k for counts in f.cues_per_team.values() for k in counts})
    bottom = [0] * len(teams)
    for i, kind in enumerate(kinds):
        counts = [f.cues_per_team[t][kind] for t in teams]
        ax.bar(
            teams,
            counts,
            bottom=bottom,
            color=CUE_COLOURS[i % len(CUE_COLOURS)],
            label=kind.replace("_", " "),
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_ylabel("cues raised")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Cues per team, by kind")
    if kinds:
        ax.legend(loc="upper left", bbox_to_anchor=(1, 1), frameon=False, fontsize="small")
    rows = [(t, str(sum(f.cues_per_team[t].values())), _kinds(f.cues_per_team[t])) for t in teams]
    return Plot(
        "cues-per-team.png",
        "Cues per team",
        "Stacked bars, one per team: how many cues of each kind were raised on its calls.",
        (("team", "cues", "of which"), rows),
    )


def _triage(ax: Any, f: Figures) -> Plot:
    order = [("routine", ROUTINE), ("sensitive", SENSITIVE), ("not triaged", NONE)]
    shown = [(label, colour, f.triage[label]) for label, colour in order if f.triage[label]]
    ax.barh(
        [0] * len(shown),
        [n for *_, n in shown],
        left=[sum(n for *_, n in shown[:i]) for i in range(len(shown))],
        color=[colour for _, colour, _ in shown],
        label=[label for label, *_ in shown],
        height=0.5,
    )
    for i, (label, _, n) in enumerate(shown):
        left = sum(m for *_, m in shown[:i])
        ax.text(left + n / 2, 0, f"{label}\n{n / f.calls:.0%}", ha="center", va="center")
    ax.set_xlim(0, f.calls)
    ax.set_yticks([])
    ax.set_xlabel("calls")
    ax.set_title("Calls routine and sensitive")
    rows = [(label, str(n), f"{n / f.calls:.0%}") for label, _, n in shown]
    return Plot(
        "routine-vs-sensitive.png",
        "Routine and sensitive calls",
        "One bar split by the calls' triage: routine, sensitive, and not triaged.",
        (("triage", "calls", "share"), rows),
    )


def _handoffs(ax: Any, f: Figures) -> Plot:
    reasons = sorted(f.handoffs, key=lambda r: -f.handoffs[r])
    ax.bar([r.replace("_", " ") for r in reasons], [f.handoffs[r] for r in reasons], color=END)
    ax.set_ylabel("hand-offs recommended")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"Hand-offs to a person, by reason (on {f.handed_off_calls} calls)")
    if not reasons:
        ax.text(0.5, 0.5, "no hand-offs this day", ha="center", va="center", transform=ax.transAxes)
    rows = [(r.replace("_", " "), str(f.handoffs[r])) for r in reasons]
    return Plot(
        "handoffs.png",
        "Hand-offs",
        "Bars per reason: how often an automated call was recommended to go to a person.",
        (("reason", "hand-offs"), rows),
    )


def _figure(x: float | None) -> str:
    return NONE_SHOWN if x is None else f"{x:.2f}"


def _kinds(counts: Any) -> str:
    return ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.most_common())


# -- page -------------------------------------------------------------------------------

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; color: #1d2327; max-width: 60rem;
       margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
.sub { color: #50575e; margin-top: 0; }
.headline { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr));
            gap: 0.8rem; padding: 0; list-style: none; }
.headline li { border: 1px solid #c3c4c7; border-radius: 8px; padding: 0.7rem 0.9rem; }
.headline .name { display: block; color: #50575e; font-size: 0.9rem; }
.headline .value { display: block; font-size: 1.9rem; font-weight: 700; }
.headline .of { display: block; color: #50575e; font-size: 0.85rem; }
figure { margin: 2rem 0 0; }
figure img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.9rem; margin-top: 0.4rem; }
th, td { border-bottom: 1px solid #dcdcde; padding: 0.2rem 0.8rem 0.2rem 0; text-align: left; }
"""


def _html(figures: Figures, plots: list[Plot]) -> str:
    e = html.escape
    day = figures.day.isoformat()
    cards = "\n".join(
        f'<li data-figure="{e(name)}"><span class="name">{e(name)}</span>'
        f'<span class="value">{e(value)}</span><span class="of">{e(of)}</span></li>'
        for name, value, of in headline(figures)
    )
    sections = "\n".join(_section(p) for p in plots)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Calls on {e(day)} · empathy-edge</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>Calls on {e(day)}</h1>
<p class="sub">From the after-call summaries in the event log (UTC day). No call's words are
in them: triage, times, distress readings, cue kinds and agents' verdicts only.</p>
<section aria-labelledby="headline-heading">
<h2 id="headline-heading">The day in four numbers</h2>
<ul class="headline">
{cards}
</ul>
</section>
{sections}
</main>
</body>
</html>
"""


def _section(plot: Plot) -> str:
    e = html.escape
    header, rows = plot.table
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    slug = plot.file.removesuffix(".png")
    w, h = plot.size
    return f"""<section aria-labelledby="{slug}-heading">
<h2 id="{slug}-heading">{e(plot.title)}</h2>
<figure>
<img src="{e(plot.file)}" alt="{e(plot.alt)}" width="{w}" height="{h}">
<figcaption><table><thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody></table></figcaption>
</figure>
</section>"""
