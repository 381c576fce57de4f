// The supervisor wallboard: a tile per call, most in need first, an alert list,
// and one call's live detail. Subscribes with view "wallboard"; the detail pane
// opens a second subscription with view "call" (docs/server.md).
//
// Stays smooth with many calls: messages only update state; the DOM is updated
// once per animation frame, tiles in place by call id, and the grid is only
// reordered when the order changed.

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

const params = fragment();
const $ = (id) => document.getElementById(id);
const ui = {
  scope: $("scope"),
  counts: $("counts"),
  serviceNote: $("service-note"),
  conn: $("conn"),
  tiles: $("tiles"),
  noCalls: $("no-calls"),
  alerts: $("alerts"),
  noAlerts: $("no-alerts"),
  detail: $("detail"),
  detailHeading: $("detail-heading"),
  detailClose: $("detail-close"),
  detailConn: $("detail-conn"),
  detailCues: $("detail-cues"),
  detailOff: $("detail-off"),
  detailLog: $("detail-log"),
  detailPartial: $("detail-partial"),
};

let share = "transcripts";
const calls = new Map(); // call id → {summary, first (arrival order), view}
const gone = []; // tiles of calls removed since the last frame
let arrivals = 0;
let reorder = true;
let stale = new Set(); // call ids not refreshed since the last (re)subscribe
let sweepTimer = null;
const alerts = new Map(); // "call/cue/seq" → alert

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
        c = { summary: s, first: arrivals++, view: null };
        calls.set(s.call_id, c);
        reorder = true;
      } else {
        if (c.summary.need !== s.need || c.summary.ended !== s.ended || c.summary.lost !== s.lost) {
          reorder = true;
        }
        c.summary = s;
      }
      c.dirty = true;
      stale.delete(s.call_id);
      break;
    }
    case "call.removed":
      remove(data.call_id);
      break;
    case "alert": {
      const key = `${data.call_id}/${data.cue_id}/${data.seq}`;
      if (alerts.has(key)) return;
      alerts.set(key, data);
      break;
    }
    default:
      return;
  }
  draw();
}

function remove(id) {
  const c = calls.get(id);
  if (c) {
    calls.delete(id);
    if (c.view) gone.push(c.view.node);
    reorder = true;
  }
  if (detail && detail.callId === id) setText(ui.detailConn, "This call is no longer on the board.");
}

/** Most in need first; ended and lost calls last; ties keep their arrival order. */
function byNeed(a, b) {
  const over = (s) => Number(Boolean(s.ended || s.lost));
  return (
    over(a.summary) - over(b.summary) ||
    b.summary.need - a.summary.need ||
    a.first - b.first
  );
}

// -- tiles ------------------------------------------------------------------------------

function levelOf(s) {
  if (s.lost) return "lost"; // its node stopped beating: no news will come
  if (s.ended) return "ended";
  if (s.level) return s.level;
  return s.cues.length ? "notice" : "none";
}

function levelWords(level) {
  if (level === "high" || level === "elevated") return `${LEVELS[level].word} distress`;
  return LEVELS[level].word;
}

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

function tileView(id) {
  const agent = el("span", { class: "tile-agent" });
  const team = el("span", { class: "tile-team" });
  const duration = el("span", { class: "tile-duration" });
  const icon = el("span", { class: "icon-box" });
  const word = el("span", { class: "level-word" });
  const line = svg("polyline", { class: "spark-line", points: "", "vector-effect": "non-scaling-stroke" });
  const y = SPARK_H - 2 - RAISE_AT * (SPARK_H - 4);
  const spark = svg(
    "svg",
    {
      class: "spark",
      viewBox: `0 0 ${SPARK_W} ${SPARK_H}`,
      preserveAspectRatio: "none",
      "aria-hidden": "true",
      focusable: "false",
    },
    svg("line", { class: "spark-threshold", x1: 0, y1: y, x2: SPARK_W, y2: y, "vector-effect": "non-scaling-stroke" }),
    line,
  );
  const chips = el("span", { class: "chips" });
  const triage = el("span", { class: "tile-triage" });
  const load = el("span", { class: "tile-load" });
  const node = el(
    "button",
    {
      class: "tile",
      attrs: { type: "button", "data-call-id": id, "aria-controls": "detail", "aria-expanded": "false" },
      on: { click: () => openDetail(id) },
    },
    el("span", { class: "tile-head" }, agent, team, duration),
    el("span", { class: "tile-level" }, icon, word),
    triage,
    spark,
    chips,
    load,
  );
  return { node, agent, team, duration, icon, word, line, chips, triage, load, level: "", sparkKey: "", cueKey: "" };
}

function updateTile(c) {
  const s = c.summary;
  const v = c.view;
  const level = levelOf(s);
  setText(v.agent, s.agent_id || "?");
  setText(v.team, s.team || "");
  if (v.agent.title !== v.agent.textContent) v.agent.title = v.agent.textContent;
  if (v.team.title !== v.team.textContent) v.team.title = v.team.textContent;
  if (level !== v.level) {
    v.level = level;
    v.node.dataset.level = level;
    v.icon.replaceChildren(levelIcon(level));
    setText(v.word, levelWords(level));
  }
  const sparkKey = s.spark.join(",");
  if (sparkKey !== v.sparkKey) {
    v.sparkKey = sparkKey;
    v.line.setAttribute("points", sparkPoints(s.spark));
  }
  const cues = [...s.cues].sort(byUrgency);
  const cueKey = cues.map((q) => `${q.cue_id}:${q.level}`).join(",");
  if (cueKey !== v.cueKey) {
    v.cueKey = cueKey;
    v.chips.replaceChildren(
      ...cues.map((q) =>
        el(
          "span",
          { class: "chip", attrs: { "data-level": q.level, title: q.message } },
          el("span", { class: "icon-box" }, levelIcon(q.level)),
          cueTitle(q.cue),
        ),
      ),
    );
  }
  const triage = triageWords(s.triage);
  setText(v.triage, triage);
  v.triage.dataset.label = s.triage ? s.triage.label : "";
  const what = cues.length ? cues.map((q) => cueTitle(q.cue)).join(", ") : "no active cue";
  // The service is behind for this call (engine.degraded): its tile says so.
  const busy = s.load && !s.ended ? s.load.message : "";
  setText(v.load, busy);
  v.load.hidden = !busy;
  v.node.setAttribute(
    "aria-label",
    `Agent ${s.agent_id}, ${s.team || "no team"}: ${levelWords(level)}; ${what}; ` +
      (triage ? `${triage}; ` : "") +
      `voice distress ${trend(s.spark)}.${busy ? ` ${busy}.` : ""} Open live detail.`,
  );
  tickTile(c);
}

function tickTile(c) {
  const s = c.summary;
  const seconds = s.ended || s.lost ? s.duration : clock.now() - s.started_at;
  setText(c.view.duration, formatDuration(seconds));
}

// -- alerts ------------------------------------------------------------------------------

const alertItems = new Map(); // key → li

function drawAlerts() {
  const newest = [...alerts.entries()].sort((a, b) => b[1].time - a[1].time);
  for (const [key] of newest.slice(ALERTS_SHOWN)) alerts.delete(key);
  const shown = newest.slice(0, ALERTS_SHOWN);
  const keep = new Set();
  shown.forEach(([key, a], i) => {
    keep.add(key);
    let li = alertItems.get(key);
    if (!li) {
      li = el(
        "li",
        { class: "alert", attrs: { "data-level": a.level } },
        el("time", { text: formatClock(a.time), attrs: { datetime: new Date(a.time * 1000).toISOString() } }),
        el("span", { class: "icon-box" }, levelIcon(a.level)),
        el("span", { class: "level-word", text: LEVELS[a.level] ? LEVELS[a.level].word : a.level }),
        el("span", { class: "alert-agent", text: a.agent_id }),
        el("span", { class: "alert-message", text: a.message }),
      );
      alertItems.set(key, li);
    }
    const at = ui.alerts.children[i];
    if (at !== li) ui.alerts.insertBefore(li, at || null);
  });
  for (const [key, li] of alertItems) {
    if (!keep.has(key)) {
      alertItems.delete(key);
      li.remove();
    }
  }
  ui.noAlerts.hidden = shown.length > 0;
}

/** Above the tiles: the service is behind for some calls (their summaries' `load`). */
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

let alertsSeen = -1;

const draw = frameBatcher(() => {
  for (const node of gone.splice(0)) node.remove();
  for (const [id, c] of calls) {
    if (!c.view) c.view = tileView(id);
    if (c.dirty) {
      c.dirty = false;
      updateTile(c);
    }
  }
  if (reorder) {
    reorder = false;
    const focused = document.activeElement;
    [...calls.values()].sort(byNeed).forEach((c, i) => {
      const at = ui.tiles.children[i];
      if (at !== c.view.node) ui.tiles.insertBefore(c.view.node, at || null);
    });
    // Moving a node drops its focus: give it back, so reordering never steals the keyboard.
    if (focused && focused !== document.activeElement && focused.isConnected) {
      focused.focus({ preventScroll: true });
    }
  }
  const active = [...calls.values()].filter((c) => !c.summary.ended && !c.summary.lost);
  const needy = active.filter((c) => c.summary.level).length;
  setText(
    ui.counts,
    `${active.length} active call${active.length === 1 ? "" : "s"} \u00b7 ${needy} with a distress cue`,
  );
  ui.noCalls.hidden = calls.size > 0;
  drawServiceNote(active);
  if (alerts.size !== alertsSeen) {
    alertsSeen = alerts.size;
    drawAlerts();
  }
});

// -- the detail pane: one call, live -------------------------------------------------------

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
  ui.detailHeading.focus();
}

function closeDetail({ restoreFocus = true } = {}) {
  if (!detail) return;
  const { sub, returnTo } = detail;
  detail = null;
  sub.close();
  ui.detail.hidden = true;
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
    default:
      return; // readings: the tile shows their trend
  }
  drawDetail();
}

const drawDetail = frameBatcher(() => {
  const d = detail;
  if (!d) return;
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
  for (const c of calls.values()) if (c.view && !c.summary.ended && !c.summary.lost) tickTile(c);
}, 1000);
draw();
