// The client's phone in the local Twilio sandbox. The server's event stream sends the
// whole conversation on every (re)connect, so the page never has to reconcile gaps itself.
"use strict";

const DEFAULT_NUMBER = "+15145550123";
const E164 = /^\+[1-9]\d{1,14}$/;
const MAX_BODY = 1600;

const page = {
  number: null,
  events: null,
  entries: new Map(),
};

const $ = (id) => document.getElementById(id);

function phoneUrl(number, tail) {
  return `/sandbox/api/phones/${encodeURIComponent(number)}/${tail}`;
}

function say(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

function timeOf(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// What the person holding the phone would want to know about each text.
function describe(entry) {
  if (entry.sender === "line") {
    return `${timeOf(entry.date_created)} · from the line · ${entry.status}`;
  }
  if (entry.console_status === null && entry.console_error === null) {
    return `${timeOf(entry.date_created)} · sending…`;
  }
  if (entry.console_error) {
    return `${timeOf(entry.date_created)} · console unreachable`;
  }
  const ok = entry.console_status < 400;
  return `${timeOf(entry.date_created)} · ${ok ? "received by" : "refused by"} console (HTTP ${entry.console_status})`;
}

function isProblem(entry) {
  return entry.sender === "phone" && (entry.console_error || entry.console_status >= 400);
}

function bubble(entry) {
  const item = document.createElement("div");
  item.className = `bubble ${entry.sender === "phone" ? "from-phone" : "from-line"}`;
  item.classList.toggle("problem", Boolean(isProblem(entry)));
  item.dataset.sid = entry.sid;
  const body = document.createElement("p");
  body.textContent = entry.body || `(${entry.num_media} attachment${entry.num_media === 1 ? "" : "s"})`;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = describe(entry);
  item.append(body, meta);
  return item;
}

function render() {
  const log = $("conversation");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.replaceChildren(...[...page.entries.values()].map(bubble));
  if (page.entries.size === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No messages yet. Write below to text the line.";
    log.append(empty);
  }
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function upsert(entry) {
  page.entries.set(entry.sid, entry);
  render();
}

function onEvent(kind, event) {
  const data = JSON.parse(event.data);
  if (kind === "snapshot") {
    page.entries = new Map(data.messages.map((entry) => [entry.sid, entry]));
    render();
    $("conversation").scrollTop = $("conversation").scrollHeight;
  } else if (kind === "message") {
    upsert(data.message);
  } else if (kind === "reset") {
    page.entries = new Map();
    render();
  }
}

function openConversation(number) {
  if (page.events) page.events.close();
  page.number = number;
  page.entries = new Map();
  localStorage.setItem("sandbox-phone-number", number);
  const url = new URL(window.location);
  url.searchParams.set("number", number);
  window.history.replaceState(null, "", url);
  render();
  page.events = new EventSource(phoneUrl(number, "events"));
  for (const kind of ["snapshot", "message", "reset"]) {
    page.events.addEventListener(kind, (event) => onEvent(kind, event));
  }
  page.events.onerror = () => say("Lost contact with the sandbox; reconnecting…", true);
  page.events.onopen = () => say(`Showing the conversation of ${number}.`);
}

async function send(body) {
  const response = await fetch(phoneUrl(page.number, "messages"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ body }),
  });
  const result = await response.json();
  if (!response.ok) throw new Error(result.error || `HTTP ${response.status}`);
  upsert(result.message);
  return result;
}

async function onSend(event) {
  event.preventDefault();
  const field = $("message-body");
  const body = field.value.trim();
  if (!body) return;
  $("send-button").disabled = true;
  say("Sending…");
  try {
    const result = await send(body);
    field.value = "";
    updateCount();
    if (result.console_error) say(`The console did not answer: ${result.console_error}`, true);
    else say(`Sent. The console answered HTTP ${result.console_status}.`, result.console_status >= 400);
  } catch (error) {
    say(`Not sent: ${error.message}`, true);
  } finally {
    $("send-button").disabled = false;
    field.focus();
  }
}

function onNumber(event) {
  event.preventDefault();
  const number = $("phone-number").value.trim();
  if (!E164.test(number)) {
    say("Enter the number in international format, like +15145550123.", true);
    return;
  }
  openConversation(number);
}

function updateCount() {
  const length = $("message-body").value.length;
  $("segments").textContent = length ? `${length} of ${MAX_BODY} characters` : "";
}

async function showLine() {
  const response = await fetch("/sandbox/api/config");
  const config = await response.json();
  $("console-url").textContent = config.console_url;
  $("line-number").textContent = config.line_number;
  $("thread-line").textContent = config.line_number;
}

function startingNumber() {
  const fromUrl = new URLSearchParams(window.location.search).get("number");
  const candidate = fromUrl || localStorage.getItem("sandbox-phone-number") || DEFAULT_NUMBER;
  return E164.test(candidate) ? candidate : DEFAULT_NUMBER;
}

function start() {
  const number = startingNumber();
  $("phone-number").value = number;
  $("number-form").addEventListener("submit", onNumber);
  $("compose").addEventListener("submit", onSend);
  $("message-body").addEventListener("input", updateCount);
  // Enter sends, Shift+Enter starts a new line, as in most messaging apps.
  $("message-body").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("compose").requestSubmit();
    }
  });
  $("message-body").setAttribute("maxlength", String(MAX_BODY));
  showLine().catch(() => say("Could not reach the sandbox.", true));
  openConversation(number);
}

document.addEventListener("DOMContentLoaded", start);
