// The supervisor wallboard for a floor of 50–200 calls (issue 17): a needs-attention
// strip on top, then a compact row per call grouped by team, an alert list that is
// never covered, and one call's live detail in a pane of its own. Subscribes with
// view "wallboard"; the detail pane opens a second subscription with view "call"
// (docs/server.md).
//
// Calm at a glance: a row moves only when its call's attention level changes (or the
// call ends): rows sort by level, then by how long the call has been at it; calm
// calls keep their arrival order. Readings never move a row. Messages only update
// state; the DOM is updated once per animation frame, rows in place by call id.

import {
  LEVELS,
  Sequences,
  Subscription,
  byUrgency,
  clock,
  cueTitle,
  el,
  formatClock,
  formatDuration,
  fragment,
  frameBatcher,
  levelIcon,
  rank,
  setText,
  showState,
  svg,
  triageWords,
} from "./common.js";

const ALERTS_SHOWN = 100;
const LOG_LINES = 300; // detail lines kept
const SWEEP_AFTER = 3000; // ms after a (re)subscribe: tiles not refreshed by then are gone
const SPARK_W = 90; // one point per 2 s of call: three minutes (edge/server/summary.py)
const SPARK_H = 24;
const SPARK_MIN_SPAN = 30; // points
const RAISE_AT = 0.6; // the distress cue's threshold, drawn on the sparkline
const HANDOFF_WORDS = {
  asked_for_person: "asked for a person",
  distressed: "caller distressed",
  sensitive: "sensitive call",
  bot_failing: "the automated side is not understanding",
};

const params = fragment();
const $ = (id) => document.getElementById(id);
const ui = {
  scope: $("scope"),
  counts: $("counts"),
  serviceNote: $("service-note"),
  conn: $("conn"),
  attention: $("attention"),
  noAttention: $("no-attention"),
  teams: $("teams"),
  noCalls: $("no-calls"),
  alerts: $("alerts"),
  alertsOpen: $("alerts-open"),
  noAlerts: $("no-alerts"),
  detail: $("detail"),
  detailHeading: $("detail-heading"),
  detailClose: $("detail-close"),
  detailConn: $("detail-conn"),
  detailState: $("detail-state"),
  detailTriage: $("detail-triage"),
  detailHandoff: $("detail-handoff"),
  detailCues: $("detail-cues"),
  detailOff: $("detail-off"),
  detailLog: $("detail-log"),
  detailPartial: $("detail-partial"),
};

let share = "transcripts";
const calls = new Map(); // call id → {summary, first (arrival order), view, key}
const gone = []; // rows of calls removed since the last frame
let arrivals = 0;
let reorder = true;
let stale = new Set(); // call ids not refreshed since the last (re)subscribe
let sweepTimer = null;
const alerts = new Map(); // "call/cue" → the alert (one per cue: a rise updates it)
let alertsChanged = true;

// -- the board's state ------------------------------------------------------------

function handle(data) {
  switch (data.type) {
    case "subscribed":
      share = data.share || "transcripts";
      setText(ui.scope, data.teams && data.teams.length ? `Teams: ${data.teams.join(", ")}` : "All teams");
      // A (re)connect starts with a fresh summary of every call, then
      // wallboard.synced lists them: a call that went while we were away gets
      // no call.removed. (The timer is a fallback for an older server.)
      stale = new Set(calls.keys());
      clearTimeout(sweepTimer);
      sweepTimer = setTimeout(() => {
        for (const id of stale) remove(id);
        stale.clear();
        draw();
      }, SWEEP_AFTER);
      break;
    case "wallboard.synced": {
      clearTimeout(sweepTimer);
      const listed = new Set(data.calls || []);
      for (const id of [...calls.keys()]) if (!listed.has(id)) remove(id);
      stale.clear();
      break;
    }
    case "call.summary": {
      const s = data.call;
      let c = calls.get(s.call_id);
      if (!c) {
        c = { summary: s, first: arrivals++, view: null, key: "" };
        calls.set(s.call_id, c);
        alertsChanged = true; // its alerts' "Show call" buttons
      }
      c.summary = s;
      // Only what the order rests on reorders: never a reading.
      const handoffs = (s.handoffs || []).length; // a hand-off puts the call on the strip
      const key = `${s.team}|${attentionOf(s)}|${s.attention_since}|${s.ended}|${s.lost}|${handoffs}`;
      if (key !== c.key) {
        c.key = key;
        reorder = true;
      }
      c.dirty = true;
      stale.delete(s.call_id);
      if (detail && detail.callId === s.call_id) drawDetail();
      break;
    }
    case "call.removed":
      remove(data.call_id);
      break;
    case "alert":
      alerts.set(`${data.call_id}/${data.cue_id}`, data);
      alertsChanged = true;
      break;
    default:
      return;
  }
  draw();
}

function remove(id) {
  const c = calls.get(id);
  if (c) {
    calls.delete(id);
    if (c.view) gone.push(c.view.node.parentElement, c.view.strip);
    reorder = true;
    alertsChanged = true; // their "Show call" buttons
  }
  if (detail && detail.callId === id) setText(ui.detailConn, "This call is no longer on the board.");
}

/** The call's attention level: high or elevated (any cue), else its state. */
function attentionOf(s) {
  if (s.lost) return "lost"; // its node stopped beating: no news will come
  if (s.ended) return "ended";
  if (s.attention) return s.attention;
  return s.cues.length ? "notice" : "none";
}

function needsAttention(s) {
  return !s.ended && !s.lost && (Boolean(s.attention) || (s.handoffs || []).length > 0);
}

/**
 * Level first (high, elevated, the rest alike), then longest at that level; calm
 * calls keep their arrival order; ended and lost calls go last.
 */
function byLevel(a, b) {
  const over = (s) => Number(Boolean(s.ended || s.lost));
  const level = (s) => (s.attention && !s.ended && !s.lost ? rank(s.attention) : 0);
  return (
    over(a.summary) - over(b.summary) ||
    level(b.summary) - level(a.summary) ||
    (a.summary.attention_since || 0) - (b.summary.attention_since || 0) ||
    a.first - b.first
  );
}

// -- rows ------------------------------------------------------------------------------

function trend(spark) {
  if (spark.length < 4) return "steady";
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const recent = mean(spark.slice(-3));
  const before = mean(spark.slice(-8, -3));
  if (recent - before > 0.1) return "rising";
  if (before - recent > 0.1) return "falling";
  return "steady";
}

function sparkPoints(spark) {
  // The newest point at the right edge; a young call's few points spread over a
  // third of the width at least, a full three minutes over all of it.
  const step = SPARK_W / Math.max(spark.length - 1, SPARK_MIN_SPAN);
  const last = spark.length - 1;
  return spark
    .map((v, i) => {
      const y = SPARK_H - 2 - Math.min(1, Math.max(0, v)) * (SPARK_H - 4);
      return `${(SPARK_W - (last - i) * step).toFixed(1)},${y.toFixed(1)}`;
    })
    .join(" ");
}

/** "High · 1:12 · breathing trouble"; "Hand-off · asked for a person"; "3:05" for a calm call. */
function stateWords(s) {
  const level = attentionOf(s);
  if (level === "high" || level === "elevated") {
    const held = formatDuration(clock.now() - (s.attention_since || clock.now()));
    return [LEVELS[level].word, held, s.why].filter(Boolean).join(" \u00b7 ");
  }
  if (level === "ended" && s.final) return `${LEVELS.ended.word} \u00b7 ${finalWords(s.final)}`;
  if (level === "ended" || level === "lost") return `${LEVELS[level].word} \u00b7 ${formatDuration(s.duration)}`;
  const handoff = (s.handoffs || []).length ? `Hand-off \u00b7 ${handoffWords(s.handoffs)}` : "";
  return handoff || (level === "notice" ? cueTitle([...s.cues].sort(byUrgency)[0].cue) : "Calm");
}

function handoffWords(reasons) {
  return reasons.map((r) => HANDOFF_WORDS[r] || r.replaceAll("_", " ")).join(", ");
}

function callLength(s) {
  return formatDuration(s.ended || s.lost ? s.duration : clock.now() - s.started_at);
}

function rowView(id) {
  const icon = el("span", { class: "icon-box" });
  const agent = el("span", { class: "tile-agent" });
  const state = el("span", { class: "tile-state" });
  const triage = el("span", { class: "tile-triage" });
  const duration = el("span", { class: "tile-duration" });
  const load = el("span", { class: "tile-load" }); // the service is behind for this call
  const line = svg("polyline", { class: "spark-line", points: "", "vector-effect": "non-scaling-stroke" });
  const y = SPARK_H - 2 - RAISE_AT * (SPARK_H - 4);
  const spark = svg(
    "svg",
    { class: "spark", viewBox: `0 0 ${SPARK_W} ${SPARK_H}`, preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" },
    svg("line", { class: "spark-threshold", x1: 0, y1: y, x2: SPARK_W, y2: y, "vector-effect": "non-scaling-stroke" }),
    line,
  );
  // The trend in words, for a screen reader: the sparkline is a picture.
  const trendWords = el("span", { class: "visually-hidden" });
  const node = el(
    "button",
    {
      class: "tile",
      attrs: { type: "button", "data-call-id": id, "aria-controls": "detail", "aria-expanded": "false" },
      on: { click: () => openDetail(id) },
    },
    icon,
    agent,
    state,
    triage,
    spark,
    trendWords,
    duration,
    load,
  );
  // The same call on the needs-attention strip (shown only while it needs it).
  const stripAgent = el("span", { class: "tile-agent" });
  const stripTeam = el("span", { class: "tile-team" });
  const stripState = el("span", { class: "tile-state" });
  const stripIcon = el("span", { class: "icon-box" });
  const stripButton = el(
    "button",
    {
      class: "tile strip-tile",
      attrs: { type: "button", "data-call-id": id, "aria-controls": "detail" },
      on: { click: () => openDetail(id) },
    },
    stripIcon,
    stripAgent,
    stripTeam,
    stripState,
  );
  const strip = el("li", {}, stripButton);
  const v = { node, icon, agent, state, triage, duration, load, line, trendWords, strip, stripButton };
  Object.assign(v, { stripAgent, stripTeam, stripState, stripIcon, level: "", sparkKey: "" });
  return v;
}

/** The level a row is drawn at: a hand-off asks for a person, as an elevated cue does. */
function shownLevel(s) {
  const level = attentionOf(s);
  return (level === "none" || level === "notice") && (s.handoffs || []).length ? "elevated" : level;
}

function updateRow(c) {
  const s = c.summary;
  const v = c.view;
  const level = shownLevel(s);
  if (level !== v.level) {
    v.level = level;
    v.node.dataset.level = level;
    v.stripButton.dataset.level = level;
    v.icon.replaceChildren(levelIcon(level));
    v.stripIcon.replaceChildren(levelIcon(level));
  }
  setText(v.agent, s.agent_id || "?");
  setText(v.stripAgent, s.agent_id || "?");
  setText(v.stripTeam, s.team || "no team");
  const triage = triageWords(s.triage);
  setText(v.triage, triage);
  v.triage.dataset.label = s.triage ? s.triage.label : "";
  const sparkKey = s.spark.join(",");
  if (sparkKey !== v.sparkKey) {
    v.sparkKey = sparkKey;
    v.line.setAttribute("points", sparkPoints(s.spark));
    setText(v.trendWords, `voice distress ${trend(s.spark)}`);
  }
  // The service is behind for this call (engine.degraded): its row says so.
  const busy = s.load && !s.ended ? s.load.message : "";
  setText(v.load, busy);
  v.load.hidden = !busy;
  tickRow(c);
}

/** What changes with the clock: time at the level, the call's length. */
function tickRow(c) {
  const s = c.summary;
  const words = stateWords(s);
  setText(c.view.state, words);
  setText(c.view.stripState, words);
  setText(c.view.duration, callLength(s));
}

// -- teams ------------------------------------------------------------------------------

const teams = new Map(); // team → {node, heading, list}

function teamView(team) {
  let t = teams.get(team);
  if (!t) {
    const id = `team-${teams.size}`;
    const heading = el("h3", { class: "team-heading", attrs: { id } });
    const list = el("ul", { class: "rows", attrs: { "aria-labelledby": id } });
    t = { node: el("section", { class: "team", attrs: { "aria-labelledby": id } }, heading, list), heading, list };
    teams.set(team, t);
  }
  return t;
}

function drawTeams() {
  const focused = document.activeElement;
  const byTeam = new Map();
  for (const c of calls.values()) {
    const team = c.summary.team || "no team";
    if (!byTeam.has(team)) byTeam.set(team, []);
    byTeam.get(team).push(c);
  }
  const names = [...byTeam.keys()].sort((a, b) => a.localeCompare(b));
  names.forEach((name, i) => {
    const t = teamView(name);
    const rows = byTeam.get(name).sort(byLevel);
    const needy = rows.filter((c) => needsAttention(c.summary)).length;
    const live = rows.filter((c) => !c.summary.ended && !c.summary.lost).length;
    setText(t.heading, `${name} \u00b7 ${live} call${live === 1 ? "" : "s"}${needy ? ` \u00b7 ${needy} need attention` : ""}`);
    rows.forEach((c, k) => {
      let li = c.view.node.parentElement;
      if (!li) li = el("li", {}, c.view.node);
      const at = t.list.children[k];
      if (at !== li) t.list.insertBefore(li, at || null);
    });
    const at = ui.teams.children[i];
    if (at !== t.node) ui.teams.insertBefore(t.node, at || null);
  });
  for (const [name, t] of teams) {
    if (!byTeam.has(name)) {
      t.node.remove();
      teams.delete(name);
    }
  }
  // The strip: every call that needs attention, across teams, in the same order.
  const needy = [...calls.values()].filter((c) => needsAttention(c.summary)).sort(byLevel);
  needy.forEach((c, i) => {
    const at = ui.attention.children[i];
    if (at !== c.view.strip) ui.attention.insertBefore(c.view.strip, at || null);
  });
  while (ui.attention.children.length > needy.length) ui.attention.lastElementChild.remove();
  ui.noAttention.hidden = needy.length > 0;
  // Moving a node drops its focus: give it back, so reordering never steals the keyboard.
  if (focused && focused !== document.activeElement && focused.isConnected) {
    focused.focus({ preventScroll: true });
  }
}

// -- alerts ------------------------------------------------------------------------------

const alertItems = new Map(); // key → {li, version}

function acknowledge(a) {
  board.send({ type: "ack", call_id: a.call_id, cue_id: a.cue_id });
}

function alertItem(a) {
  const level = LEVELS[a.level] ? a.level : "notice";
  const seen = a.acked_by
    ? el("p", { class: "alert-acked", text: `Seen by ${a.acked_by} at ${formatClock(a.acked_at)}` })
    : el(
        "button",
        { class: "alert-ack", attrs: { type: "button" }, on: { click: () => acknowledge(a) } },
        "Acknowledge",
        el("span", { class: "visually-hidden", text: ` alert for agent ${a.agent_id}` }),
      );
  const live = calls.has(a.call_id);
  const show = el(
    "button",
    {
      class: "alert-show",
      attrs: { type: "button", "aria-controls": "detail", disabled: live ? null : "disabled" },
      on: { click: () => openDetail(a.call_id) },
    },
    live ? "Show call" : "Call gone",
    el("span", { class: "visually-hidden", text: ` of agent ${a.agent_id}` }),
  );
  return el(
    "li",
    { class: "alert", attrs: { "data-level": level, "data-acked": a.acked_by ? "true" : "false", "data-call-id": a.call_id } },
    el("time", { text: formatClock(a.time), attrs: { datetime: new Date(a.time * 1000).toISOString() } }),
    el("span", { class: "icon-box" }, levelIcon(level)),
    el("span", { class: "level-word", text: LEVELS[level].word }),
    el("span", { class: "alert-agent", text: `${a.agent_id} \u00b7 ${a.team || "no team"}` }),
    el("span", { class: "alert-message", text: a.message }),
    el("span", { class: "alert-actions" }, show, seen),
  );
}

function drawAlerts() {
  const newest = [...alerts.entries()].sort((a, b) => b[1].time - a[1].time);
  for (const [key] of newest.slice(ALERTS_SHOWN)) alerts.delete(key);
  const shown = newest.slice(0, ALERTS_SHOWN);
  const keep = new Set();
  const focused = document.activeElement;
  let refocus = null;
  shown.forEach(([key, a], i) => {
    keep.add(key);
    const version = `${a.level}|${a.seq}|${a.acked_by}|${calls.has(a.call_id)}`;
    let item = alertItems.get(key);
    if (!item || item.version !== version) {
      const li = alertItem(a);
      if (item) {
        if (item.li.contains(focused)) refocus = li;
        item.li.replaceWith(li);
      }
      item = { li, version };
      alertItems.set(key, item);
    }
    const at = ui.alerts.children[i];
    if (at !== item.li) ui.alerts.insertBefore(item.li, at || null);
  });
  for (const [key, item] of alertItems) {
    if (!keep.has(key)) {
      alertItems.delete(key);
      item.li.remove();
    }
  }
  // The acknowledged alert's replacement keeps the keyboard where it was.
  if (refocus) (refocus.querySelector("button:not([disabled])") || refocus.querySelector("button")).focus();
  const open = shown.filter(([, a]) => !a.acked_by).length;
  setText(ui.alertsOpen, shown.length ? `\u00b7 ${open} to acknowledge` : "");
  ui.noAlerts.hidden = shown.length > 0;
}

/** Above the rows: the service is behind for some calls (their summaries' `load`). */
function drawServiceNote(active) {
  const busy = active.filter((c) => c.summary.load).map((c) => c.summary.load);
  let note = "";
  if (busy.length) {
    const worst = busy.reduce((a, b) => (b.step > a.step ? b : a));
    note = `${worst.message} (${busy.length} call${busy.length === 1 ? "" : "s"})`;
  }
  setText(ui.serviceNote, note);
  ui.serviceNote.hidden = !note;
}

// -- one frame ------------------------------------------------------------------------------

const draw = frameBatcher(() => {
  for (const node of gone.splice(0)) if (node) node.remove();
  for (const [id, c] of calls) {
    if (!c.view) c.view = rowView(id);
    if (c.dirty) {
      c.dirty = false;
      updateRow(c);
    }
  }
  if (reorder) {
    reorder = false;
    drawTeams();
  }
  const active = [...calls.values()].filter((c) => !c.summary.ended && !c.summary.lost);
  const needy = active.filter((c) => needsAttention(c.summary)).length;
  setText(ui.counts, `${active.length} active call${active.length === 1 ? "" : "s"} \u00b7 ${needy} need attention`);
  ui.noCalls.hidden = calls.size > 0;
  drawServiceNote(active);
  if (alertsChanged) {
    alertsChanged = false;
    drawAlerts();
  }
});

// -- the detail pane: one call, live, beside the board and the alerts ----------------------

let detail = null;

function openDetail(id) {
  const c = calls.get(id);
  if (!c) return;
  closeDetail({ restoreFocus: false });
  const seqs = new Sequences();
  detail = { callId: id, seqs, returnTo: c.view.node, partials: new Map(), cues: new Map(), sub: null };
  setText(ui.detailHeading, `Agent ${c.summary.agent_id} \u00b7 ${c.summary.team || "no team"}`);
  ui.detailLog.replaceChildren();
  follow = true;
  setText(ui.detailPartial, "");
  ui.detailCues.replaceChildren();
  ui.detailOff.hidden = share !== "cues";
  ui.detail.hidden = false;
  document.body.dataset.detail = "open";
  c.view.node.setAttribute("aria-expanded", "true");
  const mine = detail;
  detail.sub = new Subscription({
    hello: () => {
      const hello = { type: "subscribe", view: "call", call_id: id, resume: seqs.resume() };
      if (params.token) hello.token = params.token;
      return hello;
    },
    onMessage: (data) => detail === mine && detailMessage(data),
    onState: (state) => detail === mine && showState(ui.detailConn, state),
    what: "call detail",
  }).start();
  drawDetail();
  ui.detailHeading.focus();
}

function closeDetail({ restoreFocus = true } = {}) {
  if (!detail) return;
  const { sub, returnTo } = detail;
  detail = null;
  sub.close();
  ui.detail.hidden = true;
  delete document.body.dataset.detail;
  returnTo.setAttribute("aria-expanded", "false");
  if (restoreFocus && returnTo.isConnected) returnTo.focus();
}

// The log follows new lines unless the reader scrolled up to read older ones.
let follow = true;
ui.detailLog.addEventListener("scroll", () => {
  const log = ui.detailLog;
  follow = log.scrollHeight - log.scrollTop - log.clientHeight < 8;
});

function followLog() {
  if (follow) ui.detailLog.scrollTop = ui.detailLog.scrollHeight;
}

function logLine(kind, text, { level = null, at = null } = {}) {
  const li = el(
    "li",
    { class: `line line-${kind}`, attrs: { "data-level": level } },
    at === null ? null : el("span", { class: "at", text: formatDuration(at) }),
    level ? el("span", { class: "icon-box" }, levelIcon(level)) : null,
    el("span", { class: "line-text", text }),
  );
  ui.detailLog.append(li);
  while (ui.detailLog.children.length > LOG_LINES) ui.detailLog.firstElementChild.remove();
}

const WHO = { caller: "Caller", agent: "Agent" };

function detailMessage(data) {
  const d = detail;
  if (data.type === "call.snapshot") {
    d.seqs.reset(d.callId, data.call.seq);
    for (const line of data.captions || []) {
      logLine("caption", `${WHO[line.role || "caller"] || "Speaker"}: ${line.text}`, { at: line.end });
    }
    d.cues = new Map(data.call.cues.map((q) => [q.cue_id, q]));
    if (data.call.ended) logLine("call", "Call ended", { level: "ended" });
    drawDetail();
    return;
  }
  if (data.call_id !== d.callId || !d.seqs.fresh(d.callId, data.seq)) return;
  const at = data.stream_time;
  switch (data.type) {
    case "call.started":
      logLine("call", "Call started", { at });
      break;
    case "call.ended":
      d.partials.clear();
      d.cues.clear();
      logLine("call", `Call ended after ${formatDuration(data.duration)}`, { level: "ended", at });
      break;
    case "transcript.partial":
      d.partials.set(data.role, data.text);
      break;
    case "transcript.final":
      d.partials.delete(data.role);
      if (data.text) logLine("caption", `${WHO[data.role] || "Speaker"}: ${data.text}`, { at });
      break;
    case "cue.raised":
      d.cues.set(data.cue_id, data);
      logLine("cue", `${LEVELS[data.level] ? LEVELS[data.level].word : data.level}: ${data.message}`, {
        level: data.level,
        at,
      });
      break;
    case "cue.cleared":
      d.cues.delete(data.cue_id);
      logLine("cleared", `Cleared: ${cueTitle(data.cue)} (after ${formatDuration(data.duration)})`, { at });
      break;
    case "call.triage":
      logLine("call", `Triage: ${triageWords(data)}`, { at });
      break;
    case "handoff.recommended":
      logLine("cue", `Hand-off recommended: ${data.summary}`, { level: "elevated", at });
      break;
    case "call.summary.final":
      logLine("call", `Summary: ${finalWords(data)}`, { at });
      break;
    default:
      return; // readings: the row shows their trend
  }
  drawDetail();
}

/** call.summary.final in one line: "Routine · refill; distressed for 0:40; calmer at the end". */
function finalWords(f) {
  const parts = [f.triage ? triageWords({ label: f.triage, topic: f.topic || "" }) : "not triaged"];
  if (f.distressed_s) parts.push(`distressed for ${formatDuration(f.distressed_s)}`);
  if (f.calmer_at_end === true) parts.push("calmer at the end");
  if (f.calmer_at_end === false) parts.push("not calmer at the end");
  return parts.join("; ");
}

const drawDetail = frameBatcher(() => {
  const d = detail;
  if (!d) return;
  const c = calls.get(d.callId);
  if (c) {
    const s = c.summary;
    setText(ui.detailState, `${stateWords(s)} \u00b7 call ${callLength(s)}`);
    ui.detailState.dataset.level = attentionOf(s);
    setText(ui.detailTriage, s.triage ? `Triage: ${triageWords(s.triage)}` : "Triage: not yet");
    ui.detailTriage.dataset.label = s.triage ? s.triage.label : "";
    const handoffs = s.handoffs || [];
    setText(ui.detailHandoff, handoffs.length ? `Hand-off recommended: ${handoffWords(handoffs)}` : "");
    ui.detailHandoff.hidden = !handoffs.length;
  }
  const cues = [...d.cues.values()].sort(byUrgency);
  ui.detailCues.replaceChildren(
    ...cues.map((q) =>
      el(
        "p",
        { class: "chip", attrs: { "data-level": q.level } },
        el("span", { class: "icon-box" }, levelIcon(q.level)),
        `${LEVELS[q.level] ? LEVELS[q.level].word : q.level}: ${q.message}`,
      ),
    ),
  );
  const partial = [...d.partials.entries()].map(([role, text]) => `${WHO[role] || "Speaker"}: ${text}`);
  setText(ui.detailPartial, partial.join("  "));
  followLog(); // lines and cue chips above change the log's height
});

ui.detailClose.addEventListener("click", () => closeDetail());
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && detail) closeDetail();
});

// -- start ------------------------------------------------------------------------------

const board = new Subscription({
  hello: () => {
    const hello = { type: "subscribe", view: "wallboard" };
    if (params.token) hello.token = params.token;
    if (params.teams) hello.teams = params.teams.split(",").filter(Boolean);
    return hello;
  },
  onMessage: handle,
  onState: (state) => showState(ui.conn, state),
  what: "board",
});

window.addEventListener("hashchange", () => location.reload());
board.start();
setInterval(() => {
  for (const c of calls.values()) if (c.view && !c.summary.ended && !c.summary.lost) tickRow(c);
  if (detail) drawDetail();
}, 1000);
draw();
