// Check-ins in the open conversation: start them with an interval and a time to answer, see
// when the next one is due, resume them after an alarm the client answered, or end them.
//
// The session summary (`summary.monitoring`) drives the countdown, for every session in the
// lists; the fuller `monitoring` state (from the session's group, or an API answer) only adds
// details for the open one. Both come from the server: nothing here decides a deadline.
/* global gettext */

import { postJson } from "./api.js";
import { clockTime, fmt, setText } from "./dom.js";

const DEFAULT_INTERVAL_MINUTES = 3;
const MAX_INTERVAL_MINUTES = 30;

const $ = (id) => document.getElementById(id);

let hooks = {
  apiBase: "/api/sessions/",
  isMine: () => false,
  announce: () => {},
  serverNow: () => Date.now(),
  applyResult: () => {},
  hasOpenAlarm: () => false,
};

const current = {
  id: null,
  summary: null,
  detail: null, // the `monitoring` state of the open session, when the server sent it
  busy: false,
  generation: 0,
  waitsForPlan: false, // the message says the plan must be ready first
};

// ---------------------------------------------------------------------------------------
// Shared with the lists

// "1:42", or "1:02:05" past an hour. Never negative: the server moves the check-in on.
export function clock(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  if (hours) return `${hours}:${String(minutes).padStart(2, "0")}:${seconds}`;
  return `${minutes}:${seconds}`;
}

function remaining(monitoring) {
  return Date.parse(monitoring.next_due_at) - hooks.serverNow();
}

// What the "My sessions" list shows for a monitored session: a short text seen on screen,
// and a steady one for screen readers, which must not hear a number change every second.
export function badge(summary) {
  const monitoring = summary && summary.monitoring;
  if (!monitoring) return null;
  if (monitoring.next_status === "scheduled" && monitoring.next_due_at) {
    return {
      kind: "scheduled",
      text: fmt(gettext("Check-in in %(time)s"), { time: clock(remaining(monitoring)) }),
      spoken: gettext("Check-ins running"),
    };
  }
  if (monitoring.next_status === "prompted" && monitoring.next_due_at) {
    return {
      kind: "prompted",
      text: fmt(gettext("Answer due in %(time)s"), { time: clock(remaining(monitoring)) }),
      spoken: gettext("Waiting for an answer to a check-in"),
    };
  }
  return { kind: "paused", text: gettext("Check-ins paused"), spoken: gettext("Check-ins paused") };
}

// ---------------------------------------------------------------------------------------
// Hooks called by the dashboard

export function init(options) {
  hooks = { ...hooks, ...options };
  const interval = $("checkins-interval");
  for (let minutes = 1; minutes <= MAX_INTERVAL_MINUTES; minutes += 1) {
    const option = document.createElement("option");
    option.value = String(minutes);
    option.textContent = String(minutes);
    interval.append(option);
  }
  interval.value = String(DEFAULT_INTERVAL_MINUTES);
  $("checkins-form").addEventListener("submit", (event) => {
    event.preventDefault();
    start();
  });
  $("checkins-end").addEventListener("click", () => askEnd(current.id));
  $("checkins-resume").addEventListener("click", () => resume(current.id));
  $("checkins-end-yes").addEventListener("click", confirmEnd);
  $("checkins-end-no").addEventListener("click", cancelEnd);
  // A held-down Enter must not run straight through the confirmation.
  $("checkins-end-yes").addEventListener("keydown", (event) => {
    if (event.repeat) event.preventDefault();
  });
  $("checkins-confirm").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      cancelEnd();
    }
  });
}

export function open(id, summary = null) {
  if (current.id !== id) {
    current.id = id;
    current.detail = null;
    current.generation += 1;
    $("checkins-confirm").hidden = true;
    message("");
    resetForm();
  }
  current.summary = summary;
  render();
}

export function update(summary) {
  if (!summary || summary.id !== current.id) return;
  current.summary = summary;
  render();
}

// What the operator typed for one session is not a choice for the next.
function resetForm() {
  $("checkins-interval").value = String(DEFAULT_INTERVAL_MINUTES);
  const grace = $("checkins-grace");
  grace.value = grace.defaultValue;
  $("checkins-ends").value = "";
}

function planReady(summary) {
  return Boolean(summary && summary.plan && summary.plan.status === "ready");
}

export function close() {
  current.id = null;
  current.summary = null;
  current.detail = null;
  current.generation += 1;
  render();
}

// The full check-in state of a session, from the session's group or an API answer.
export function detail(sessionId, monitoring) {
  if (sessionId !== current.id) return;
  current.detail = monitoring;
  render();
}

// An alarm of this session changed: what check-ins may do next depends on it.
export function refresh() {
  render();
}

export function tick() {
  if (current.summary && current.summary.monitoring) renderRunning(current.summary.monitoring);
}

// ---------------------------------------------------------------------------------------
// Rendering

function render() {
  const summary = current.summary;
  const section = $("checkins");
  const monitoring = summary && summary.status === "active" ? summary.monitoring : null;
  const mine = Boolean(summary && hooks.isMine(summary));
  section.hidden = !summary || summary.status !== "active" || !(mine || monitoring);
  if (section.hidden) return;
  if (current.waitsForPlan && planReady(summary)) message("");
  const form = $("checkins-form");
  const formHadFocus = form.contains(document.activeElement);
  form.hidden = !mine || Boolean(monitoring);
  $("checkins-running").hidden = !monitoring;
  if (!monitoring || !mine) $("checkins-confirm").hidden = true;
  if (monitoring) renderRunning(monitoring);
  $("checkins-end").hidden = !mine || !monitoring;
  // Resuming is for after the alarm: when the client answered, or once it is closed.
  const alarmOpen = hooks.hasOpenAlarm(summary.id);
  $("checkins-resume").hidden = !mine || !monitoring || monitoring.next_status !== null || alarmOpen;
  if (formHadFocus && form.hidden) $("checkins-countdown").focus();
}

function renderRunning(monitoring) {
  const box = $("checkins-running");
  const status = monitoring.next_status;
  box.dataset.state = hooks.hasOpenAlarm(current.id) ? "paused" : status || "paused";
  setText($("checkins-countdown"), countdownText(monitoring));
  setText($("checkins-detail"), detailText(monitoring));
}

function countdownText(monitoring) {
  // The alarm's own event can arrive before the session's: never count down to a check-in
  // that the alarm has already replaced.
  if (current.id !== null && hooks.hasOpenAlarm(current.id)) {
    return gettext("Check-ins are paused while the alarm is under way.");
  }
  const left = monitoring.next_due_at ? remaining(monitoring) : 0;
  if (monitoring.next_status === "scheduled") {
    if (left <= 0) return gettext("Sending the check-in now…");
    return fmt(gettext("Next check-in in %(time)s"), { time: clock(left) });
  }
  if (monitoring.next_status === "prompted") {
    if (left <= 0) return gettext("No answer in time. The alarm is starting…");
    return fmt(gettext("Waiting for an answer: %(time)s left"), { time: clock(left) });
  }
  return gettext("Check-ins are paused after an alarm. Resume them or end them.");
}

function detailText(monitoring) {
  const minutes = Math.round(monitoring.interval_seconds / 6) / 10;
  const parts = [fmt(gettext("Every %(minutes)s min"), { minutes })];
  const more = current.detail && current.detail.status === "active" ? current.detail : null;
  if (more) {
    parts.push(fmt(gettext("%(seconds)s s to answer"), { seconds: more.grace_seconds }));
    // The detail may be older than the summary: name the check-in only if both agree on it.
    const next = more.next;
    if (next && next.status === monitoring.next_status && next.due_at === monitoring.next_due_at) {
      parts.push(fmt(gettext("Check-in %(number)s"), { number: next.number }));
    }
    if (more.ends_at) parts.push(fmt(gettext("Ends at %(time)s"), { time: clockTime(more.ends_at) }));
  }
  return parts.join(" · ");
}

function message(text, kind = "info", { waitsForPlan = false } = {}) {
  current.waitsForPlan = waitsForPlan;
  const el = $("checkins-message");
  el.dataset.kind = kind;
  setText(el, text);
}

// ---------------------------------------------------------------------------------------
// Actions

function url(id, action) {
  return `${hooks.apiBase}${id}/monitoring/${action}/`;
}

// One request at a time. `done(result, still)` runs with still() false once another
// session is open: the answer still updates the lists, but not this panel.
async function act(id, action, body, done) {
  if (current.busy || !id) return;
  current.busy = true;
  $("checkins").classList.add("is-busy");
  const generation = current.generation;
  try {
    const result = await postJson(url(id, action), body);
    if (result.ok) hooks.applyResult(result);
    done(result, () => generation === current.generation);
  } finally {
    current.busy = false;
    $("checkins").classList.remove("is-busy");
  }
}

function numberOrNull(id, problem) {
  const raw = $(id).value.trim();
  if (!raw) return { value: null };
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    message(problem, "error");
    $(id).focus();
    return null;
  }
  return { value };
}

function start() {
  const id = current.id;
  const grace = numberOrNull(
    "checkins-grace",
    gettext("Give the time to answer in seconds, from 10 to 600."),
  );
  if (!grace) return;
  const ends = numberOrNull("checkins-ends", gettext("Give the end in minutes, or leave it empty."));
  if (!ends) return;
  const body = { interval_minutes: Number($("checkins-interval").value) };
  if (grace.value !== null) body.grace_seconds = grace.value;
  if (ends.value !== null) body.ends_in_minutes = ends.value;
  message("");
  act(id, "start", body, (result, still) => {
    if (!still()) return;
    if (!result.ok) {
      // Refused for want of a ready plan: the message goes once the plan is saved as ready.
      const waitsForPlan = result.status === 409 && !planReady(current.summary);
      message(result.error, "error", { waitsForPlan });
      return;
    }
    const next = result.monitoring && result.monitoring.next;
    hooks.announce(
      next
        ? fmt(gettext("Check-ins started. The first one is at %(time)s."), { time: clockTime(next.due_at) })
        : gettext("Check-ins started."),
    );
    $("checkins-countdown").focus();
  });
}

export function resume(id) {
  act(id, "resume", {}, (result, still) => {
    if (!still()) return;
    if (!result.ok) {
      message(result.error, "error");
      return;
    }
    message("");
    const next = result.monitoring && result.monitoring.next;
    hooks.announce(
      next
        ? fmt(gettext("Check-ins resumed. The next one is at %(time)s."), { time: clockTime(next.due_at) })
        : gettext("Check-ins resumed."),
    );
    $("checkins-countdown").focus();
  });
}

// Ending check-ins while an alarm is under way cancels what the alarm would do next: say so.
export function askEnd(id) {
  if (!id || id !== current.id) return;
  setText(
    $("checkins-confirm-text"),
    hooks.hasOpenAlarm(id)
      ? gettext(
          "An alarm is under way. Ending check-ins cancels its next steps, including the plan's response. End them anyway?",
        )
      : gettext("End check-ins? The person gets a text saying they have ended."),
  );
  $("checkins-confirm").hidden = false;
  $("checkins-end-yes").focus();
}

function cancelEnd() {
  $("checkins-confirm").hidden = true;
  const end = $("checkins-end");
  if (!end.hidden) end.focus();
}

function confirmEnd() {
  act(current.id, "end", {}, (result, still) => {
    if (!still()) return;
    $("checkins-confirm").hidden = true;
    if (!result.ok) {
      message(result.error, "error");
      return;
    }
    message(gettext("Check-ins have ended. The person was told by text."));
    const form = $("checkins-form");
    (form.hidden ? $("conv-title") : $("checkins-start")).focus();
  });
}
