// The agent panel's cue cards and their feedback: "Right" and "Wrong — hide",
// each with an optional one-word reason, sent as a `feedback` message
// (docs/server.md, "Feedback").

import {
  CUES,
  LEVELS,
  cueSuggestion,
  cueTitle,
  el,
  formatDuration,
  levelIcon,
  rank,
  setText,
} from "./common.js";

/** The reasons offered: one word each, as the server wants them. */
export const REASONS = [
  ["", "Why? (optional)"],
  ["misheard", "Words misheard"],
  ["calm", "Caller was calm"],
  ["late", "Came too late"],
  ["known", "I knew already"],
  ["helpful", "Helpful"],
  ["other", "Other"],
];

// -- feedback ---------------------------------------------------------------------

/** What the agent said about each cue, and what the server answered. */
export class Feedback {
  constructor(send, changed) {
    this.send = send; // (message) -> false when not connected
    this.changed = changed;
    this.states = new Map(); // "call/cue" → {state: "sending" | "recorded" | "error", text}
    this.waiting = []; // keys awaiting an answer, oldest first
  }

  get(key) {
    return this.states.get(key);
  }

  /** Send a verdict; false when it was not sent (already sent, or not connected). */
  give(callId, cueId, verdict, reason) {
    const key = `${callId}/${cueId}`;
    const now = this.states.get(key);
    if (now && (now.state === "sending" || now.state === "recorded")) return false;
    const message = { type: "feedback", call_id: callId, cue_id: cueId, verdict };
    if (reason) message.reason = reason;
    const sent = this.send(message);
    if (sent) {
      this.states.set(key, { state: "sending", verdict, text: "Sending\u2026" });
      this.waiting.push(key);
    } else {
      this.states.set(key, { state: "error", text: "Not connected: try again when the panel is live" });
    }
    this.changed();
    return sent;
  }

  recorded(callId, cueId) {
    const key = `${callId}/${cueId}`;
    const verdict = (this.states.get(key) || {}).verdict;
    this.answer(key, { state: "recorded", verdict, text: `Thanks \u2014 recorded as ${verdict || "sent"}` });
  }

  /** An `error` answers the oldest report still waiting. */
  refused(message) {
    if (this.waiting.length) this.answer(this.waiting[0], { state: "error", text: `Not recorded: ${message}` });
  }

  /** The link dropped: reports never answered may be sent again. */
  lost() {
    for (const key of this.waiting.splice(0)) {
      this.states.set(key, { state: "error", text: "Not confirmed (connection lost): please try again" });
    }
    this.changed();
  }

  /** How many cues of a call the agent called right, as the server recorded. */
  helpful(callId) {
    let n = 0;
    for (const [key, f] of this.states) {
      if (key.startsWith(`${callId}/`) && f.state === "recorded" && f.verdict === "right") n += 1;
    }
    return n;
  }

  answer(key, answer) {
    const at = this.waiting.indexOf(key);
    if (at >= 0) this.waiting.splice(at, 1);
    this.states.set(key, answer);
  }
}

/** The buttons, the reason and the status line of one cue; `hide()` when it was wrong. */
function feedbackControls(feedback, callId, cueId, describedBy, hide) {
  const key = `${callId}/${cueId}`;
  const reason = el(
    "select",
    { class: "reason", attrs: { "aria-label": "Reason (optional)" } },
    ...REASONS.map(([value, text]) => el("option", { text, attrs: { value } })),
  );
  const button = (verdict, text) =>
    el("button", {
      class: "feedback",
      text,
      attrs: { type: "button", "data-verdict": verdict, "aria-describedby": describedBy },
      on: {
        click: () => {
          if (feedback.give(callId, cueId, verdict, reason.value) && verdict === "wrong") hide();
        },
      },
    });
  const buttons = [button("right", "Right"), button("wrong", "Wrong \u2014 hide")];
  const status = el("span", { class: "feedback-status", attrs: { role: "status" } });
  const update = () => {
    const f = feedback.get(key);
    // aria-disabled, not disabled: a disabled button would lose the keyboard focus.
    const done = !!f && (f.state === "sending" || f.state === "recorded");
    for (const b of buttons) b.setAttribute("aria-disabled", String(done));
    reason.disabled = done;
    status.dataset.state = f ? f.state : "";
    setText(status, f ? f.text : "");
  };
  return { node: el("div", { class: "cue-actions" }, ...buttons, reason, status), update };
}

// -- parts of a card ----------------------------------------------------------------

function evidence(cue) {
  const words = cue.evidence || [];
  if (!words.length) return null;
  return el(
    "p",
    { class: "cue-evidence" },
    el("span", { class: "label", text: "Heard: " }),
    ...words.map((w) => el("span", { class: "chip", text: w })),
  );
}

/** "Caller said: “…”": the caption words the cue rests on (empty when none came). */
function quote(cue) {
  const words = cue.quote || [];
  if (!words.length) return null;
  const who = cue.role === "agent" ? "You said: " : "Caller said: ";
  return el(
    "p",
    { class: "cue-quote" },
    el("span", { class: "label", text: who }),
    ...words.map((w) => el("q", { class: "quoted", text: w })),
  );
}

function suggestion(cue) {
  const text = cueSuggestion(cue);
  if (!text) return null;
  const label = (CUES[cue.cue] && CUES[cue.cue].label) || "Try: ";
  return el("p", { class: "cue-suggest" }, el("span", { class: "label", text: label }), text);
}

function signature(cue) {
  const parts = [cue.level, cue.message, cue.suggestion, ...(cue.evidence || []), "|", ...(cue.quote || [])];
  return parts.join("\u241f");
}

// -- cards ----------------------------------------------------------------------------

let ids = 0;

/** An active cue's card; `update(cue)` takes a newer `cue.raised` of the same cue_id in place. */
export function cueCard(feedback, callId, cue) {
  const id = `cue-${++ids}`;
  const emergency = cue.cue === "possible_emergency";
  const icon = el("span", { class: "icon-box" });
  const level = el("span", { class: "level-word" });
  const title = el("span", { class: "cue-title" });
  const message = el("p", { class: "cue-message", attrs: { id } });
  const body = el("div", { class: "cue-body" });
  const show = el("button", {
    class: "feedback show",
    text: "Show again",
    attrs: { type: "button" },
    on: { click: () => collapse(false) },
  });
  const controls = feedbackControls(feedback, callId, cue.cue_id, id, () => collapse(true));
  const node = el(
    "article",
    { class: emergency ? "cue emergency" : "cue", attrs: { "data-cue": cue.cue, "data-cue-id": cue.cue_id } },
    el("h3", { class: "cue-head" }, icon, level, title),
    body,
    controls.node,
    show,
  );
  const collapse = (hidden) => {
    node.classList.toggle("collapsed", hidden);
    show.hidden = !hidden;
  };
  collapse(false);
  let seen = "";
  let shownRank = -1;
  const update = (now) => {
    const sig = signature(now);
    if (sig !== seen) {
      seen = sig;
      if (rank(now.level) > shownRank && shownRank >= 0) collapse(false); // it rose: show it again
      shownRank = rank(now.level);
      node.dataset.level = now.level;
      icon.replaceChildren(levelIcon(now.level));
      setText(level, (LEVELS[now.level] || LEVELS.notice).word);
      setText(title, cueTitle(now.cue));
      setText(message, now.message);
      // A possible emergency leads with its protocol; other cues with the reason.
      const parts = [message, evidence(now), quote(now), suggestion(now)];
      if (emergency) parts.unshift(parts.pop());
      body.replaceChildren(...parts.filter(Boolean));
    }
    controls.update();
  };
  return { node, update, shownAt: performance.now() };
}

/** A cleared cue under "Earlier in this call". */
export function earlierItem(feedback, callId, cue) {
  const id = `earlier-${++ids}`;
  const details = el(
    "div",
    { class: "earlier-body" },
    el("p", { class: "cue-message", text: cue.message, attrs: { id } }),
    evidence(cue),
    quote(cue),
  );
  const controls = feedbackControls(feedback, callId, cue.cue_id, id, () => {
    details.hidden = true;
  });
  const node = el(
    "li",
    { class: "earlier", attrs: { "data-level": cue.level, "data-cue": cue.cue, "data-cue-id": cue.cue_id } },
    el(
      "p",
      { class: "earlier-head" },
      el("span", { class: "icon-box" }, levelIcon(cue.level)),
      el("span", { class: "level-word", text: (LEVELS[cue.level] || LEVELS.notice).word }),
      el("span", { class: "cue-title", text: cueTitle(cue.cue) }),
      typeof cue.stream_time === "number"
        ? el("span", { class: "at", text: `at ${formatDuration(cue.stream_time)}` })
        : null,
    ),
    details,
    controls.node,
  );
  return { node, update: controls.update };
}
