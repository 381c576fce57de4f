// The agent panel: the current call's cues, large and calm, with the reason and
// a suggested response; a live caption of the caller with call times; "Right"
// and "Wrong — hide" on every cue. Subscribes with view "agent" (docs/server.md).
//
// It never claims that all is well: without a cue it says "No cue right now",
// and without news from the server for a while it says the panel is stale.

import {
  LEVELS,
  Sequences,
  Subscription,
  byUrgency,
  clock,
  el,
  formatDuration,
  fragment,
  frameBatcher,
  levelIcon,
  rank,
  setText,
  showState,
  triageWords,
} from "./common.js";
import { captionClock, captionLine, hear, lagNote, lagSeconds, LAG_NOTE } from "./agent-caption.js";
import { Feedback, cueCard, earlierItem } from "./agent-cues.js";
import { summaryLines } from "./agent-summary.js";

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
  callTriage: $("call-triage"),
  cues: $("cues"),
  caption: $("caption"),
  captionOff: $("caption-off"),
  captionLag: $("caption-lag"),
  serviceNote: $("service-note"),
  language: $("language-note"),
  history: $("history"),
  historyEmpty: $("history-empty"),
  afterCall: $("after-call"),
  afterCallLine: $("after-call-line"),
  afterCallTalk: $("after-call-talk"),
};

const seqs = new Sequences();
const calls = new Map(); // call id → what we know of the call
let share = "transcripts";
let agentId = params.agent || null;
let link = "connecting"; // the subscription's state: "live" only while news arrives
let everLive = false;

// -- state ----------------------------------------------------------------------

function call(id) {
  let c = calls.get(id);
  if (!c) {
    c = {
      id,
      started: null, // Unix time the call began
      ended: false,
      lost: false, // the service analysing it stopped (call.lost)
      duration: 0, // seconds of audio heard
      cues: new Map(), // active, by cue_id
      earlier: new Map(), // cleared, by cue_id
      finals: [], // caller's finished lines: {utterance, text, start, end}
      partial: null, // caller's line in progress: {utterance, text, start, end}
      clock: captionClock(), // how far the caption trails the call
      language: null, // a call.language event, when the caller's language is not read
      triage: null, // the latest call.triage: {label, topic}
      load: null, // the last engine.degraded / engine.recovered while the service is behind
      summary: null, // its call.summary.final, once the call is over
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
      feedback.recorded(data.call_id, data.cue_id);
      break;
    case "error":
      feedback.refused(data.message);
      break;
    case "call.snapshot":
      snapshot(data);
      break;
    case "call.lost": // the node analysing it stopped: nothing more will come
      if (typeof data.call_id === "string") call(data.call_id).lost = true;
      break;
    default:
      if (typeof data.call_id === "string" && seqs.fresh(data.call_id, data.seq)) event(data);
      else return;
  }
  render();
}

function snapshot({ call: summary, captions, final }) {
  const c = call(summary.call_id);
  seqs.reset(c.id, summary.seq);
  c.started = summary.started_at;
  c.ended = summary.ended;
  c.lost = Boolean(summary.lost);
  c.duration = summary.duration;
  for (const [id, cue] of c.cues) if (!summary.cues.some((s) => s.cue_id === id)) c.earlier.set(id, cue);
  c.cues = new Map(summary.cues.map((cue) => [cue.cue_id, { ...cue, wall_time: cue.since }]));
  c.triage = summary.triage || null;
  const heard = (captions || []).filter((line) => (line.role || "caller") === "caller");
  c.finals = heard.map((line) => ({ utterance: null, text: line.text, start: line.start, end: line.end }));
  c.partial = null;
  c.clock = captionClock();
  c.load = summary.load || null;
  if (final) c.summary = final; // a call that ended while we were away: its summary
}

function event(e) {
  const c = call(e.call_id);
  if (c.started === null && typeof e.wall_time === "number") c.started = e.wall_time - e.stream_time;
  c.duration = Math.max(c.duration, e.stream_time || 0);
  hear(c.clock, e, c.started);
  const caller = e.role === "caller";
  const line = () => ({ utterance: e.utterance, text: e.text, start: e.start, end: e.end });
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
    case "call.language":
      c.language = e;
      break;
    case "call.triage":
      c.triage = { label: e.label, topic: e.topic };
      break;
    case "call.summary.final":
      c.summary = e;
      break;
    case "engine.degraded":
    case "engine.recovered": // step 0: the service keeps up again
      c.load = e.step > 0 ? e : null;
      break;
    case "transcript.partial":
      if (caller) c.partial = line();
      break;
    case "transcript.final":
      if (!caller) break;
      if (c.partial && c.partial.utterance === e.utterance) c.partial = null;
      // An empty final withdraws the partials of noise (docs/events.md).
      if (e.text) c.finals.push(line());
      if (c.finals.length > FINALS_KEPT) c.finals.splice(0, c.finals.length - FINALS_KEPT);
      break;
    case "cue.raised":
      c.cues.set(e.cue_id, e); // a second one of the same cue_id updates it in place
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

/** True when the panel may be out of date: no news lately, or no link. */
function behind() {
  return link !== "live" && (everLive || link !== "connecting");
}

// -- rendering ----------------------------------------------------------------------

const cards = new Map(); // "call/cue" → active cue card
const earlierItems = new Map(); // "call/cue" → history item

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
      card = cueCard(feedback, c.id, cue);
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
  renderCalm(c, active.length === 0);
}

/** What the cue area says when there is no cue: never that all is well. */
function calmWords(c) {
  if (c && c.lost && !c.ended) {
    return ["ended", "Call lost", "The service analysing this call stopped: no more cues will come for it."];
  }
  if (c && c.ended) {
    return ["ended", "Call ended", "Cues from this call are listed under \u201cEarlier in this call\u201d."];
  }
  if (behind()) {
    return ["stale", "Not up to date", "The panel has no news from the service: cues may be missing."];
  }
  if (!c) return ["none", "No call yet", "Cues for your next call will appear here."];
  if (lagSeconds(c.clock) >= LAG_NOTE) {
    // The words behind the cues are late: "no cue" would claim more than the panel knows.
    return ["stale", "Not up to date", "The transcript is behind the call: cues may come late."];
  }
  return ["none", "No cue right now", "Cues appear here as the call goes on."];
}

function renderCalm(c, shown) {
  const calm = ui.cues.querySelector(".calm");
  if (!shown) {
    if (calm) calm.remove();
    return;
  }
  const [state, head, text] = calmWords(c);
  if (calm && calm.dataset.state === state && calm.dataset.words === head && calm.dataset.text === text) return;
  const fresh = el(
    "div",
    { class: "calm", attrs: { "data-state": state, "data-words": head, "data-text": text } },
    el("p", { class: "cue-head" }, el("span", { class: "icon-box" }, levelIcon(state)), head),
    el("p", { class: "calm-text", text }),
  );
  if (calm) calm.replaceWith(fresh);
  else ui.cues.append(fresh);
}

function renderCaption(c) {
  const shared = share !== "cues";
  ui.caption.hidden = !shared;
  ui.captionOff.hidden = shared;
  setText(ui.captionLag, shared && c && !c.ended ? lagNote(c.clock) : "");
  ui.captionLag.hidden = !ui.captionLag.textContent;
  if (!shared) return;
  const quotes = c ? [...c.cues.values()].flatMap((cue) => cue.quote || []) : [];
  const lines = c ? c.finals.slice(-CAPTION_LINES).map((f) => captionLine(f, "final", quotes)) : [];
  if (c && c.partial && c.partial.text) lines.push(captionLine(c.partial, "partial", quotes));
  if (!lines.length) lines.push(el("p", { class: "note", text: placeholder(c) }));
  const text = lines.map((l) => `${l.className}:${l.innerHTML}`).join("\n");
  if (ui.caption.dataset.text !== text) {
    ui.caption.dataset.text = text;
    ui.caption.replaceChildren(...lines);
  }
}

/** The empty caption's words: "Listening…" only while news arrives. */
function placeholder(c) {
  if (behind()) return "Not receiving captions right now.";
  return c ? "Listening\u2026" : "No call yet.";
}

/** The service is behind (engine.degraded): say what the call gives up, in its words. */
function renderService(c) {
  const note = c && !c.ended && c.load ? c.load.message : "";
  setText(ui.serviceNote, note);
  ui.serviceNote.hidden = !note;
}

/** A caller whose language is not read for words: say the cues come from the voice only. */
function renderLanguage(c) {
  const lang = c && c.language;
  const off = !!lang && lang.text_cues === false;
  ui.language.hidden = !off;
  const words = `Words are not read for this language (${off && lang.language}): cues come from the voice only.`;
  setText(ui.language, off ? words : "");
}

/** After the call: its summary in one glance (shown once the call has ended). */
function renderAfterCall(c) {
  const summary = c && c.ended ? c.summary : null;
  ui.afterCall.hidden = !summary;
  const lines = summary ? summaryLines(summary, feedback.helpful(c.id)) : { call: "", talk: "" };
  setText(ui.afterCallLine, lines.call);
  setText(ui.afterCallTalk, lines.talk);
  ui.afterCallTalk.hidden = !lines.talk;
}

function renderEarlier(c) {
  const items = c ? [...c.earlier.values()].sort((a, b) => b.cue_id - a.cue_id) : [];
  const keep = new Set();
  items.forEach((cue, i) => {
    const key = `${c.id}/${cue.cue_id}`;
    keep.add(key);
    let item = earlierItems.get(key);
    if (!item) {
      item = earlierItem(feedback, c.id, cue);
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
  const triage = c ? triageWords(c.triage) : "";
  setText(ui.callTriage, triage);
  ui.callTriage.dataset.label = c && c.triage ? c.triage.label : "";
  if (!c) {
    setText(ui.callWord, "Waiting for a call");
    setText(ui.callTime, "");
    return;
  }
  setText(ui.callWord, c.ended ? "Call ended" : c.lost ? "Call lost" : "Call in progress");
  const seconds = c.ended || c.started === null ? c.duration : clock.now() - c.started;
  setText(ui.callTime, formatDuration(seconds));
}

const render = frameBatcher(() => {
  const c = current();
  document.body.dataset.link = link;
  renderHeading(c);
  renderService(c);
  renderCues(c);
  renderCaption(c);
  renderLanguage(c);
  renderAfterCall(c);
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
    link = state.state;
    everLive ||= link === "live";
    if (link !== "live" && link !== "connecting" && link !== "stale") feedback.lost();
    render();
  },
  what: "panel",
});

const feedback = new Feedback((message) => subscription.send(message), () => render());

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
