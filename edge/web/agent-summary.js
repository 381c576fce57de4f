// The agent panel's after-call summary: what the call was, in one glance, from
// its `call.summary.final` (docs/events.md; issue 17, part 3), e.g.
//
//   Call ended · 6:12 · refill (routine) · distressed 0:40, ended calmer · 2 cues (1 helpful)
//   You spoke 48% of the time · 152 words a minute
//
// Numbers, labels and cue counts only: the summary holds no transcript text.

import { formatDuration } from "./common.js";

const DOT = " \u00b7 ";

/** How the caller's distress went: "distressed 0:40, ended calmer", or no distress cue. */
function distressWords(s) {
  if (!(s.distressed_s > 0)) return "no distress cue";
  const words = `distressed ${formatDuration(s.distressed_s)}`;
  if (s.calmer_at_end === true) return `${words}, ended calmer`;
  if (s.calmer_at_end === false) return `${words}, not calmer at the end`;
  return words;
}

/** "2 cues (1 helpful)": `helpful`, the cues this panel's agent called right. */
function cueWords(s, helpful) {
  const n = (s.cues || []).length;
  if (!n) return "no cues";
  const count = n === 1 ? "1 cue" : `${n} cues`;
  return helpful ? `${count} (${helpful} helpful)` : count;
}

/** The summary's two lines: the call, and the agent's talk; "" where nothing was measured. */
export function summaryLines(s, helpful) {
  const parts = ["Call ended", formatDuration(s.duration)];
  if (s.triage) parts.push(`${String(s.topic || "no topic").replaceAll("_", " ")} (${s.triage})`);
  parts.push(distressWords(s), cueWords(s, helpful));
  const talk = [];
  if (typeof s.agent_talk_share === "number") {
    talk.push(`You spoke ${Math.round(100 * s.agent_talk_share)}% of the time`);
  }
  if (typeof s.agent_wpm === "number") talk.push(`${Math.round(s.agent_wpm)} words a minute`);
  return { call: parts.join(DOT), talk: talk.join(DOT) };
}
