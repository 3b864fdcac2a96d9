// Alarms: a check-in that went unanswered, and what the operator does about it.
//
// An alarm nobody has acknowledged is loud: a banner at the top of the page (role="alert"),
// the page title, and a repeating sound that the dashboard plays while `loudCount()` is above
// zero. Once acknowledged, or once the client answers, it becomes a calm panel in its session
// until the operator records what happened. The server is the source of truth: a snapshot
// replaces every alarm this page knows, and events only bring the next snapshot forward.
//
// The dispatch task (the location and what EMS must know) is personal data and an audited
// read: it is fetched when the plan says to call EMS or when the operator asks, kept in
// memory for this page only, and never stored.
/* global gettext */

import { postJson } from "./api.js";
import * as dispatchCall from "./dispatch_call.js";
import { clockTime, fmt, h, setText } from "./dom.js";

const $ = (id) => document.getElementById(id);

// The labels of dispatch/models.py's EscalationOutcome, for closing an alarm whose dispatch
// task was not read; the task itself carries the server's own labels.
// What can be recorded when an alarm closes: the server's list, in the page's language.
const OUTCOMES = JSON.parse(document.getElementById("alarm-outcomes").textContent);

const STEP_STATUS = {
  pending: (step) => fmt(gettext("planned for %(time)s"), { time: clockTime(step.due_at) }),
  done: (step) => fmt(gettext("done at %(time)s"), { time: clockTime(step.done_at) }),
  cancelled: () => gettext("not needed"),
};

let hooks = {
  apiBase: "/api/sessions/",
  isSupervisor: false,
  me: () => null,
  serverNow: () => Date.now(),
  announce: () => {},
  typing: () => false,
  openSession: () => {},
  summary: () => null,
  raised: () => {},
  changed: () => {},
  resumeCheckins: () => {},
  endCheckins: () => {},
};

const alarms = new Map(); // id -> alarm, as the server last described it
const raisedIds = new Set(); // loud alarms this page has already raised (focus, sound)
const tasks = new Map(); // id -> {state: "loading"|"ready"|"error", task, error}
const taskDue = new Set(); // ids whose plan says to call EMS now
const ui = new Map(); // id -> {outcome, call, callKind, close, closeKind}: what the operator did here
const pendingRaise = []; // loud alarms noted since the last render, to raise after it
let timers = null;
let openId = null;
let busy = false;

// ---------------------------------------------------------------------------------------
// Hooks called by the dashboard

export function init(options) {
  hooks = { ...hooks, ...options };
  $("alarm-banners").addEventListener("click", onClick);
  $("alarm-notes").addEventListener("click", onClick);
  $("conv-alarms").addEventListener("click", onClick);
  $("conv-alarms").addEventListener("change", onChange);
  // "toggle" does not bubble: listen while it passes down.
  $("conv-alarms").addEventListener(
    "toggle",
    (event) => {
      const details = event.target;
      if (details.classList && details.classList.contains("alarm-steps")) {
        setUi(Number(details.dataset.id), { stepsOpen: details.open });
      }
    },
    true,
  );
}

export function snapshot(list, timersState) {
  timers = timersState || null;
  const previous = new Map(alarms);
  alarms.clear();
  for (const alarm of list || []) if (relevant(alarm)) alarms.set(alarm.id, alarm);
  for (const [id, alarm] of previous) if (!alarms.has(id)) forget(id, alarm);
  for (const alarm of alarms.values()) noteChange(previous.get(alarm.id), alarm);
  afterChange();
}

// Every dashboard hears of every alarm; true if this one concerns this page.
export function upsert(alarm, { dispatchTask = false } = {}) {
  const concerned = put(alarm, dispatchTask);
  if (concerned) afterChange();
  return concerned;
}

function put(alarm, dispatchTask = false) {
  const previous = alarms.get(alarm.id);
  if (relevant(alarm)) {
    if (dispatchTask) taskDue.add(alarm.id);
    alarms.set(alarm.id, alarm);
    noteChange(previous, alarm);
    return true;
  }
  if (!previous) return false;
  alarms.delete(alarm.id);
  forget(alarm.id, alarm);
  return true;
}

// Every alarm of one session that is not closed (a `monitoring` event or an API answer).
export function sessionState(sessionId, escalations) {
  const listed = new Set((escalations || []).map((a) => a.id));
  for (const [id, alarm] of [...alarms]) {
    if (alarm.session_id === sessionId && !listed.has(id)) {
      alarms.delete(id);
      forget(id, { ...alarm, status: "closed" });
    }
  }
  for (const alarm of escalations || []) put(alarm);
  afterChange();
}

// A `dispatch_call` event: a leg of an alarm's dispatch call moved.
export function callMoved(call) {
  const alarm = alarms.get(call.escalation_id);
  if (alarm) alarms.set(alarm.id, { ...alarm, call: dispatchCall.merged(alarm.call, call) });
  if (alarm) render();
}

export function openChanged(sessionId) {
  openId = sessionId;
  afterChange();
}

// A session's summary changed: its panel may offer other check-in buttons now.
export function refresh() {
  render();
}

export function tick() {
  renderTimers();
}

export function loudCount() {
  let count = 0;
  for (const alarm of alarms.values()) if (loud(alarm)) count += 1;
  return count;
}

export function hasOpenAlarm(sessionId) {
  return [...alarms.values()].some((a) => a.session_id === sessionId && a.status === "open");
}

// The page title: it alternates while an alarm waits, so it catches the eye in a tab strip.
export function title(base) {
  const first = sorted().find(loud);
  if (!first) return base;
  if (Math.floor(hooks.serverNow() / 1000) % 2) return gettext("⚠⚠⚠ ALARM ⚠⚠⚠");
  return fmt(gettext("⚠ ALARM · %(digits)s · %(title)s"), { digits: digits(first), title: base });
}

// When the ladder's next steps are due: the page asks for fresh state once they pass.
export function pendingDeadlines() {
  const deadlines = [];
  for (const alarm of alarms.values()) {
    if (alarm.status !== "open") continue;
    for (const step of alarm.steps || []) {
      if (step.status === "pending") deadlines.push(Date.parse(step.due_at));
    }
  }
  return deadlines;
}

// For the "My sessions" list: the alarm state of one session, if any.
export function sessionFlag(sessionId) {
  const own = [...alarms.values()].filter((a) => a.session_id === sessionId);
  if (own.some(loud)) return { kind: "alarm", text: gettext("Alarm") };
  if (own.some((a) => a.status === "open")) {
    return { kind: "alarm-acknowledged", text: gettext("Alarm under way") };
  }
  if (own.length) return { kind: "answered", text: gettext("Answered after an alarm") };
  return null;
}

// The A shortcut: the first alarm waiting to be acknowledged.
export function focusFirst() {
  const button = $("alarm-banners").querySelector('button[data-action="acknowledge"]');
  if (button) button.focus();
  return Boolean(button);
}

// ---------------------------------------------------------------------------------------
// State

function mine(alarm) {
  const me = hooks.me();
  return Boolean(me && alarm.operator_id === me.id);
}

function loud(alarm) {
  return alarm.status === "open" && !alarm.acknowledged_at;
}

// What the server's snapshot would list for this operator (dispatch/selectors.alarms_for).
function relevant(alarm) {
  if (alarm.status === "closed") return false;
  return mine(alarm) || (alarm.widened && loud(alarm));
}

function sorted() {
  return [...alarms.values()].sort(
    (a, b) => Date.parse(a.started_at) - Date.parse(b.started_at) || a.id - b.id,
  );
}

function digits(alarm) {
  return (alarm.phone_masked || "").replace(/\D/g, "");
}

// The plan's response step has run and it calls EMS: that is true after a reload too.
function emsDue(alarm) {
  return (alarm.steps || []).some(
    (s) => s.kind === "response" && s.status === "done" && (s.result || "").includes("ems_task"),
  );
}

function noteChange(previous, alarm) {
  if (emsDue(alarm)) taskDue.add(alarm.id);
  if (loud(alarm) && !raisedIds.has(alarm.id)) {
    raisedIds.add(alarm.id);
    pendingRaise.push(alarm.id);
  }
  if (previous && previous.status === "open" && alarm.status === "stopped") {
    hooks.announce(
      fmt(gettext("The person with the number ending in %(digits)s answered. The alarm has stopped."), {
        digits: digits(alarm),
      }),
    );
  }
}

function forget(id, alarm) {
  tasks.delete(id);
  taskDue.delete(id);
  ui.delete(id);
  // A widened alarm that someone else acknowledged leaves quietly; only the owner hears of it.
  if (alarm.status === "closed" && mine(alarm)) {
    hooks.announce(
      fmt(gettext("The alarm for the number ending in %(digits)s is closed."), { digits: digits(alarm) }),
    );
  }
}

function afterChange() {
  render();
  fetchDueTasks();
  const raised = pendingRaise.splice(0).filter((id) => alarms.has(id) && loud(alarms.get(id)));
  if (raised.length) raise(raised);
  hooks.changed();
}

// A new alarm takes the keyboard only from someone who is not typing; they hear it instead.
function raise(ids) {
  hooks.raised();
  const alarm = alarms.get(ids[0]);
  const banner = $("alarm-banners").querySelector(`[data-alarm="${alarm.id}"]`);
  const button = banner && banner.querySelector('button[data-action="acknowledge"]');
  if (button && !hooks.typing()) {
    button.focus();
    return;
  }
  hooks.announce(
    fmt(
      gettext(
        "Alarm: no answer from the person with the number ending in %(digits)s. Press Escape, then A, to go to it.",
      ),
      { digits: digits(alarm) },
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Rendering

function render() {
  const list = sorted();
  renderKeyed($("alarm-banners"), list.filter(loud), bannerSignature, buildBanner);
  const notes = list.filter((a) => !loud(a) && a.session_id !== openId);
  renderKeyed($("alarm-notes"), notes, noteSignature, buildNote);
  const here = list.filter((a) => a.session_id === openId);
  const panel = $("conv-alarms");
  panel.hidden = here.length === 0;
  renderKeyed(panel, here, panelSignature, buildPanel);
  renderTimers();
}

// One element per alarm, kept while the alarm is shown: an alert that is replaced would be
// read out again. Its inside is rebuilt only when what it says changes, and the control that
// had focus gets it back.
function renderKeyed(container, items, signature, build) {
  const existing = new Map([...container.children].map((el) => [el.dataset.alarm, el]));
  let previous = null;
  for (const alarm of items) {
    const key = String(alarm.id);
    let el = existing.get(key);
    existing.delete(key);
    const sig = signature(alarm);
    if (!el) {
      el = build(alarm);
      el.dataset.alarm = key;
      el.dataset.signature = sig;
    } else if (el.dataset.signature !== sig) {
      const fresh = build(alarm);
      const hadFocus = el.contains(document.activeElement);
      const focusKey = hadFocus ? document.activeElement.dataset.key : null;
      for (const name of fresh.getAttributeNames()) el.setAttribute(name, fresh.getAttribute(name));
      el.replaceChildren(...fresh.childNodes);
      el.dataset.alarm = key;
      el.dataset.signature = sig;
      if (hadFocus) {
        const again = focusKey && el.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
        (again || el.querySelector("[tabindex='-1'], button") || $("alarm-message")).focus();
      }
    }
    const wanted = previous ? previous.nextSibling : container.firstChild;
    if (wanted !== el) container.insertBefore(el, wanted);
    previous = el;
  }
  for (const el of existing.values()) {
    const hadFocus = el.contains(document.activeElement);
    el.remove();
    if (hadFocus) $("alarm-message").focus();
  }
}

function startedText(alarm) {
  return fmt(
    gettext(
      "No answer from the person with the number ending in %(digits)s (check-in %(number)s). Started %(time)s.",
    ),
    { digits: digits(alarm), number: alarm.checkin, time: clockTime(alarm.started_at) },
  );
}

function canOpen(alarm) {
  return mine(alarm) || hooks.isSupervisor;
}

function bannerSignature(alarm) {
  return JSON.stringify([alarm, taskDue.has(alarm.id), hooks.me()]);
}

function buildBanner(alarm) {
  const textId = `alarm-${alarm.id}-text`;
  const lines = [h("p", { id: textId, class: "alarm-text", text: startedText(alarm) })];
  if (!mine(alarm)) {
    lines.push(
      h("p", {
        class: "alarm-text",
        text: alarm.operator
          ? fmt(gettext("%(name)s has not acknowledged this alarm."), { name: alarm.operator })
          : gettext("No operator has acknowledged this alarm."),
      }),
    );
  } else if (alarm.widened) {
    lines.push(h("p", { class: "alarm-text", text: gettext("Every operator on shift has been alerted.") }));
  }
  if (taskDue.has(alarm.id) && mine(alarm)) {
    lines.push(h("p", { class: "alarm-text alarm-strong", text: gettext("The plan says to call EMS now.") }));
  }
  const buttons = [
    h("button", {
      type: "button",
      class: "alarm-button",
      "data-action": "acknowledge",
      "data-key": "acknowledge",
      "data-id": alarm.id,
      "aria-describedby": textId,
      text: gettext("Acknowledge"),
    }),
  ];
  if (canOpen(alarm)) {
    buttons.push(openButton(alarm, textId));
  }
  return h(
    "div",
    { class: "alarm-banner", role: "alert" },
    h("h2", { class: "alarm-title" }, h("span", { "aria-hidden": "true", text: "⚠ " }), gettext("Alarm")),
    ...lines,
    h("div", { class: "alarm-buttons" }, ...buttons),
  );
}

function noteSignature(alarm) {
  return JSON.stringify([alarm, taskDue.has(alarm.id)]);
}

function buildNote(alarm) {
  const textId = `alarm-${alarm.id}-note`;
  let text;
  if (alarm.status === "stopped") {
    text = fmt(
      gettext(
        "The person with the number ending in %(digits)s answered after the alarm. Open the session to resume or end check-ins and record what happened.",
      ),
      { digits: digits(alarm) },
    );
  } else {
    text = fmt(
      gettext(
        "Alarm under way for the number ending in %(digits)s (check-in %(number)s), acknowledged at %(time)s.",
      ),
      { digits: digits(alarm), number: alarm.checkin, time: clockTime(alarm.acknowledged_at) },
    );
    if (taskDue.has(alarm.id)) text = `${text} ${gettext("The plan says to call EMS now.")}`;
  }
  return h(
    "div",
    { class: "alarm-note", "data-status": alarm.status },
    h("p", { id: textId, text }),
    openButton(alarm, textId),
  );
}

function openButton(alarm, textId) {
  return h("button", {
    type: "button",
    "data-action": "open",
    "data-key": "open",
    "data-id": alarm.id,
    "aria-describedby": textId,
    text: gettext("Open the session"),
  });
}

function panelSignature(alarm) {
  const summary = hooks.summary(alarm.session_id);
  return JSON.stringify([
    alarm,
    tasks.get(alarm.id) || null,
    taskDue.has(alarm.id),
    ui.get(alarm.id) || null,
    summary && summary.monitoring ? summary.monitoring.next_status : "none",
    hooks.me(),
  ]);
}

function panelTitle(alarm) {
  if (alarm.status === "stopped") return gettext("The person answered");
  if (loud(alarm)) return fmt(gettext("Alarm: no answer to check-in %(number)s"), { number: alarm.checkin });
  return fmt(gettext("Alarm under way: no answer to check-in %(number)s"), { number: alarm.checkin });
}

function panelText(alarm) {
  if (alarm.status === "stopped") {
    return gettext("The person answered. Check-ins go on; end them if the person is done, and record what happened.");
  }
  const started = fmt(gettext("Started %(time)s."), { time: clockTime(alarm.started_at) });
  if (loud(alarm)) return `${started} ${gettext("Acknowledge it at the top of the page.")}`;
  return `${started} ${fmt(gettext("Acknowledged %(time)s."), { time: clockTime(alarm.acknowledged_at) })}`;
}

function buildPanel(alarm) {
  const titleId = `alarm-${alarm.id}-title`;
  const parts = [
    h("h3", {
      id: titleId,
      class: "alarm-panel-title",
      tabindex: "-1",
      "data-key": "title",
      text: panelTitle(alarm),
    }),
    h("p", { text: panelText(alarm) }),
  ];
  if (alarm.status === "stopped") parts.push(checkinButtons(alarm));
  if (alarm.steps && alarm.steps.length) parts.push(stepList(alarm));
  if (alarm.status === "open" && mine(alarm)) parts.push(taskPart(alarm));
  if (mine(alarm) || hooks.isSupervisor) parts.push(closePart(alarm));
  return h(
    "section",
    { class: "alarm-panel", "data-status": loud(alarm) ? "loud" : alarm.status, "aria-labelledby": titleId },
    ...parts,
  );
}

function checkinButtons(alarm) {
  const summary = hooks.summary(alarm.session_id);
  const monitoring = summary && summary.monitoring;
  const buttons = [];
  if (monitoring && monitoring.next_status === null) {
    buttons.push(
      h("button", {
        type: "button",
        class: "primary",
        "data-action": "resume",
        "data-key": "resume",
        "data-id": alarm.id,
        text: gettext("Resume check-ins"),
      }),
    );
  }
  if (monitoring) {
    buttons.push(
      h("button", {
        type: "button",
        "data-action": "end-checkins",
        "data-key": "end",
        "data-id": alarm.id,
        text: gettext("End check-ins"),
      }),
    );
  } else {
    buttons.push(h("p", { class: "muted", text: gettext("Check-ins are not running.") }));
  }
  return h("div", { class: "alarm-buttons" }, ...buttons);
}

// Kept folded: what the operator must do comes first. Its open state survives re-renders.
function stepList(alarm) {
  const state = ui.get(alarm.id) || {};
  return h(
    "details",
    { class: "alarm-steps", "data-id": alarm.id, open: Boolean(state.stepsOpen) },
    h("summary", { "data-key": "steps", text: gettext("What the line does, step by step") }),
    h(
      "ol",
      {},
      ...alarm.steps.map((step) =>
        h(
          "li",
          { "data-status": step.status },
          fmt(gettext("%(step)s: %(status)s"), {
            step: step.label,
            status: (STEP_STATUS[step.status] || (() => step.status))(step),
          }),
        ),
      ),
    ),
  );
}

function taskPart(alarm) {
  const task = tasks.get(alarm.id);
  if (!task) {
    return h(
      "div",
      { class: "alarm-buttons" },
      h("button", {
        type: "button",
        class: taskDue.has(alarm.id) ? "primary" : "",
        "data-action": "task",
        "data-key": "task",
        "data-id": alarm.id,
        text: gettext("Show the dispatch task"),
      }),
    );
  }
  if (task.state === "loading") {
    return h("p", { class: "muted", text: gettext("Loading the dispatch task…") });
  }
  if (task.state === "error") {
    return h(
      "div",
      { class: "alarm-buttons" },
      h("p", { class: "error", text: task.error }),
      h("button", {
        type: "button",
        "data-action": "task",
        "data-key": "task",
        "data-id": alarm.id,
        text: gettext("Try again"),
      }),
    );
  }
  return dispatchTask(alarm, task.task);
}

function phoneText(phone) {
  const only = (phone || "").replace(/\D/g, "");
  const ten = only.length === 11 && only.startsWith("1") ? only.slice(1) : only;
  return ten.length === 10 ? `${ten.slice(0, 3)} ${ten.slice(3, 6)} ${ten.slice(6)}` : phone;
}

const dayFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  dateStyle: "medium",
});

function verifiedText(line) {
  if (!line.last_verified) return gettext("Never verified");
  // A date without a time: read it as a local day, not as midnight UTC.
  const [year, month, day] = line.last_verified.split("-").map(Number);
  return fmt(gettext("Last verified %(date)s"), { date: dayFormat.format(new Date(year, month - 1, day)) });
}

function dispatchTask(alarm, task) {
  const titleId = `task-${alarm.id}-title`;
  const state = ui.get(alarm.id) || {};
  const lines = task.dispatch_lines || [];
  const lineItems = lines.map((line, index) => {
    const nameId = `task-${alarm.id}-line-${index}`;
    return h(
      "li",
      { class: "dispatch-line" },
      h("p", { id: nameId, class: "dispatch-name", text: line.name }),
      h("p", { class: "dispatch-phone" }, h("a", { href: `tel:${line.phone}`, text: phoneText(line.phone) })),
      line.notes ? h("p", { class: "dispatch-notes", text: line.notes }) : null,
      h("p", { class: "muted dispatch-verified", text: verifiedText(line) }),
      h("button", {
        type: "button",
        class: "primary",
        "data-action": "call",
        "data-key": `call-${index}`,
        "data-id": alarm.id,
        "data-line": index,
        "aria-describedby": nameId,
        text: gettext("Call dispatch and join me"),
      }),
    );
  });
  const rows = [
    [gettext("Address"), task.address],
    [gettext("Apartment or unit"), task.unit],
    [gettext("Entry"), task.entry],
    [gettext("Landmarks"), task.landmarks],
    [gettext("Region"), task.region],
    [gettext("Substances"), task.substances],
    [gettext("Amount"), task.amount],
    [gettext("How they use it"), task.route],
    [gettext("Naloxone"), task.naloxone],
    [gettext("Others nearby"), task.others_nearby],
    [gettext("Medical notes"), task.medical_notes],
    [gettext("Practical notes"), task.practical_notes],
  ].filter(([, value]) => value);
  return h(
    "div",
    { class: "dispatch-task", role: "group", "aria-labelledby": titleId },
    h("h4", {
      id: titleId,
      tabindex: "-1",
      "data-key": "task-title",
      text: gettext("Dispatch task: call EMS"),
    }),
    lines.length
      ? h("ul", { class: "dispatch-lines", "aria-label": gettext("Dispatch lines") }, ...lineItems)
      : h("p", {
          class: "error",
          text: gettext("No dispatch line is listed for this region. Ask the supervisor on call for the number."),
        }),
    dispatchCall.part(alarm, state.call, state.callKind),
    h(
      "dl",
      { class: "dispatch-facts" },
      ...rows.map(([term, value]) => h("div", {}, h("dt", { text: term }), h("dd", { text: value }))),
    ),
  );
}

function closePart(alarm) {
  const state = ui.get(alarm.id) || {};
  const selectId = `alarm-${alarm.id}-outcome`;
  const task = tasks.get(alarm.id);
  const outcomes = (task && task.task && task.task.outcomes) || OUTCOMES;
  const select = h(
    "select",
    { id: selectId, "data-key": "outcome", "data-id": alarm.id },
    h("option", { value: "", text: gettext("Choose…") }),
    ...outcomes.map(([value, label]) => h("option", { value, text: label })),
  );
  select.value = state.outcome || "";
  return h(
    "div",
    { class: "alarm-close" },
    h(
      "div",
      { class: "field-group" },
      h("label", { for: selectId, text: gettext("What happened") }),
      select,
      h("button", {
        type: "button",
        "data-action": "close",
        "data-key": "close",
        "data-id": alarm.id,
        text: gettext("Record what happened"),
      }),
    ),
    resultLine(state.close, state.closeKind),
  );
}

function resultLine(text, kind) {
  return h("p", { class: "alarm-result", role: "status", "data-kind": kind || "info", text: text || "" });
}

function renderTimers() {
  const el = $("timers-alert");
  let text = "";
  if (timers) {
    const last = timers.last_run_at ? Date.parse(timers.last_run_at) : null;
    if (last === null) {
      text = gettext("Check-in timers are not running. Alarms may not fire. Call the supervisor on call.");
    } else if (hooks.serverNow() - last > timers.stale_after_seconds * 1000) {
      text = gettext("Check-in timers have stopped. Alarms may not fire. Call the supervisor on call.");
    }
  }
  setText(el, text);
}

// ---------------------------------------------------------------------------------------
// Actions

function setUi(id, changes) {
  ui.set(id, { ...(ui.get(id) || {}), ...changes });
}

function url(alarm, action) {
  return `${hooks.apiBase}${alarm.session_id}/alarm/${action}/`;
}

function onChange(event) {
  const select = event.target.closest('select[data-key="outcome"]');
  if (select) setUi(Number(select.dataset.id), { outcome: select.value });
}

function onClick(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const alarm = alarms.get(Number(button.dataset.id));
  if (!alarm) return;
  const action = button.dataset.action;
  if (action === "acknowledge") acknowledge(alarm);
  else if (action === "open") openAlarm(alarm);
  else if (action === "task") fetchTask(alarm);
  else if (action === "call") callDispatch(alarm, Number(button.dataset.line));
  else if (action === "close") closeAlarm(alarm);
  else if (action === "hangup") hangUp(alarm);
  else if (action === "resume") hooks.resumeCheckins(alarm.session_id);
  else if (action === "end-checkins") hooks.endCheckins(alarm.session_id);
}

async function once(work) {
  if (busy) return;
  busy = true;
  document.getElementById("alarm-area").classList.add("is-busy");
  try {
    await work();
  } finally {
    busy = false;
    document.getElementById("alarm-area").classList.remove("is-busy");
  }
}

function focusPanel(alarm) {
  const heading = document.getElementById(`alarm-${alarm.id}-title`);
  if (heading) heading.focus();
}

function acknowledge(alarm) {
  once(async () => {
    const result = await postJson(url(alarm, "acknowledge"), { escalation: alarm.id });
    if (!result.ok) {
      setText($("alarm-message"), result.error);
      $("alarm-message").dataset.kind = "error";
      return;
    }
    $("alarm-message").dataset.kind = "info";
    setText($("alarm-message"), "");
    upsert(result.alarm);
    // Focus follows the alarm to where it is now shown calmly, if this page still shows it.
    const note = $("alarm-notes").querySelector(`[data-alarm="${alarm.id}"] button`);
    const heading = document.getElementById(`alarm-${alarm.id}-title`);
    if (heading || note) {
      hooks.announce(gettext("Alarm acknowledged."));
      (heading || note).focus();
    } else {
      // Someone else's alarm leaves this page: the sentence that stays says what was done.
      setText($("alarm-message"), gettext("Alarm acknowledged."));
      $("alarm-message").focus();
    }
  });
}

function openAlarm(alarm) {
  hooks.openSession(alarm.session_id, () => focusPanel(alarm));
}

function fetchDueTasks() {
  for (const id of taskDue) {
    const alarm = alarms.get(id);
    if (alarm && alarm.status === "open" && alarm.session_id === openId && mine(alarm) && !tasks.has(id)) {
      fetchTask(alarm, { quiet: true });
    }
  }
}

// Asked for, it takes focus; arriving by itself (the plan's EMS step), it is announced.
async function fetchTask(alarm, { quiet = false } = {}) {
  const id = alarm.id;
  tasks.set(id, { state: "loading" });
  render();
  const result = await postJson(url(alarm, "dispatch"), { escalation: id });
  if (!alarms.has(id)) return;
  tasks.set(id, result.ok ? { state: "ready", task: result.task } : { state: "error", error: result.error });
  render();
  if (!result.ok) return;
  if (quiet) {
    hooks.announce(gettext("The plan says to call EMS now. The dispatch task is in the session."));
  } else {
    const heading = document.getElementById(`task-${id}-title`);
    if (heading) heading.focus();
  }
}

function callDispatch(alarm, line) {
  once(async () => {
    setUi(alarm.id, { call: "", callKind: "info" });
    render();
    const result = await postJson(url(alarm, "call"), { escalation: alarm.id, line });
    if (!alarms.has(alarm.id)) return;
    if (result.ok) {
      // The legs' list says it from here on: "Calling your phone", then what Twilio reports.
      setUi(alarm.id, { call: "", callKind: "info" });
      const known = alarms.get(alarm.id);
      if (!(known.call && known.call.live)) callMoved(dispatchCall.placing(known));
    } else {
      const call = fmt(gettext("The call did not start: %(error)s"), { error: result.error });
      setUi(alarm.id, { call, callKind: "error" });
    }
    render();
  });
}

function hangUp(alarm) {
  once(async () => {
    const { call, error } = await dispatchCall.hangUp(alarm, url(alarm, "call/hangup"));
    setUi(alarm.id, { call: error, callKind: error ? "error" : "info" });
    if (call) callMoved(call);
    else render();
  });
}

function closeAlarm(alarm) {
  const state = ui.get(alarm.id) || {};
  if (!state.outcome) {
    setUi(alarm.id, { close: gettext("Choose what happened first."), closeKind: "error" });
    render();
    const select = document.getElementById(`alarm-${alarm.id}-outcome`);
    if (select) select.focus();
    return;
  }
  once(async () => {
    const result = await postJson(url(alarm, "close"), { escalation: alarm.id, outcome: state.outcome });
    if (!result.ok) {
      setUi(alarm.id, { close: result.error, closeKind: "error" });
      render();
      return;
    }
    const hadFocus = $("conv-alarms").contains(document.activeElement);
    upsert(result.alarm);
    setText($("alarm-message"), "");
    if (hadFocus) $("conv-title").focus();
  });
}
