// Shared by the agent panel and the wallboard: the page's fragment parameters,
// the /subscribe connection (backoff, resume bookkeeping, keepalive) and small
// DOM helpers. Protocol: docs/server.md. Text from the server only ever goes
// into textContent, never into HTML.

/** The parameters in the page's #fragment (browsers never send it to a server). */
export function fragment() {
  return Object.fromEntries(new URLSearchParams(location.hash.replace(/^#/, "")));
}

// -- DOM ----------------------------------------------------------------------

const SVG_NS = "http://www.w3.org/2000/svg";

/** An element: `props` has class, text, attrs (attributes) and on (listeners). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  return fill(node, props, children);
}

export function svg(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), { attrs }, children);
}

function fill(node, { class: cls, text, attrs, on } = {}, children = []) {
  if (cls) node.setAttribute("class", cls);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const [name, fn] of Object.entries(on || {})) node.addEventListener(name, fn);
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child);
    }
  }
  return node;
}

/** Set text only when it changed (cheap to call on every update). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Run `render` at most once per animation frame, however many updates arrive. */
export function frameBatcher(render) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  };
}

// -- cues -----------------------------------------------------------------------

/** Urgency levels: the word and an icon shape go with every colour. */
export const LEVELS = {
  high: { word: "High", rank: 3 },
  elevated: { word: "Elevated", rank: 2 },
  notice: { word: "Notice", rank: 1 },
  none: { word: "No cue", rank: 0 },
  ended: { word: "Call ended", rank: 0 },
  lost: { word: "Call lost", rank: 0 }, // its node stopped (a fleet of nodes: docs/fleet.md)
};

/**
 * What each cue kind means, and a short response the agent may use when the
 * cue carries no `suggestion` of its own. `label` introduces the suggestion.
 */
export const CUES = {
  possible_emergency: {
    title: "Possible emergency",
    suggest: "Follow your site\u2019s emergency protocol now.",
    label: "Protocol: ",
  },
  caller_distressed: {
    title: "Caller distressed",
    suggest: "Acknowledge: \u201cI can hear this is really difficult. I\u2019m here to help.\u201d",
  },
  escalating: {
    title: "Distress rising",
    suggest:
      "Slow down and acknowledge: \u201cI understand this is frustrating. Let\u2019s sort it out together.\u201d",
  },
  long_silence: {
    title: "Long silence",
    suggest: "Check in: \u201cAre you still there? Take your time.\u201d",
  },
  overtalk: { title: "Talking over each other", suggest: "Pause and let the caller finish." },
  agent_speaking_fast: {
    title: "Speaking fast",
    suggest: "Slow down and check understanding.",
  },
  caller_confused: {
    title: "Caller may be confused",
    suggest: "Check understanding: \u201cLet me say that another way.\u201d",
  },
  agent_jargon: {
    title: "Jargon",
    suggest: "Say it in plain words.",
    label: "Plain words: ",
  },
};

/** The suggestion to show: the cue's own, else the kind's standard one. */
export function cueSuggestion(cue) {
  return cue.suggestion || (CUES[cue.cue] && CUES[cue.cue].suggest) || "";
}

export function cueTitle(kind) {
  return (CUES[kind] && CUES[kind].title) || String(kind).replaceAll("_", " ");
}

/** A possible emergency first, then the most urgent; among equals the newest first. */
export function byUrgency(a, b) {
  const first = (cue) => (cue.cue === "possible_emergency" ? 1 : 0);
  return first(b) - first(a) || rank(b.level) - rank(a.level) || b.cue_id - a.cue_id;
}

export function rank(level) {
  return (LEVELS[level] || LEVELS.notice).rank;
}

/** An icon whose shape says the level: octagon (high), triangle (elevated), circle (notice). */
export function levelIcon(level) {
  const box = { class: "icon", viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" };
  const mark = (y1, y2, dot) => [
    svg("line", { x1: 12, y1, x2: 12, y2, class: "icon-mark" }),
    svg("circle", { cx: 12, cy: dot, r: 1.4, class: "icon-dot" }),
  ];
  switch (level) {
    case "high":
      return svg(
        "svg",
        box,
        svg("polygon", { points: "8,2 16,2 22,8 22,16 16,22 8,22 2,16 2,8", class: "icon-shape" }),
        ...mark(6.5, 13.5, 17.2),
      );
    case "elevated":
      return svg(
        "svg",
        box,
        svg("polygon", { points: "12,2.5 22.5,21 1.5,21", class: "icon-shape" }),
        ...mark(9, 14.5, 17.8),
      );
    case "notice":
      return svg(
        "svg",
        box,
        svg("circle", { cx: 12, cy: 12, r: 10, class: "icon-shape" }),
        svg("line", { x1: 12, y1: 10.5, x2: 12, y2: 17, class: "icon-mark" }),
        svg("circle", { cx: 12, cy: 7, r: 1.4, class: "icon-dot" }),
      );
    case "lost": // a broken ring: the service that analysed the call is gone
      return svg(
        "svg",
        box,
        svg("path", { d: "M12 3a9 9 0 0 1 9 9M21 12a9 9 0 0 1-9 9M3 12a9 9 0 0 1 9-9", class: "icon-shape" }),
        svg("line", { x1: 12, y1: 8, x2: 12, y2: 13, class: "icon-mark" }),
        svg("circle", { cx: 12, cy: 16.5, r: 1.4, class: "icon-dot" }),
      );
    case "ended":
      return svg(
        "svg",
        box,
        svg("rect", { x: 3, y: 3, width: 18, height: 18, rx: 3, class: "icon-shape" }),
        svg("line", { x1: 8, y1: 12, x2: 16, y2: 12, class: "icon-mark" }),
      );
    default: // no cue: a plain ring, no tick (no cue is no promise that all is well)
      return svg("svg", box, svg("circle", { cx: 12, cy: 12, r: 9, class: "icon-shape" }));
  }
}

// -- time -----------------------------------------------------------------------

/** 84.2 → "1:24"; 3725 → "1:02:05". */
/** A call.triage's label and topic in words: "Sensitive · bad news"; "" before any. */
export function triageWords(triage) {
  if (!triage) return "";
  const label = triage.label === "sensitive" ? "Sensitive" : "Routine";
  return `${label} \u00b7 ${triage.topic.replaceAll("_", " ")}`;
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Unix seconds → local "hh:mm:ss". */
export function formatClock(unix) {
  const d = new Date(unix * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
}

// -- resume bookkeeping -----------------------------------------------------------

/** The highest `seq` seen per call: drops replays, and is what `resume` sends back. */
export class Sequences {
  constructor() {
    this.last = new Map();
  }

  /** True the first time a (call, seq) is seen; false for a duplicate or an older one. */
  fresh(callId, seq) {
    if (typeof seq !== "number") return true; // not a per-call event
    if (seq <= (this.last.get(callId) || 0)) return false;
    this.last.set(callId, seq);
    return true;
  }

  /** A snapshot stands for every event up to `seq`. */
  reset(callId, seq) {
    this.last.set(callId, seq);
  }

  resume() {
    return Object.fromEntries(this.last);
  }
}

// -- the connection -----------------------------------------------------------------

// Close codes after which trying again cannot help (docs/server.md, "Errors").
const FATAL = new Set([1003, 1008, 1009, 4001, 4003, 4004]);
const FIRST_DELAY = 0.5; // seconds; doubles per failed try
const MAX_DELAY = 15;
const PING_EVERY = 20; // seconds; the reply also gives the server's clock
const SILENT_LIMIT = 50; // seconds without any message: the link is dead, reconnect
const SETTLED = 10; // seconds live before a drop counts as a fresh start (backoff from the top)
const STALE_AFTER = 10; // seconds without any message: stale (2 x the server's keepalive when it says)

/** Server clock minus ours, in seconds, from the last `pong` or `keepalive` (0 until then). */
export const clock = { skew: 0, now: () => Date.now() / 1000 + clock.skew };

/**
 * One subscription to /subscribe that reconnects with backoff.
 *
 * `hello()` builds the subscribe message at each (re)connect, so it carries the
 * latest `resume`. `onMessage(data)` gets every message but `pong` and
 * `keepalive`; `onState({state, text})` gets "connecting", "live", "stale" (live,
 * but no message for a while: the page may be out of date), "waiting" (a retry
 * is due), "failed" (trying again cannot help) and "closed". `what` names the
 * page in the stale text ("the panel may be out of date").
 */
export class Subscription {
  constructor({ hello, onMessage, onState, what = "page" }) {
    this.hello = hello;
    this.onMessage = onMessage;
    this.onState = onState;
    this.what = what;
    this.state = "closed";
    this.ws = null;
    this.tries = 0;
    this.stopped = false;
    this.timers = [];
    this.lastError = null;
    this.heard = 0;
    this.liveSince = 0;
    this.staleAfter = STALE_AFTER;
  }

  /** Tell the page, and remember what it was told. */
  setState(state, text) {
    this.state = state;
    this.onState({ state, text });
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  /** Close for good (no retry). */
  close() {
    this.stopped = true;
    this.clearTimers();
    if (this.ws) this.ws.close(1000, "closed by the page");
    this.ws = null;
    this.setState("closed", "Closed");
  }

  /** Send a JSON message; false when not connected. */
  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  connect() {
    this.clearTimers();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/subscribe`);
    this.ws = ws;
    this.lastError = null;
    this.setState("connecting", this.tries ? "Reconnecting\u2026" : "Connecting\u2026");
    ws.addEventListener("open", () => {
      this.heard = Date.now();
      ws.send(JSON.stringify(this.hello()));
    });
    ws.addEventListener("message", (e) => this.received(ws, e.data));
    ws.addEventListener("close", (e) => this.closed(ws, e));
  }

  received(ws, text) {
    if (ws !== this.ws) return;
    this.heard = Date.now();
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      return; // not ours to understand
    }
    if (!data || typeof data !== "object") return;
    if (this.state === "stale") this.setState("live", "Live"); // news again
    if (data.type === "pong" || data.type === "keepalive") {
      if (typeof data.server_time === "number") clock.skew = data.server_time - Date.now() / 1000;
      return;
    }
    if (data.type === "subscribed") {
      this.liveSince = Date.now();
      if (typeof data.keepalive === "number" && data.keepalive > 0) this.staleAfter = 2 * data.keepalive;
      this.setState("live", "Live");
      this.keepAlive(ws);
    } else if (data.type === "error") {
      this.lastError = data;
    }
    this.onMessage(data);
  }

  keepAlive(ws) {
    this.send({ type: "ping" });
    this.timers.push(
      setInterval(() => {
        if (ws !== this.ws) return;
        if (Date.now() - this.heard > SILENT_LIMIT * 1000) {
          ws.close(4000, "no message for too long");
          this.closed(ws, { code: 1006, reason: "the connection went quiet" });
          return;
        }
        this.send({ type: "ping" });
      }, PING_EVERY * 1000),
      setInterval(() => this.checkNews(ws), 1000),
    );
  }

  /** "Live" only while news arrives: after `staleAfter` s of silence, say how long. */
  checkNews(ws) {
    if (ws !== this.ws || (this.state !== "live" && this.state !== "stale")) return;
    const quiet = (Date.now() - this.heard) / 1000;
    if (quiet < this.staleAfter) return;
    // In steps of half the limit (5 s by default): a status region that changed every
    // second would keep a screen reader talking.
    const step = this.staleAfter / 2;
    const seconds = Math.round(Math.floor(quiet / step) * step);
    const text = `No news for ${seconds} s \u2014 the ${this.what} may be out of date`;
    if (this.state !== "stale" || text !== this.staleText) this.setState("stale", text);
    this.staleText = text;
  }

  closed(ws, event) {
    if (ws !== this.ws || this.stopped) return;
    this.ws = null;
    this.clearTimers();
    // A link that drops right after subscribing (e.g. closed as too slow, 1013)
    // keeps backing off; one that was up for a while starts again from the shortest delay.
    if (this.liveSince && Date.now() - this.liveSince > SETTLED * 1000) this.tries = 0;
    this.liveSince = 0;
    const why = (this.lastError && this.lastError.message) || event.reason || "";
    if (FATAL.has(event.code)) {
      this.setState("failed", why ? `Not connected: ${why}` : "Not connected");
      return;
    }
    const delay = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** this.tries) * (0.8 + 0.4 * Math.random());
    this.tries += 1;
    this.setState("waiting", `Connection lost${why ? ` (${why})` : ""}: retrying in ${Math.ceil(delay)} s`);
    this.timers.push(setTimeout(() => this.connect(), delay * 1000));
  }

  clearTimers() {
    for (const t of this.timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.timers = [];
  }
}

/** Show a connection state in `node` (a role=status element). */
export function showState(node, { state, text }) {
  node.dataset.state = state;
  setText(node, text);
}
