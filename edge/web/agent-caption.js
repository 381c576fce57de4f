// The agent panel's caption: the caller's lines with the call time they were
// spoken, the words a cue quotes highlighted, and a note when the transcript
// lags behind the call (docs/server.md, "The pages").

import { el, formatDuration } from "./common.js";

export const LAG_NOTE = 5; // seconds behind before the panel says so

/** A call's caption clock: what of the caller's speech was heard, and transcribed. */
export function captionClock() {
  return { heard: 0, transcribed: 0, delay: 0 };
}

/**
 * Move the caption clock on with one event of the call.
 *
 * `heard`: the latest caller speech the service knows of (speech start and
 * end, voice readings' windows); `transcribed`: the end of the newest caller
 * caption (final, or partial on screen); `delay`: how far the service's work
 * trails the live call (the event's wall time against the call's start plus
 * its stream time; 0 for a recording uploaded faster than real time).
 */
export function hear(clock, e, started) {
  if (started !== null && typeof e.wall_time === "number" && typeof e.stream_time === "number") {
    clock.delay = Math.max(0, e.wall_time - started - e.stream_time);
  }
  if (e.role !== "caller") return;
  switch (e.type) {
    case "speech.started":
      clock.heard = Math.max(clock.heard, e.start);
      break;
    case "speech.ended":
    case "emotion.voice":
      clock.heard = Math.max(clock.heard, e.end);
      break;
    case "transcript.partial":
    case "transcript.final": // an empty final too: its end is the utterance's speech end
      clock.transcribed = Math.max(clock.transcribed, e.end);
      break;
    default:
  }
}

/** Seconds the caption trails the caller: speech heard but not yet shown, plus the service's delay. */
export function lagSeconds(clock) {
  return Math.max(0, clock.heard - clock.transcribed) + clock.delay;
}

/** The lag note's text, or "" while the caption keeps up. */
export function lagNote(clock) {
  const lag = lagSeconds(clock);
  return lag >= LAG_NOTE ? `Transcript ${Math.round(lag)} s behind the call` : "";
}

/** One caption line: its call time, then the words, the quoted ones marked. */
export function captionLine(line, kind, quotes) {
  const at = typeof line.start === "number" ? line.start : line.end;
  return el(
    "p",
    { class: kind },
    typeof at === "number" ? el("span", { class: "at", text: formatDuration(at) }) : null,
    el("span", { class: "line-text" }, ...marked(line.text, quotes)),
  );
}

const EDGE = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;
const WORDISH = /[\p{L}\p{N}]/u;

/** `text` as text nodes and <mark>s: every whole-word occurrence of a quote, case aside. */
export function marked(text, quotes) {
  const lower = text.toLowerCase();
  if (lower.length !== text.length) return [text]; // a letter whose lower case is longer: no marks
  const ranges = [];
  const needles = quotes.map((q) => q.toLowerCase().replace(EDGE, "")).filter(Boolean);
  for (const needle of needles.sort((a, b) => b.length - a.length)) {
    for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, at + 1)) {
      const end = at + needle.length;
      const whole = !WORDISH.test(lower[at - 1] || "") && !WORDISH.test(lower[end] || "");
      if (whole && !ranges.some(([s, e]) => at < e && end > s)) ranges.push([at, end]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const nodes = [];
  let from = 0;
  for (const [start, end] of ranges) {
    if (start > from) nodes.push(text.slice(from, start));
    nodes.push(el("mark", { class: "quoted", text: text.slice(start, end) }));
    from = end;
  }
  if (from < text.length) nodes.push(text.slice(from));
  return nodes;
}
