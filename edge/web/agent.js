// The agent panel: the current call's cues, large and calm, with the reason and
// a suggested response; a live caption of the caller; "this cue was wrong".
// Subscribes with view "agent" (docs/server.md).

import {
  CUES,
  LEVELS,
  Sequences,
  Subscription,
  byUrgency,
  clock,
  cueTitle,
  el,
  formatDuration,
  fragment,
  frameBatcher,
  levelIcon,
  rank,
  setText,
  showState,
} from "./common.js";

const CAPTION_LINES = 4; // finals shown under the cue; older ones scroll away
const FINALS_KEPT = 50;
const LEAVE_MS = 400; // a cleared cue fades out this long (app.css .leaving)

const params = fragment();
const $ = (id) => document.getElementById(id);
const ui = {
  who: $("who"),
  conn: $("conn"),
  callWord: $("call-word"),
  callTime: $("call-time"),
  cues: $("cues"),
  caption: $("caption"),
  captionOff: $("caption-off"),
  history: $("history"),
  historyEmpty: $("history-empty"),
};

const seqs = new Sequences();
const calls = new Map(); // call id → what we know of the call
const feedback = new Map(); // "call/cue" → {state: "sending" | "recorded" | "error", text}
const sentFeedback = []; // keys awaiting an answer, oldest first
let share = "transcripts";
let agentId = params.agent || null;

// -- state ----------------------------------------------------------------------

function call(id) {
  let c = calls.get(id);
  if (!c) {
    c = {
      id,
      started: null, // Unix time the call began
      ended: false,
      duration: 0, // seconds of audio heard
      cues: new Map(), // active, by cue_id
      earlier: new Map(), // cleared, by cue_id
      finals: [], // caller's finished lines: {utterance, text}
      partial: null, // caller's line in progress: {utterance, text}
    };
    calls.set(id, c);
  }
  return c;
}

function handle(data) {
  switch (data.type) {
    case "subscribed":
      share = data.share || "transcripts";
      agentId = data.agent_id || agentId;
      break;
    case "feedback.recorded":
      answerFeedback(`${data.call_id}/${data.cue_id}`, { state: "recorded", text: "Thanks \u2014 recorded" });
      break;
    case "error":
      if (sentFeedback.length) {
        answerFeedback(sentFeedback[0], { state: "error", text: `Not recorded: ${data.message}` });
      }
      break;
    case "call.snapshot":
      snapshot(data);
      break;
    default:
      if (typeof data.call_id === "string" && seqs.fresh(data.call_id, data.seq)) event(data);
      else return;
  }
  render();
}

function snapshot({ call: summary, captions }) {
  const c = call(summary.call_id);
  seqs.reset(c.id, summary.seq);
  c.started = summary.started_at;
  c.ended = summary.ended;
  c.duration = summary.duration;
  for (const [id, cue] of c.cues) if (!summary.cues.some((s) => s.cue_id === id)) c.earlier.set(id, cue);
  c.cues = new Map(summary.cues.map((cue) => [cue.cue_id, { ...cue, wall_time: cue.since }]));
  const heard = (captions || []).filter((line) => (line.role || "caller") === "caller");
  c.finals = heard.map((line) => ({ utterance: null, text: line.text }));
  c.partial = null;
}

function event(e) {
  const c = call(e.call_id);
  if (c.started === null && typeof e.wall_time === "number") c.started = e.wall_time - e.stream_time;
  c.duration = Math.max(c.duration, e.stream_time || 0);
  const caller = e.role === "caller";
  switch (e.type) {
    case "call.started":
      c.started = e.wall_time - e.stream_time;
      break;
    case "call.ended":
      c.ended = true;
      c.duration = e.duration;
      c.partial = null;
      for (const [id, cue] of c.cues) c.earlier.set(id, cue);
      c.cues.clear();
      break;
    case "transcript.partial":
      if (caller) c.partial = { utterance: e.utterance, text: e.text };
      break;
    case "transcript.final":
      if (!caller) break;
      if (c.partial && c.partial.utterance === e.utterance) c.partial = null;
      // An empty final withdraws the partials of noise (docs/events.md).
      if (e.text) c.finals.push({ utterance: e.utterance, text: e.text });
      if (c.finals.length > FINALS_KEPT) c.finals.splice(0, c.finals.length - FINALS_KEPT);
      break;
    case "cue.raised":
      c.cues.set(e.cue_id, e); // a rise to "high" keeps the cue_id and replaces it
      break;
    case "cue.cleared": {
      const cue = c.cues.get(e.cue_id);
      if (cue) {
        c.cues.delete(e.cue_id);
        c.earlier.set(e.cue_id, cue);
      }
      break;
    }
    default: // readings and types this page does not show
  }
}

/** The call on screen: the newest one in progress, else the newest that ended. */
function current() {
  let best = null;
  for (const c of calls.values()) {
    const key = [c.ended ? 0 : 1, c.started || 0];
    if (!best || key[0] > best.key[0] || (key[0] === best.key[0] && key[1] >= best.key[1])) {
      best = { c, key };
    }
  }
  return best && best.c;
}

// -- feedback ---------------------------------------------------------------------

function sendFeedback(callId, cueId) {
  const key = `${callId}/${cueId}`;
  const now = feedback.get(key);
  if (now && (now.state === "sending" || now.state === "recorded")) return;
  if (subscription.send({ type: "feedback", call_id: callId, cue_id: cueId, verdict: "wrong" })) {
    feedback.set(key, { state: "sending", text: "Sending\u2026" });
    sentFeedback.push(key);
  } else {
    feedback.set(key, { state: "error", text: "Not connected: try again when the panel is live" });
  }
  render();
}

function answerFeedback(key, answer) {
  const at = sentFeedback.indexOf(key);
  if (at >= 0) sentFeedback.splice(at, 1);
  feedback.set(key, answer);
}

function feedbackControls(callId, cueId, describedBy) {
  const key = `${callId}/${cueId}`;
  const button = el("button", {
    class: "feedback",
    text: "This cue was wrong",
    attrs: { type: "button", "aria-describedby": describedBy },
    on: { click: () => sendFeedback(callId, cueId) },
  });
  const status = el("span", { class: "feedback-status", attrs: { role: "status" } });
  const update = () => {
    const f = feedback.get(key);
    // aria-disabled, not disabled: a disabled button would lose the keyboard focus.
    const done = !!f && (f.state === "sending" || f.state === "recorded");
    button.setAttribute("aria-disabled", String(done));
    status.dataset.state = f ? f.state : "";
    setText(status, f ? f.text : "");
  };
  return { node: el("div", { class: "cue-actions" }, button, status), update };
}

// -- rendering ----------------------------------------------------------------------

const cards = new Map(); // "call/cue" → active cue card
const earlierItems = new Map(); // "call/cue" → history item
let ids = 0;

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

function cueCard(c, cue) {
  const id = `cue-${++ids}`;
  const icon = el("span", { class: "icon-box" });
  const level = el("span", { class: "level-word" });
  const title = el("span", { class: "cue-title" });
  const message = el("p", { class: "cue-message", attrs: { id } });
  const because = el("div", { class: "cue-because" });
  const suggestion = CUES[cue.cue] && CUES[cue.cue].suggest;
  const controls = feedbackControls(c.id, cue.cue_id, id);
  const node = el(
    "article",
    { class: "cue", attrs: { "data-cue": cue.cue, "data-cue-id": cue.cue_id } },
    el("h3", { class: "cue-head" }, icon, level, title),
    message,
    because,
    suggestion
      ? el("p", { class: "cue-suggest" }, el("span", { class: "label", text: "Try: " }), suggestion)
      : null,
    controls.node,
  );
  let signature = "";
  const update = (now) => {
    const sig = `${now.level}|${now.message}|${(now.evidence || []).join(",")}`;
    if (sig !== signature) {
      signature = sig;
      node.dataset.level = now.level;
      icon.replaceChildren(levelIcon(now.level));
      setText(level, (LEVELS[now.level] || LEVELS.notice).word);
      setText(title, cueTitle(now.cue));
      setText(message, now.message);
      because.replaceChildren(evidence(now) || "");
    }
    controls.update();
  };
  return { node, update, shownAt: performance.now() };
}

function earlierItem(c, cue) {
  const id = `earlier-${++ids}`;
  const controls = feedbackControls(c.id, cue.cue_id, id);
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
    el("p", { class: "cue-message", text: cue.message, attrs: { id } }),
    evidence(cue),
    controls.node,
  );
  return { node, update: controls.update };
}

function leave(card) {
  // Fade out a cue the agent has seen; one that came and went within a replay just goes.
  if (performance.now() - card.shownAt < 1000) {
    card.node.remove();
    return;
  }
  card.node.classList.add("leaving");
  setTimeout(() => card.node.remove(), LEAVE_MS);
}

function renderCues(c) {
  const active = c ? [...c.cues.values()].sort(byUrgency) : [];
  // A high cue interrupts a screen reader; the others wait their turn.
  const live = active.some((cue) => rank(cue.level) >= LEVELS.high.rank) ? "assertive" : "polite";
  if (ui.cues.getAttribute("aria-live") !== live) ui.cues.setAttribute("aria-live", live);
  const keep = new Set();
  active.forEach((cue, i) => {
    const key = `${c.id}/${cue.cue_id}`;
    keep.add(key);
    let card = cards.get(key);
    if (!card) {
      card = cueCard(c, cue);
      cards.set(key, card);
    }
    card.update(cue);
    const at = ui.cues.children[i];
    if (at !== card.node) ui.cues.insertBefore(card.node, at || null);
  });
  for (const [key, card] of cards) {
    if (!keep.has(key)) {
      cards.delete(key);
      leave(card);
    }
  }
  let calm = ui.cues.querySelector(".calm");
  if (active.length) {
    if (calm) calm.remove();
    return;
  }
  const state = !c ? "none" : c.ended ? "ended" : "none";
  const words = !c
    ? ["No call yet", "Cues for your next call will appear here."]
    : c.ended
      ? ["Call ended", "Cues from this call are listed under \u201cEarlier in this call\u201d."]
      : ["No cue right now", "Nothing needs your attention."];
  if (!calm || calm.dataset.state !== state || calm.dataset.words !== words[0]) {
    const fresh = el(
      "div",
      { class: "calm", attrs: { "data-state": state, "data-words": words[0] } },
      el("p", { class: "cue-head" }, el("span", { class: "icon-box" }, levelIcon(state)), words[0]),
      el("p", { class: "calm-text", text: words[1] }),
    );
    if (calm) calm.replaceWith(fresh);
    else ui.cues.append(fresh);
  }
}

function renderCaption(c) {
  const shared = share !== "cues";
  ui.caption.hidden = !shared;
  ui.captionOff.hidden = shared;
  if (!shared) return;
  const lines = c ? c.finals.slice(-CAPTION_LINES).map((f) => el("p", { class: "final", text: f.text })) : [];
  if (c && c.partial && c.partial.text) {
    lines.push(el("p", { class: "partial", text: c.partial.text }));
  }
  if (!lines.length) lines.push(el("p", { class: "note", text: c ? "Listening\u2026" : "No call yet." }));
  const text = lines.map((l) => `${l.className}:${l.textContent}`).join("\n");
  if (ui.caption.dataset.text !== text) {
    ui.caption.dataset.text = text;
    ui.caption.replaceChildren(...lines);
  }
}

function renderEarlier(c) {
  const items = c ? [...c.earlier.values()].sort((a, b) => b.cue_id - a.cue_id) : [];
  const keep = new Set();
  items.forEach((cue, i) => {
    const key = `${c.id}/${cue.cue_id}`;
    keep.add(key);
    let item = earlierItems.get(key);
    if (!item) {
      item = earlierItem(c, cue);
      earlierItems.set(key, item);
    }
    item.update();
    const at = ui.history.children[i];
    if (at !== item.node) ui.history.insertBefore(item.node, at || null);
  });
  for (const [key, item] of earlierItems) {
    if (!keep.has(key)) {
      earlierItems.delete(key);
      item.node.remove();
    }
  }
  ui.historyEmpty.hidden = items.length > 0;
}

function renderHeading(c) {
  setText(ui.who, agentId ? `Agent ${agentId}` : "");
  if (!c) {
    setText(ui.callWord, "Waiting for a call");
    setText(ui.callTime, "");
    return;
  }
  setText(ui.callWord, c.ended ? "Call ended" : "Call in progress");
  const seconds = c.ended || c.started === null ? c.duration : clock.now() - c.started;
  setText(ui.callTime, formatDuration(seconds));
}

const render = frameBatcher(() => {
  const c = current();
  renderHeading(c);
  renderCues(c);
  renderCaption(c);
  renderEarlier(c);
});

// -- start ----------------------------------------------------------------------------

const subscription = new Subscription({
  hello: () => {
    const hello = { type: "subscribe", view: "agent", resume: seqs.resume() };
    if (params.token) hello.token = params.token;
    if (params.agent) hello.agent_id = params.agent;
    return hello;
  },
  onMessage: handle,
  onState: (state) => {
    showState(ui.conn, state);
    if (state.state !== "live" && state.state !== "connecting") lostFeedback();
  },
});

/** Reports the server never answered (the link dropped): say so, and allow a retry. */
function lostFeedback() {
  for (const key of sentFeedback.splice(0)) {
    feedback.set(key, { state: "error", text: "Not confirmed (connection lost): please try again" });
  }
  render();
}

window.addEventListener("hashchange", () => location.reload());
if (!params.token && !params.agent) {
  showState(ui.conn, {
    state: "failed",
    text: "Open this page as /agent#token=YOUR_TOKEN (or /agent#agent=YOUR_ID on an open service).",
  });
} else {
  subscription.start();
  setInterval(() => renderHeading(current()), 1000);
  render();
}
