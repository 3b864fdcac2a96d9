// The operator's dashboard: the waiting queue, my sessions and the open conversation.
//
// The server is the source of truth. Events over the websocket only speed up what a
// snapshot would show anyway, and the channel layer may drop them, so the page asks for a
// fresh snapshot on every (re)connect and every RESYNC_MS.
/* global gettext, ngettext */

import { postJson } from "./api.js";
import * as alarms from "./alarms.js";
import * as checkins from "./checkins.js";
import { clockTime, fmt, h, setText } from "./dom.js";
import * as plan from "./plan.js";

const RESYNC_MS = 20_000;
const SILENT_SOCKET_MS = 45_000;
const MAX_BACKOFF_MS = 15_000;
const LONG_WAIT_MS = 2 * 60_000;
const REMINDER_MS = 2 * 60_000;
const NEW_HIGHLIGHT_MS = 15_000;
const MIN_CHIME_GAP_MS = 3_000;
const ALARM_REPEAT_MS = 4_000;
const OVERDUE_GRACE_MS = 1_500;
const OVERDUE_FIRST_GAP_MS = 2_000;
const MAX_REPLY_CHARS = 1600;
const THEME_KEY = "nors-theme";
const SOUND_KEY = "nors-sound";

const root = document.getElementById("dashboard");
const $ = (id) => document.getElementById(id);
const isSupervisor = root.dataset.supervisor === "true";
const baseTitle = document.title;

const state = {
  me: null,
  operators: [],
  queue: new Map(),
  mine: new Map(),
  open: null, // {id, summary, messages: Map, loaded, phone}
  hadSnapshot: false,
  seenQueue: new Set(), // ids this page has already alerted about
  released: new Set(), // ids this operator just put back: no alert for those
  highlight: new Map(), // id -> ms of focused time the highlight has been seen
  lastSeen: new Map(), // id -> last_message_at this page has accounted for
  unread: new Set(),
  drafts: new Map(),
  busy: false,
  noticeFor: null, // the session the conversation notice speaks of
};

// ---------------------------------------------------------------------------------------
// Small helpers

function toggleClass(el, name, on) {
  if (el.classList.contains(name) !== Boolean(on)) el.classList.toggle(name, Boolean(on));
}

// Server time minus this browser's time, from the last snapshot: wait counters follow the
// server's clock even when the operator's computer is off by a few minutes.
let clockOffsetMs = 0;

function serverNow() {
  return Date.now() + clockOffsetMs;
}

function since(iso) {
  return iso ? Math.max(0, serverNow() - Date.parse(iso)) : 0;
}

function duration(ms) {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return gettext("less than a minute");
  if (minutes < 60) {
    return fmt(ngettext("%(minutes)s min", "%(minutes)s min", minutes), { minutes });
  }
  return fmt(gettext("%(hours)s h %(minutes)s min"), {
    hours: Math.floor(minutes / 60),
    minutes: minutes % 60,
  });
}

function lastDigits(summary) {
  return (summary.phone_masked || "").replace(/\D/g, "");
}

// The masked number reads as "bullet bullet bullet" to a screen reader; say it plainly.
function numberNode(summary) {
  return h(
    "span",
    { class: "number" },
    h("span", { "aria-hidden": "true", text: summary.phone_masked }),
    h("span", {
      class: "sr-only",
      text: fmt(gettext("Number ending in %(digits)s"), { digits: lastDigits(summary) }),
    }),
  );
}

function languageName(code) {
  if (code === "fr") return gettext("Texts in French");
  if (code === "en") return gettext("Texts in English");
  return fmt(gettext("Texts in %(language)s"), { language: code });
}

function isMine(summary) {
  return (
    summary.status === "active" && summary.operator && state.me && summary.operator.id === state.me.id
  );
}

function visibleToMe(summary) {
  if (summary.status === "waiting" || isSupervisor) return true;
  return Boolean(summary.operator && state.me && summary.operator.id === state.me.id);
}

function announce(text) {
  const el = $("announcer");
  el.textContent = "";
  // A fresh text node makes screen readers speak a repeated sentence again.
  window.setTimeout(() => (el.textContent = text), 50);
}

// ---------------------------------------------------------------------------------------
// Sound: a soft chime made with Web Audio. Browsers only allow sound after a user gesture.

const sound = {
  on: localStorage.getItem(SOUND_KEY) !== "off",
  ctx: null,
  last: 0,
};

function unlockAudio() {
  if (!sound.ctx) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    sound.ctx = new Context();
  }
  if (sound.ctx.state === "suspended") {
    sound.ctx.resume().then(renderSoundHint, renderSoundHint);
  }
  renderSoundHint();
}

function audioReady() {
  return sound.ctx !== null && sound.ctx.state === "running";
}

function renderSoundHint() {
  $("sound-hint").hidden = !sound.on || audioReady();
  const toggle = $("sound-toggle");
  toggle.setAttribute("aria-pressed", String(sound.on));
}

function chime(kind) {
  if (!sound.on) return;
  if (!audioReady()) {
    renderSoundHint();
    return;
  }
  const now = performance.now();
  if (now - sound.last < MIN_CHIME_GAP_MS) return;
  sound.last = now;
  // Two rising notes for someone waiting; one lower note for a new text.
  const notes = kind === "waiting" ? [587.33, 880] : [523.25];
  const ctx = sound.ctx;
  const start = ctx.currentTime + 0.02;
  notes.forEach((frequency, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    const t = start + i * 0.2;
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.15, t + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.6);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.65);
  });
}

// The alarm: harsher and louder than the chimes, and repeated every ALARM_REPEAT_MS for as
// long as an alarm waits to be acknowledged. With sound off, the banner and title still say it.
const alarmSound = { last: 0, nodes: new Set() };

function alarmTone() {
  alarmSound.last = performance.now();
  if (!sound.on) return;
  if (!audioReady()) {
    renderSoundHint();
    return;
  }
  const ctx = sound.ctx;
  const start = ctx.currentTime + 0.02;
  for (let i = 0; i < 6; i += 1) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    const t = start + i * 0.22;
    osc.type = "square";
    osc.frequency.value = i % 2 ? 659.25 : 987.77;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.12, t + 0.02);
    gain.gain.setValueAtTime(0.12, t + 0.16);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.addEventListener("ended", () => alarmSound.nodes.delete(osc));
    alarmSound.nodes.add(osc);
    osc.start(t);
    osc.stop(t + 0.21);
  }
}

function alarmSilence() {
  for (const osc of alarmSound.nodes) {
    try {
      osc.stop();
    } catch {
      // Already stopped.
    }
  }
  alarmSound.nodes.clear();
}

function alarmSoundTick() {
  if (!alarms.loudCount()) {
    alarmSound.last = 0;
    if (alarmSound.nodes.size) alarmSilence();
    return;
  }
  if (!alarmSound.last || performance.now() - alarmSound.last >= ALARM_REPEAT_MS) alarmTone();
}

// ---------------------------------------------------------------------------------------
// Theme

function effectiveTheme() {
  const chosen = document.documentElement.dataset.theme;
  if (chosen) return chosen;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function renderTheme() {
  $("theme-toggle").setAttribute("aria-pressed", String(effectiveTheme() === "dark"));
}

function toggleTheme() {
  const next = effectiveTheme() === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem(THEME_KEY, next);
  } catch {
    // Private windows may refuse storage; the choice then lasts for this page only.
  }
  renderTheme();
}

// ---------------------------------------------------------------------------------------
// Connection

const socket = {
  ws: null,
  attempts: 0,
  timer: null,
  lastHeard: 0,
  loggedOut: false,
};

function setConnection(kind, text) {
  const el = $("connection");
  el.dataset.state = kind;
  setText(el.querySelector(".connection-text"), text);
  const link = el.querySelector("a");
  if (kind === "logged-out" && !link) {
    el.append(" ", h("a", { href: root.dataset.loginUrl, text: gettext("Log in") }));
  } else if (kind !== "logged-out" && link) {
    link.remove();
  }
}

function send(payload) {
  if (socket.ws && socket.ws.readyState === WebSocket.OPEN) {
    socket.ws.send(JSON.stringify(payload));
    return true;
  }
  return false;
}

function connect() {
  window.clearTimeout(socket.timer);
  socket.timer = null;
  if (socket.loggedOut) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}${root.dataset.wsPath}`);
  socket.ws = ws;
  ws.addEventListener("open", () => {
    socket.attempts = 0;
    socket.lastHeard = Date.now();
    setConnection("connected", gettext("Connected. Updates are live."));
    // The server forgets what we had open when the socket drops.
    if (state.open) send({ action: "open", session: state.open.id });
  });
  ws.addEventListener("message", (event) => {
    socket.lastHeard = Date.now();
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    handle(data);
  });
  ws.addEventListener("close", () => {
    if (socket.ws !== ws) return;
    socket.ws = null;
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  if (socket.timer || socket.loggedOut) return;
  socket.attempts += 1;
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (socket.attempts - 1));
  const delay = Math.round(base * (0.75 + Math.random() * 0.5));
  if (socket.attempts <= 2) {
    setConnection("reconnecting", gettext("Connection lost. Reconnecting…"));
  } else {
    setConnection(
      "offline",
      gettext("Still not connected. The lists may be out of date. Trying again…"),
    );
    checkLogin();
  }
  socket.timer = window.setTimeout(connect, delay);
}

async function checkLogin() {
  try {
    const response = await fetch(location.pathname, { credentials: "same-origin" });
    const loginPath = new URL(root.dataset.loginUrl, location.href).pathname;
    if (response.redirected && new URL(response.url).pathname === loginPath) {
      socket.loggedOut = true;
      window.clearTimeout(socket.timer);
      setConnection("logged-out", gettext("Your login has ended. Please log in again."));
    }
  } catch {
    // The server is unreachable; keep trying to reconnect.
  }
}

function reconnectNow() {
  if (socket.ws || socket.loggedOut) return;
  socket.attempts = 0;
  connect();
}

// A check-in or alarm step past its time has surely moved on in the database. Its event may
// never come (a dropped event, or no shared channel layer with the worker), so ask for the
// state again soon, backing off to the usual rhythm while it stays overdue.
const overdue = { gap: OVERDUE_FIRST_GAP_MS, last: 0 };

function resyncIfOverdue() {
  const now = serverNow();
  const deadlines = [...state.mine.values()]
    .map((s) => s.monitoring && s.monitoring.next_due_at)
    .filter(Boolean)
    .map((iso) => Date.parse(iso))
    .concat(alarms.pendingDeadlines());
  if (!deadlines.some((at) => now - at >= OVERDUE_GRACE_MS)) {
    overdue.gap = OVERDUE_FIRST_GAP_MS;
    return;
  }
  if (Date.now() - overdue.last < overdue.gap) return;
  if (send({ action: "resync" })) {
    overdue.last = Date.now();
    overdue.gap = Math.min(RESYNC_MS, overdue.gap * 2);
  }
}

let resyncTimer = null;

function resyncSoon() {
  if (resyncTimer) return;
  resyncTimer = window.setTimeout(() => {
    resyncTimer = null;
    send({ action: "resync" });
  }, 500);
}

function keepAlive() {
  if (!socket.ws || socket.ws.readyState !== WebSocket.OPEN) return;
  if (Date.now() - socket.lastHeard > SILENT_SOCKET_MS) {
    // A half-open socket never reports closing by itself.
    socket.ws.close();
    return;
  }
  send({ action: "resync" });
}

// ---------------------------------------------------------------------------------------
// Server messages

function handle(data) {
  switch (data.type) {
    case "snapshot":
      if (data.now) clockOffsetMs = Date.parse(data.now) - Date.now();
      applySnapshot(data);
      break;
    case "session":
      applySession(data.session);
      break;
    case "conversation":
      applyConversation(data);
      break;
    case "message":
      if (state.open && state.open.id === data.session_id) upsertMessage(data.message, false);
      break;
    case "delivery":
      applyDelivery(data);
      break;
    case "alarm":
      // The check-ins that led here changed too, maybe in a process whose events never
      // reach this page: fetch the whole state once the burst of alarm events has passed.
      if (alarms.upsert(data.escalation, { dispatchTask: Boolean(data.dispatch_task) })) resyncSoon();
      break;
    case "dispatch_call":
      alarms.callMoved(data);
      break;
    case "monitoring":
      checkins.detail(data.session_id, data.monitoring);
      alarms.sessionState(data.session_id, data.escalations);
      break;
    case "error":
      if (state.open && (data.session === state.open.id || data.session === undefined)) {
        closeConversation(
          data.error === "not_visible"
            ? gettext("This session is no longer available to you.")
            : gettext("That session could not be opened."),
        );
      }
      break;
    default:
      break;
  }
}

function byWaiting(a, b) {
  return (
    Date.parse(a.waiting_since || a.opened_at) - Date.parse(b.waiting_since || b.opened_at) ||
    a.id - b.id
  );
}

function byClaimed(a, b) {
  return Date.parse(a.claimed_at || a.opened_at) - Date.parse(b.claimed_at || b.opened_at) || a.id - b.id;
}

function applySnapshot(data) {
  const first = !state.hadSnapshot;
  const previousMine = new Set(state.mine.keys());
  state.me = data.me;
  state.operators = data.operators || [];
  state.queue = new Map(data.queue.map((s) => [s.id, s]));
  state.mine = new Map(data.mine.map((s) => [s.id, s]));
  state.hadSnapshot = true;
  // Whatever left the queue unseen (a dropped event) alerts again if it comes back.
  for (const id of state.seenQueue) if (!state.queue.has(id)) state.seenQueue.delete(id);

  const arrived = data.queue.filter((s) => noteWaiting(s, first));
  if (arrived.length) alertWaiting(arrived);
  for (const summary of data.mine) {
    if (!first && !previousMine.has(summary.id)) noteNewMine(summary);
    noteActivity(summary);
    clearNoticeIfMine(summary);
  }
  if (state.open) {
    const fresh = state.queue.get(state.open.id) || state.mine.get(state.open.id);
    if (fresh) state.open.summary = fresh;
  }
  renderLists();
  renderOperators();
  if (first) openFromHash();
  renderConversation();
  alarms.snapshot(data.alarms, data.timers);
}

// True if this waiting session is new to this page and should raise an alert.
function noteWaiting(summary, quietly) {
  if (state.seenQueue.has(summary.id)) return false;
  state.seenQueue.add(summary.id);
  if (state.released.delete(summary.id) || quietly) return false;
  state.highlight.set(summary.id, 0);
  return true;
}

function alertWaiting(sessions) {
  chime("waiting");
  announce(
    fmt(
      ngettext(
        "%(count)s new person is waiting in the queue.",
        "%(count)s new people are waiting in the queue.",
        sessions.length,
      ),
      { count: sessions.length },
    ),
  );
}

// "Already claimed", "now with someone else": stale once the session is this operator's.
function clearNoticeIfMine(summary) {
  if (state.noticeFor !== summary.id || !isMine(summary)) return;
  state.noticeFor = null;
  $("conv-notice").textContent = "";
}

function noteNewMine(summary) {
  if (state.open && state.open.id === summary.id) return;
  state.highlight.set(summary.id, 0);
  state.lastSeen.set(summary.id, summary.last_message_at);
  chime("message");
  announce(gettext("A session was transferred to you."));
}

// Marks a session of mine unread when the client wrote while it was not open.
function noteActivity(summary) {
  const seen = state.lastSeen.get(summary.id);
  if (seen === undefined || (state.open && state.open.id === summary.id)) {
    state.lastSeen.set(summary.id, summary.last_message_at);
    return;
  }
  if (summary.last_message_at && Date.parse(summary.last_message_at) > Date.parse(seen || 0)) {
    state.lastSeen.set(summary.id, summary.last_message_at);
    if (!state.unread.has(summary.id)) {
      state.unread.add(summary.id);
      chime("message");
      announce(
        fmt(gettext("New text from the person with the number ending in %(digits)s."), {
          digits: lastDigits(summary),
        }),
      );
    }
  }
}

function applySession(summary) {
  const wasMine = state.mine.has(summary.id);
  state.queue.delete(summary.id);
  state.mine.delete(summary.id);
  if (summary.status === "waiting") {
    state.queue.set(summary.id, summary);
    if (noteWaiting(summary, false)) alertWaiting([summary]);
  } else {
    // It may come back to the queue later (released): alert again then.
    state.seenQueue.delete(summary.id);
    if (isMine(summary)) {
      state.mine.set(summary.id, summary);
      if (!wasMine && !state.busy) noteNewMine(summary);
      noteActivity(summary);
      clearNoticeIfMine(summary);
    }
  }
  if (state.open && state.open.id === summary.id) {
    state.open.summary = summary;
    if (!visibleToMe(summary)) {
      closeConversation(
        summary.status === "active" && summary.operator
          ? fmt(gettext("This session is now with %(name)s."), { name: summary.operator.name })
          : gettext("This session has ended."),
      );
    }
  }
  renderLists();
  renderConversation();
  alarms.refresh();
}

function applyConversation(data) {
  if (!state.open || state.open.id !== data.session.id) return;
  const open = state.open;
  open.summary = data.session;
  const first = !open.loaded;
  open.loaded = true;
  const log = $("log");
  log.setAttribute("aria-busy", "true");
  for (const message of data.messages) upsertMessage(message, first);
  log.setAttribute("aria-busy", "false");
  if (first) scrollToLatest();
  renderConversation();
}

// ---------------------------------------------------------------------------------------
// Lists

function renderLists() {
  const queue = [...state.queue.values()].sort(byWaiting);
  const mine = [...state.mine.values()].sort(byClaimed);
  renderList($("queue-list"), queue, "queue");
  renderList($("mine-list"), mine, "mine");
  // Until the first snapshot, an empty list would wrongly say that no one is waiting.
  $("queue-loading").hidden = state.hadSnapshot;
  $("mine-loading").hidden = state.hadSnapshot;
  $("queue-empty").hidden = !state.hadSnapshot || queue.length > 0;
  $("mine-empty").hidden = !state.hadSnapshot || mine.length > 0;
  renderCount($("queue-count"), queue.length);
  renderCount($("mine-count"), mine.length);
  const title =
    queue.length > 0
      ? fmt(ngettext("(%(count)s) waiting · %(title)s", "(%(count)s) waiting · %(title)s", queue.length), {
          count: queue.length,
          title: baseTitle,
        })
      : baseTitle;
  document.title = alarms.title(title);
}

function renderCount(el, count) {
  setText(el, String(count));
  el.dataset.count = String(count);
}

function renderList(list, sessions, kind) {
  const existing = new Map([...list.children].map((li) => [Number(li.dataset.id), li]));
  let previous = null;
  for (const summary of sessions) {
    let li = existing.get(summary.id);
    existing.delete(summary.id);
    if (!li) li = createItem(summary);
    updateItem(li, summary, kind);
    const wanted = previous ? previous.nextSibling : list.firstChild;
    if (wanted !== li) list.insertBefore(li, wanted);
    previous = li;
  }
  for (const li of existing.values()) {
    const hadFocus = li.contains(document.activeElement);
    li.remove();
    if (hadFocus) {
      const next = list.querySelector("a") || list.closest("section").querySelector("h2");
      if (next.tagName !== "A") next.setAttribute("tabindex", "-1");
      next.focus();
    }
  }
}

function createItem(summary) {
  const li = h("li", { class: "session-item", "data-id": summary.id });
  const link = h(
    "a",
    { href: `#session-${summary.id}` },
    h("span", { class: "item-number" }, numberNode(summary)),
    h("span", { class: "item-flag" }),
    h("span", { class: "item-line" }, h("span", { class: "item-time" }), " · ", h("span", { class: "item-language" })),
    h(
      "span",
      { class: "item-checkin", hidden: true },
      h("span", { class: "item-checkin-text", "aria-hidden": "true" }),
      h("span", { class: "sr-only item-checkin-spoken" }),
    ),
  );
  li.append(link);
  return li;
}

function updateItem(li, summary, kind) {
  const link = li.firstElementChild;
  const open = state.open && state.open.id === summary.id;
  if (open) link.setAttribute("aria-current", "true");
  else link.removeAttribute("aria-current");
  const highlighted = state.highlight.has(summary.id);
  const unread = state.unread.has(summary.id);
  const longWait = kind === "queue" && since(summary.waiting_since) >= LONG_WAIT_MS;
  toggleClass(li, "is-new", highlighted);
  toggleClass(li, "is-unread", unread);
  toggleClass(li, "is-long-wait", longWait);
  toggleClass(li, "is-open", open);
  let flag = "";
  if (unread) flag = gettext("New text");
  else if (highlighted) flag = kind === "queue" ? gettext("New") : gettext("Transferred to you");
  setText(link.querySelector(".item-flag"), flag);
  setText(link.querySelector(".item-time"), itemTime(summary, kind));
  setText(link.querySelector(".item-language"), languageShort(summary.language));
  updateCheckinBadge(li, summary, kind);
}

// The countdown changes every second on screen; a screen reader gets a steady phrase.
function updateCheckinBadge(li, summary, kind) {
  const flag = kind === "mine" ? alarms.sessionFlag(summary.id) : null;
  const info = kind === "mine" && !flag ? checkins.badge(summary) : null;
  const box = li.querySelector(".item-checkin");
  box.hidden = !flag && !info;
  box.dataset.kind = flag ? flag.kind : info ? info.kind : "";
  setText(box.querySelector(".item-checkin-text"), flag ? flag.text : info ? info.text : "");
  setText(box.querySelector(".item-checkin-spoken"), flag ? flag.text : info ? info.spoken : "");
  toggleClass(li, "is-alarm", flag && flag.kind === "alarm");
}

function languageShort(code) {
  if (code === "fr") return gettext("French");
  if (code === "en") return gettext("English");
  return code;
}

function itemTime(summary, kind) {
  if (kind === "queue") {
    return fmt(gettext("Waiting %(duration)s"), { duration: duration(since(summary.waiting_since)) });
  }
  // What matters for safety is how long the person has been silent, not the operator.
  const quiet = since(summary.last_inbound_at || summary.opened_at);
  if (quiet < 60_000) return gettext("Last heard from just now");
  return fmt(gettext("Last heard from %(duration)s ago"), { duration: duration(quiet) });
}

function renderOperators() {
  const select = $("transfer-to");
  const current = select.value;
  const others = state.operators.filter((op) => !state.me || op.id !== state.me.id);
  select.replaceChildren(
    h("option", { value: "", text: gettext("Choose an operator…") }),
    ...others.map((op) => h("option", { value: String(op.id), text: op.name })),
  );
  if (others.some((op) => String(op.id) === current)) select.value = current;
}

// ---------------------------------------------------------------------------------------
// The open conversation

function openSession(id, { focus = null } = {}) {
  if (!state.open || state.open.id !== id) {
    saveDraft();
    state.open = {
      id,
      summary: state.queue.get(id) || state.mine.get(id) || null,
      messages: new Map(),
      loaded: false,
    };
    state.highlight.delete(id);
    state.unread.delete(id);
    plan.open(id, state.open.summary);
    checkins.open(id, state.open.summary);
    alarms.openChanged(id);
    $("messages").replaceChildren();
    $("conv-notice").textContent = "";
    state.noticeFor = null;
    resetPanels();
    $("reply").value = state.drafts.get(id) || "";
    renderReplyCount();
    send({ action: "open", session: id });
    const hash = `#session-${id}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }
  renderLists();
  renderConversation();
  if (focus) focus();
}

function closeConversation(notice) {
  state.noticeFor = notice && state.open ? state.open.id : null;
  saveDraft();
  plan.close();
  checkins.close();
  state.open = null;
  alarms.openChanged(null);
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  $("messages").replaceChildren();
  resetPanels();
  const hadFocus = $("conv-body").contains(document.activeElement);
  $("conv-notice").textContent = notice || "";
  renderLists();
  renderConversation();
  if (hadFocus) $("conv-placeholder").focus();
}

function resetPanels() {
  $("phone-full").hidden = true;
  $("phone-full").textContent = "";
  $("phone-hide").hidden = true;
  $("phone-form").hidden = true;
  $("phone-show").hidden = false;
  $("phone-reason").value = "";
  $("end-confirm").hidden = true;
  $("outcome").value = "";
  $("transfer-to").value = "";
  setActionMessage("");
  $("jump-latest").hidden = true;
}

function saveDraft() {
  if (!state.open) return;
  const text = $("reply").value;
  if (text.trim()) state.drafts.set(state.open.id, text);
  else state.drafts.delete(state.open.id);
}

function openFromHash() {
  const match = location.hash.match(/^#session-(\d+)$/);
  if (match) openSession(Number(match[1]));
}

function renderConversation() {
  const open = state.open;
  $("conv-placeholder").hidden = Boolean(open);
  $("conv-body").hidden = !open;
  if (!open) return;
  const summary = open.summary;
  if (!summary) {
    setText($("conv-title"), gettext("Loading…"));
    for (const id of ["conv-status", "conv-language", "conv-meta"]) setText($(id), "");
    $("actions").hidden = true;
    $("composer").hidden = true;
    $("read-only").hidden = true;
    return;
  }
  const title = $("conv-title");
  if (title.dataset.session !== String(summary.id)) {
    title.replaceChildren(numberNode(summary));
    title.dataset.session = String(summary.id);
  }
  const mine = isMine(summary);
  plan.update(summary);
  checkins.update(summary);
  const status = $("conv-status");
  status.dataset.status = summary.status;
  setText(status, statusText(summary));
  setText($("conv-language"), languageName(summary.language));
  toggleClass($("conv-language"), "badge-attention", summary.language !== "en");
  setText($("conv-meta"), metaText(summary));

  const waiting = summary.status === "waiting";
  $("actions").hidden = !(waiting || mine);
  $("claim").hidden = !waiting;
  $("claim-hint").hidden = !waiting;
  $("owner-actions").hidden = !mine;
  $("composer").hidden = !mine;
  $("send").setAttribute("aria-disabled", String(state.busy));
  $("phone-row").hidden = !mine;
  if (!mine) $("end-confirm").hidden = true;
  const readOnly = $("read-only");
  readOnly.hidden = waiting || mine;
  setText(readOnly, readOnlyText(summary));
}

// Events are rendered once on the server for every dashboard, whatever its language, so the
// page names delivery states itself.
const DELIVERY_LABELS = {
  queued: gettext("Waiting to send"),
  sending: gettext("Sending"),
  accepted: gettext("Accepted by Twilio"),
  sent: gettext("Sent"),
  delivered: gettext("Delivered"),
  undelivered: gettext("Not delivered"),
  failed: gettext("Failed"),
  unconfirmed: gettext("Not confirmed"),
};

function deliveryLabel(info) {
  return DELIVERY_LABELS[info.status] || info.label;
}

function statusText(summary) {
  if (summary.status === "waiting") return gettext("Waiting");
  if (summary.status === "active" && !summary.operator) return gettext("With an operator");
  if (summary.status === "ended") return gettext("Ended");
  if (isMine(summary)) return gettext("With you");
  if (summary.operator) return fmt(gettext("With %(name)s"), { name: summary.operator.name });
  return summary.status_label;
}

function metaText(summary) {
  const parts = [fmt(gettext("Opened at %(time)s"), { time: clockTime(summary.opened_at) })];
  if (summary.status === "waiting") {
    parts.push(fmt(gettext("Waiting %(duration)s"), { duration: duration(since(summary.waiting_since)) }));
  } else if (summary.status === "active" && isMine(summary)) {
    parts.push(fmt(gettext("With you for %(duration)s"), { duration: duration(since(summary.claimed_at)) }));
  }
  const lastIn = lastInbound();
  if (lastIn && summary.status !== "ended") {
    const quiet = since(lastIn.created_at);
    parts.push(
      quiet < 60_000
        ? gettext("Last text from the person just now")
        : fmt(gettext("Last text from the person %(duration)s ago"), { duration: duration(quiet) }),
    );
  }
  return parts.join(" · ");
}

function lastInbound() {
  if (!state.open) return null;
  let last = null;
  for (const message of state.open.messages.values()) {
    if (message.direction === "in" && (!last || message.created_at > last.created_at)) last = message;
  }
  return last;
}

function readOnlyText(summary) {
  if (summary.status === "ended") {
    const option = summary.outcome && $("outcome").querySelector(`option[value="${CSS.escape(summary.outcome)}"]`);
    return option
      ? fmt(gettext("This session has ended. Outcome: %(outcome)s."), { outcome: option.textContent })
      : gettext("This session has ended.");
  }
  if (summary.operator) {
    return fmt(gettext("This session is with %(name)s. Only they can reply."), {
      name: summary.operator.name,
    });
  }
  return "";
}

// ---------------------------------------------------------------------------------------
// Messages

function nearBottom() {
  const log = $("log");
  return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
}

function scrollToLatest() {
  const log = $("log");
  log.scrollTop = log.scrollHeight;
  $("jump-latest").hidden = true;
}

function upsertMessage(message, quiet) {
  const open = state.open;
  if (!open) return;
  const known = open.messages.has(message.id);
  open.messages.set(message.id, message);
  const list = $("messages");
  const follow = nearBottom();
  let li = list.querySelector(`li[data-id="${message.id}"]`);
  if (!li) {
    li = createMessage(message);
    insertInOrder(list, li, message);
  }
  updateMessage(li, message);
  if (!known && !quiet) {
    if (follow || message.direction === "out") scrollToLatest();
    else $("jump-latest").hidden = false;
    if (message.direction === "in" && (document.hidden || !document.hasFocus())) chime("message");
  }
  if (message.direction === "in") state.lastSeen.set(open.id, message.created_at);
  if (!known) renderConversation();
}

// Twilio reported on a text: the message shown for it takes the new delivery status. One the
// page does not hold yet comes with its status when the conversation is fetched.
function applyDelivery(data) {
  const open = state.open;
  if (!open || open.id !== data.session_id) return;
  for (const message of open.messages.values()) {
    if (message.outbound_id === data.outbound_id) {
      upsertMessage({ ...message, delivery: data.delivery }, true);
      return;
    }
  }
}

function insertInOrder(list, li, message) {
  const key = `${message.created_at}|${String(message.id).padStart(12, "0")}`;
  li.dataset.key = key;
  let before = null;
  for (const other of list.children) {
    if (other.dataset.key > key) {
      before = other;
      break;
    }
  }
  list.insertBefore(li, before);
}

function createMessage(message) {
  const li = h("li", {
    class: `message message-${message.direction === "in" ? "in" : "out"}`,
    "data-id": message.id,
  });
  li.append(
    h("p", { class: "message-meta" }, h("span", { class: "author" }), " ", h("time", { class: "when" })),
    h("div", { class: "bubble" }, h("p", { class: "body" })),
    h("p", { class: "delivery" }),
  );
  return li;
}

function authorText(message) {
  if (message.direction === "in") return gettext("The person");
  if (message.automatic) return gettext("Automatic reply");
  return message.author || gettext("Operator");
}

function updateMessage(li, message) {
  setText(li.querySelector(".author"), authorText(message));
  const when = li.querySelector(".when");
  when.setAttribute("datetime", message.created_at);
  setText(when, clockTime(message.created_at));
  setText(li.querySelector(".body"), message.body);
  // Texts to and from the person are in the session's language, not the page's: a screen
  // reader must pronounce them in it.
  const language = state.open && state.open.summary && state.open.summary.language;
  if (language) li.querySelector(".bubble").setAttribute("lang", language);
  toggleClass(li, "message-auto", message.automatic);
  const delivery = li.querySelector(".delivery");
  const info = message.delivery;
  delivery.hidden = !info;
  toggleClass(li, "message-problem", info && info.problem);
  if (!info) return;
  delivery.dataset.status = info.status;
  const parts = [h("span", { class: "delivery-label", text: deliveryLabel(info) })];
  if (info.problem) {
    parts.unshift(h("span", { class: "delivery-icon", "aria-hidden": "true", text: "⚠" }));
    parts.push(
      " ",
      h("span", {
        class: "delivery-explain",
        text: info.error_code
          ? fmt(gettext("The person may not have received this text (error %(code)s)."), {
              code: info.error_code,
            })
          : gettext("The person may not have received this text."),
      }),
    );
  } else if (info.status === "delivered") {
    parts.unshift(h("span", { class: "delivery-icon", "aria-hidden": "true", text: "✓" }));
  }
  const signature = JSON.stringify(info);
  if (delivery.dataset.signature !== signature) {
    delivery.dataset.signature = signature;
    delivery.replaceChildren(...parts);
  }
}

// ---------------------------------------------------------------------------------------
// Actions

function setActionMessage(text, kind = "info") {
  const el = $("action-message");
  el.dataset.kind = kind;
  setText(el, text);
}

function post(id, action, body = {}) {
  return postJson(`${root.dataset.apiBase}${id}/${action}/`, body);
}

async function withBusy(work) {
  if (state.busy) return;
  state.busy = true;
  root.classList.add("is-busy");
  renderConversation();
  try {
    await work();
  } finally {
    state.busy = false;
    root.classList.remove("is-busy");
    renderConversation();
  }
}

function claim() {
  const open = state.open;
  if (!open || !open.summary || open.summary.status !== "waiting") return;
  const id = open.id;
  withBusy(async () => {
    const result = await post(id, "claim");
    if (result.ok) {
      applySession(result.session);
      announce(gettext("You claimed this session. The person is now with you."));
      $("reply").focus();
    } else if (result.status === 409) {
      closeConversation(gettext("Another operator has already claimed this session."));
      send({ action: "resync" });
    } else {
      setActionMessage(result.error, "error");
    }
  });
}

function release() {
  const id = state.open && state.open.id;
  if (!id) return;
  withBusy(async () => {
    state.released.add(id);
    const result = await post(id, "release");
    if (result.ok) {
      // The session will show in the queue again; this page already knows about it.
      state.seenQueue.add(id);
      state.released.delete(id);
      applySession(result.session);
      closeConversation(gettext("You released the session. The person is back in the waiting queue."));
    } else {
      state.released.delete(id);
      setActionMessage(result.error, "error");
    }
  });
}

function transfer() {
  const id = state.open && state.open.id;
  const select = $("transfer-to");
  if (!id) return;
  if (!select.value) {
    setActionMessage(gettext("Choose an operator to transfer to."), "error");
    select.focus();
    return;
  }
  const name = select.selectedOptions[0].textContent;
  withBusy(async () => {
    const result = await post(id, "transfer", { to: Number(select.value) });
    if (result.ok) {
      closeConversation(fmt(gettext("You transferred the session to %(name)s."), { name }));
      applySession(result.session);
    } else {
      setActionMessage(result.error, "error");
    }
  });
}

function askEnd() {
  const select = $("outcome");
  if (!state.open) return;
  if (!select.value) {
    setActionMessage(gettext("Choose an outcome before ending the session."), "error");
    select.focus();
    return;
  }
  setActionMessage("");
  setText(
    $("end-confirm-text"),
    fmt(
      gettext(
        "End this session with the outcome “%(outcome)s”? The person is not sent a text when a session ends.",
      ),
      { outcome: select.selectedOptions[0].textContent },
    ),
  );
  $("end-confirm").hidden = false;
  $("end-yes").focus();
}

function cancelEnd() {
  $("end-confirm").hidden = true;
  $("end").focus();
}

function confirmEnd() {
  const id = state.open && state.open.id;
  const outcome = $("outcome").value;
  if (!id || !outcome) return;
  withBusy(async () => {
    const result = await post(id, "end", { outcome });
    if (result.ok) {
      state.drafts.delete(id);
      closeConversation(gettext("The session has ended and its outcome is recorded."));
      applySession(result.session);
    } else {
      $("end-confirm").hidden = true;
      setActionMessage(result.error, "error");
    }
  });
}

function sendReply() {
  const open = state.open;
  const textarea = $("reply");
  const body = textarea.value.trim();
  if (!open || state.busy) return;
  if (!body) {
    setActionMessage(gettext("Write a message first."), "error");
    return;
  }
  if ([...body].length > MAX_REPLY_CHARS) {
    setActionMessage(gettext("Messages can be at most 1,600 characters."), "error");
    return;
  }
  const id = open.id;
  withBusy(async () => {
    const result = await post(id, "reply", { body });
    if (result.ok) {
      if (state.open && state.open.id === id) {
        textarea.value = "";
        renderReplyCount();
        setActionMessage("");
        upsertMessage(result.message, false);
      }
      state.drafts.delete(id);
      state.lastSeen.set(id, result.message.created_at);
    } else {
      setActionMessage(result.error, "error");
    }
  });
}

function showPhoneForm() {
  $("phone-show").hidden = true;
  $("phone-form").hidden = false;
  $("phone-reason").focus();
}

function hidePhoneForm() {
  $("phone-form").hidden = true;
  $("phone-show").hidden = false;
  $("phone-show").focus();
}

function revealPhone(event) {
  event.preventDefault();
  const id = state.open && state.open.id;
  if (!id) return;
  const reason = $("phone-reason").value.trim();
  if (!reason) {
    // Spaces pass the required attribute; the server refuses them too.
    setActionMessage(gettext("Say why you need the full number: the reason is recorded."), "error");
    $("phone-reason").focus();
    return;
  }
  withBusy(async () => {
    const result = await post(id, "phone", { reason });
    if (!state.open || state.open.id !== id) return;
    if (result.ok) {
      $("phone-form").hidden = true;
      const full = $("phone-full");
      full.replaceChildren(h("a", { href: `tel:${result.phone}`, text: result.phone }));
      full.hidden = false;
      $("phone-hide").hidden = false;
      $("phone-hide").focus();
    } else {
      setActionMessage(result.error, "error");
    }
  });
}

function hidePhone() {
  $("phone-full").hidden = true;
  $("phone-full").textContent = "";
  $("phone-hide").hidden = true;
  $("phone-show").hidden = false;
  $("phone-reason").value = "";
  $("phone-show").focus();
}

// ---------------------------------------------------------------------------------------
// Reply box: character count and SMS segments

const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡" +
  "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED = "^{}\\[~]|€\f";

function smsSegments(text) {
  let units = 0;
  for (const char of text) {
    if (GSM_BASIC.includes(char)) units += 1;
    else if (GSM_EXTENDED.includes(char)) units += 2;
    else return ucs2Segments(text);
  }
  return units <= 160 ? 1 : Math.ceil(units / 153);
}

function ucs2Segments(text) {
  return text.length <= 70 ? 1 : Math.ceil(text.length / 67);
}

function renderReplyCount() {
  const text = $("reply").value.trim();
  const chars = [...text].length;
  const el = $("reply-count");
  if (!chars) {
    setText(el, fmt(gettext("0 of %(max)s characters"), { max: (1600).toLocaleString() }));
    el.dataset.over = "false";
    return;
  }
  const segments = smsSegments(text);
  setText(
    el,
    fmt(
      ngettext(
        "%(chars)s of %(max)s characters · %(segments)s text message",
        "%(chars)s of %(max)s characters · %(segments)s text messages",
        segments,
      ),
      { chars: chars.toLocaleString(), max: (1600).toLocaleString(), segments },
    ),
  );
  el.dataset.over = String(chars > MAX_REPLY_CHARS);
}

// ---------------------------------------------------------------------------------------
// Time passing: counters, highlights that fade once seen, reminders

let lastReminder = 0;

function tick() {
  const focused = !document.hidden && document.hasFocus();
  for (const [id, seenMs] of state.highlight) {
    if (!state.queue.has(id) && !state.mine.has(id)) state.highlight.delete(id);
    else if (focused) {
      if (seenMs + 1000 >= NEW_HIGHLIGHT_MS) state.highlight.delete(id);
      else state.highlight.set(id, seenMs + 1000);
    }
  }
  const longWait = [...state.queue.values()].some((s) => since(s.waiting_since) >= LONG_WAIT_MS);
  if (longWait && Date.now() - lastReminder >= REMINDER_MS) {
    if (lastReminder) chime("waiting");
    lastReminder = Date.now();
  } else if (!longWait) {
    lastReminder = 0;
  }
  renderLists();
  if (state.open && state.open.summary) setText($("conv-meta"), metaText(state.open.summary));
  checkins.tick();
  alarms.tick();
  alarmSoundTick();
  resyncIfOverdue();
}

// ---------------------------------------------------------------------------------------
// Keyboard

function typingIn(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
  );
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (typingIn(event.target)) return;
  const key = event.key;
  if (key === "?") {
    const details = $("shortcuts");
    details.open = !details.open;
    if (details.open) details.querySelector("summary").focus();
  } else if (key === "n" || key === "N") {
    const oldest = [...state.queue.values()].sort(byWaiting)[0];
    if (!oldest) return;
    openSession(oldest.id, { focus: () => $("claim").focus() });
  } else if ((key === "c" || key === "C") && state.open) {
    claim();
  } else if ((key === "r" || key === "R") && !$("composer").hidden && state.open) {
    $("reply").focus();
  } else if (key === "j" || key === "J" || key === "k" || key === "K") {
    stepMine(key.toLowerCase() === "j" ? 1 : -1);
  } else if (key === "a" || key === "A") {
    if (!alarms.focusFirst()) return;
  } else {
    return;
  }
  event.preventDefault();
}

function stepMine(step) {
  const mine = [...state.mine.values()].sort(byClaimed);
  if (!mine.length) return;
  const index = state.open ? mine.findIndex((s) => s.id === state.open.id) : -1;
  const next = mine[(index + step + mine.length) % mine.length] || mine[0];
  openSession(next.id, { focus: () => $("conv-title").focus() });
}

function onReplyKey(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendReply();
  } else if (event.key === "Escape") {
    event.preventDefault();
    $("log").focus();
  }
}

// ---------------------------------------------------------------------------------------
// Start

function start() {
  $("log").append(h("ol", { id: "messages", class: "messages" }));
  plan.init({ apiBase: root.dataset.apiBase, isSupervisor, isMine, announce });
  checkins.init({
    apiBase: root.dataset.apiBase,
    isMine,
    announce,
    serverNow,
    applyResult: applyMonitoringResult,
    hasOpenAlarm: (id) => alarms.hasOpenAlarm(id),
  });
  alarms.init({
    apiBase: root.dataset.apiBase,
    isSupervisor,
    me: () => state.me,
    serverNow,
    announce,
    typing: () => typingIn(document.activeElement),
    openSession: (id, focus) => openSession(id, { focus }),
    summary: (id) => state.mine.get(id) || (state.open && state.open.id === id ? state.open.summary : null),
    raised: () => {
      alarmSound.last = 0;
      alarmSoundTick();
    },
    changed: () => {
      renderLists();
      checkins.refresh();
      alarmSoundTick();
    },
    resumeCheckins: (id) => checkins.resume(id),
    endCheckins: (id) => checkins.askEnd(id),
  });
  $("claim").addEventListener("click", claim);
  $("release").addEventListener("click", release);
  $("transfer").addEventListener("click", transfer);
  $("end").addEventListener("click", askEnd);
  $("end-yes").addEventListener("click", confirmEnd);
  $("end-no").addEventListener("click", cancelEnd);
  // A held-down Enter must not run straight through the confirmation.
  $("end-yes").addEventListener("keydown", (event) => {
    if (event.repeat) event.preventDefault();
  });
  $("end-confirm").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      cancelEnd();
    }
  });
  $("phone-show").addEventListener("click", showPhoneForm);
  $("phone-cancel").addEventListener("click", hidePhoneForm);
  $("phone-form").addEventListener("submit", revealPhone);
  $("phone-form").addEventListener("keydown", (event) => {
    if (event.key === "Escape") hidePhoneForm();
  });
  $("phone-hide").addEventListener("click", hidePhone);
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    sendReply();
  });
  $("reply").addEventListener("keydown", onReplyKey);
  $("reply").addEventListener("input", renderReplyCount);
  $("jump-latest").addEventListener("click", () => {
    scrollToLatest();
    $("log").focus();
  });
  $("log").addEventListener("scroll", () => {
    if (nearBottom()) $("jump-latest").hidden = true;
  });
  $("queue-list").addEventListener("click", onListClick);
  $("mine-list").addEventListener("click", onListClick);
  $("sound-toggle").addEventListener("click", () => {
    sound.on = !sound.on;
    try {
      localStorage.setItem(SOUND_KEY, sound.on ? "on" : "off");
    } catch {
      // Storage refused: the choice lasts for this page only.
    }
    renderSoundHint();
    if (sound.on) {
      sound.last = 0;
      chime("waiting");
    } else {
      alarmSilence();
    }
  });
  $("theme-toggle").addEventListener("click", toggleTheme);
  $("shortcuts").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && $("shortcuts").open) {
      $("shortcuts").open = false;
      $("shortcuts").querySelector("summary").focus();
    }
  });
  window.addEventListener("hashchange", openFromHash);
  document.addEventListener("keydown", onKey);
  for (const type of ["pointerdown", "keydown"]) {
    document.addEventListener(type, unlockAudio, { capture: true, passive: true });
  }
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) reconnectNow();
  });
  renderTheme();
  renderSoundHint();
  renderReplyCount();
  renderLists();
  renderConversation();
  connect();
  window.setInterval(keepAlive, RESYNC_MS);
  window.setInterval(tick, 1000);
}

// An answer of monitoring/start, end or resume: the session, its check-ins and its alarms.
function applyMonitoringResult(result) {
  if (!result.session) return;
  applySession(result.session);
  checkins.detail(result.session.id, result.monitoring);
  alarms.sessionState(result.session.id, result.escalations);
}

function onListClick(event) {
  const link = event.target.closest("a[href^='#session-']");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  openSession(Number(link.closest("li").dataset.id));
  // On a narrow screen the conversation sits below the lists.
  if (window.matchMedia("(max-width: 56rem)").matches) {
    $("conversation").scrollIntoView({ block: "start" });
  }
}

start();
