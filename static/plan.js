// The emergency plan panel beside the conversation: the client's code, the plan form, and
// the version in force. Every answer of the plan API (clients/views.py) but the draft's is
// the panel's full state, so rendering always starts from what the server says.
//
// What is typed is saved as a draft on the server as the operator goes, and flushed when the
// page is hidden or another session is opened, so a reload loses nothing. Plans are personal
// data: they are never kept in localStorage.
/* global gettext */

import { getJson, postJson } from "./api.js";
import { clockTime, fmt, h, setText } from "./dom.js";

const DRAFT_DELAY_MS = 700;
const SLOW_SAVE_MS = 1000;
const RETRY_MS = 5000;
const MAX_CONTACTS = 3;
const TEXT_FIELDS = {
  address: "plan-f-address",
  unit: "plan-f-unit",
  entry: "plan-f-entry",
  landmarks: "plan-f-landmarks",
  substances: "plan-f-substances",
  amount: "plan-f-amount",
  others_nearby: "plan-f-others",
  medical_notes: "plan-f-medical",
  practical_notes: "plan-f-practical",
};
const RADIO_GROUPS = ["response", "order", "naloxone", "language"];
const EMPTY_CONTACT = { name: "", phone: "", relationship: "", agreed: false, language: "en" };

const $ = (id) => document.getElementById(id);

let hooks = {
  apiBase: "/api/sessions/",
  isSupervisor: false,
  isMine: () => false,
  announce: () => {},
};

const current = {
  id: null,
  summary: null,
  visible: false,
  generation: 0, // bumped whenever the panel shows another session, or none
  data: null, // the last state the server sent
  edits: 0, // input events so far
  savedEdits: 0, // `edits` when the server last stored the form
  timer: null,
  slowTimer: null,
  queue: Promise.resolve(), // POSTs go one after another, in the order they were made
  busy: false,
  touched: new Set(), // fields the operator has worked on: only those are marked invalid
  attempted: false, // "Save as ready" was refused: mark every field that blocks it
};

// ---------------------------------------------------------------------------------------
// Hooks called by the dashboard

export function init(options) {
  hooks = { ...hooks, ...options };
  const form = $("plan-form");
  form.addEventListener("input", onEdit);
  form.addEventListener("change", onCommit);
  form.addEventListener("submit", (event) => event.preventDefault());
  $("plan-add-contact").addEventListener("click", addContact);
  $("plan-contacts").addEventListener("click", onContactsClick);
  $("plan-answers").addEventListener("submit", linkFromAnswers);
  $("plan-random").addEventListener("click", linkRandom);
  $("plan-returning").addEventListener("click", onReturningClick);
  $("plan-reuse").addEventListener("click", reuseLatest);
  $("plan-edit-latest").addEventListener("click", editLatest);
  $("plan-save").addEventListener("click", () => saveVersion(false));
  $("plan-ready").addEventListener("click", () => saveVersion(true));
  $("plan-readback").addEventListener("click", readbackToReply);
  $("plan-confirm").addEventListener("click", confirmPlan);
  $("plan-missing").addEventListener("click", onProblemClick);
  $("plan-retry").addEventListener("click", () => {
    $("plan-error-box").hidden = true;
    $("plan-loading").hidden = false;
    load();
  });
  $("plan-advice").addEventListener("click", onProblemClick);
  $("plan").addEventListener("keydown", onKey);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });
  window.addEventListener("pagehide", flush);
}

// A session was opened: its summary may still be on its way.
export function open(id, summary = null) {
  if (current.id === id) {
    if (summary) update(summary);
    return;
  }
  leave();
  current.id = id;
  current.summary = null;
  renderBadges(null, null);
  if (summary) update(summary);
}

// The open session's summary arrived or changed (claimed, transferred, ended...).
export function update(summary) {
  if (!summary || summary.id !== current.id) return;
  if (summary !== current.summary) renderBadges(summary.client_code, summary.plan);
  current.summary = summary;
  const visible = canSee(summary);
  if (visible && !current.visible) show();
  else if (!visible && current.visible) hide();
  else if (visible && outOfDate(summary)) refresh();
}

// The code or the plan in force changed somewhere else (another tab, a supervisor).
function outOfDate(summary) {
  const data = current.data;
  if (!data) return false;
  const version = data.in_force;
  const plan = summary.plan;
  return (
    (summary.client_code || null) !== (data.client ? data.client.code : null) ||
    (plan ? plan.number : null) !== (version ? version.number : null) ||
    (plan ? plan.confirmed : false) !== Boolean(version && version.confirmed_at)
  );
}

// Fetches the state again; what the operator is typing right now is left as it is.
async function refresh() {
  const id = current.id;
  const generation = current.generation;
  const result = await getJson(url(id));
  if (generation !== current.generation || !result.ok) return;
  applyState(result, { fill: dirty() ? null : "saved" });
}

export function close() {
  leave();
  current.id = null;
  current.summary = null;
  renderBadges(null, null);
}

// The server answers for open sessions only: a waiting one must be claimed first, and an
// ended one is closed to changes.
function canSee(summary) {
  if (summary.status !== "active") return false;
  return hooks.isMine(summary) || hooks.isSupervisor;
}

function leave() {
  if (current.visible) hide();
  current.generation += 1;
}

function show() {
  current.visible = true;
  $("plan").hidden = false;
  $("plan").closest(".columns").classList.add("with-plan");
  load();
}

function hide() {
  flush();
  current.generation += 1;
  current.visible = false;
  current.data = null;
  window.clearTimeout(current.slowTimer);
  $("plan").hidden = true;
  $("plan").closest(".columns").classList.remove("with-plan");
  resetPanel();
}

function resetPanel() {
  $("plan-body").hidden = true;
  $("plan-foot").hidden = true;
  $("plan-error-box").hidden = true;
  $("plan-loading").hidden = false;
  $("plan-form").reset();
  $("plan-answers").reset();
  $("plan-contacts").replaceChildren();
  $("plan-returning").replaceChildren();
  for (const id of ["plan-status", "plan-client-message"]) setText($(id), "");
  current.edits = 0;
  current.savedEdits = 0;
  current.touched = new Set();
  current.attempted = false;
  current.busy = false;
}

// ---------------------------------------------------------------------------------------
// Talking to the server

function url(id, action = "") {
  return `${hooks.apiBase}${id}/plan/${action ? `${action}/` : ""}`;
}

async function load() {
  const id = current.id;
  const generation = current.generation;
  const result = await getJson(url(id));
  if (generation !== current.generation) return;
  $("plan-loading").hidden = true;
  if (!result.ok) {
    $("plan-error-box").hidden = false;
    setText($("plan-error"), result.error);
    return;
  }
  applyState(result, { fill: "saved" });
  const draft = result.draft;
  if (draft) status(fmt(gettext("Saved as a draft at %(time)s"), { time: clockTime(draft.updated_at) }));
}

// Runs `work` after every POST made before it, for the session shown now; drops its answer
// if the panel has moved on by then.
function enqueue(work) {
  const generation = current.generation;
  const run = async () => {
    if (generation !== current.generation) return;
    await work(() => generation === current.generation);
  };
  current.queue = current.queue.then(run, run);
  return current.queue;
}

// A POST that the operator asked for (not the autosave): one at a time. False if refused.
function act(work) {
  if (current.busy || !current.visible) return false;
  current.busy = true;
  $("plan").classList.add("is-busy");
  enqueue(work).finally(() => {
    current.busy = false;
    $("plan").classList.remove("is-busy");
  });
  return true;
}

function dirty() {
  return current.edits !== current.savedEdits;
}

function scheduleDraft() {
  window.clearTimeout(current.timer);
  current.timer = window.setTimeout(saveDraft, DRAFT_DELAY_MS);
}

function saveDraft() {
  window.clearTimeout(current.timer);
  current.timer = null;
  if (!current.visible || !dirty() || !editable()) return;
  enqueue(async (still) => {
    // A version or an earlier draft may have stored it all while this one waited its turn.
    if (!dirty()) return;
    const id = current.id;
    const edits = current.edits;
    const fields = collect();
    // A quick save stays silent; only a slow one says it is saving.
    window.clearTimeout(current.slowTimer);
    current.slowTimer = window.setTimeout(() => status(gettext("Saving…")), SLOW_SAVE_MS);
    const result = await postJson(url(id, "draft"), { fields });
    window.clearTimeout(current.slowTimer);
    if (still()) draftSaved(result, edits);
  });
}

function draftSaved(result, edits) {
  if (!result.ok) {
    status(fmt(gettext("Not saved: %(error)s"), { error: result.error }), "error");
    // A dropped connection or a busy server passes: try again without waiting for typing.
    const temporary = result.status === 0 || result.status >= 500;
    if (temporary && current.timer === null) current.timer = window.setTimeout(saveDraft, RETRY_MS);
    return;
  }
  current.savedEdits = Math.max(current.savedEdits, edits);
  status(fmt(gettext("Saved as a draft at %(time)s"), { time: clockTime(result.saved_at) }));
  if (current.data) current.data.problems = result.problems;
  renderProblems(result.problems);
}

// The page may be going away: send what is unsaved now, in a request that outlives it.
function flush() {
  window.clearTimeout(current.timer);
  current.timer = null;
  if (!current.visible || !dirty() || !editable()) return;
  const id = current.id;
  const edits = current.edits;
  const generation = current.generation;
  const fields = collect();
  postJson(url(id, "draft"), { fields }, { keepalive: true }).then((result) => {
    if (generation === current.generation) draftSaved(result, edits);
  });
}

function status(text, kind = "info") {
  const el = $("plan-status");
  el.dataset.kind = kind;
  setText(el, text);
}

function editable() {
  return Boolean(current.data && current.data.editable);
}

// ---------------------------------------------------------------------------------------
// Actions

function saveVersion(ready) {
  if (!editable()) return;
  const id = current.id;
  const edits = current.edits;
  const fields = collect();
  const started = act(async (still) => {
    status(gettext("Saving…"));
    const result = await postJson(url(id, "versions"), { fields, ready });
    if (!still()) return;
    if (result.ok) {
      current.attempted = false;
      const unchanged = current.edits === edits;
      if (unchanged) current.savedEdits = edits;
      applyState(result, { fill: unchanged ? "in_force" : null });
      const version = result.in_force;
      status(
        fmt(gettext("Version %(number)s saved at %(time)s."), {
          number: version.number,
          time: clockTime(version.created_at),
        }),
      );
      if (!unchanged) scheduleDraft();
    } else {
      status(fmt(gettext("Not saved: %(error)s"), { error: result.error }), "error");
      if (result.problems) {
        current.attempted = true;
        renderProblems(result.problems);
      }
      // What was typed stays in the form, and in the draft.
      if (dirty()) scheduleDraft();
    }
  });
  if (started) {
    // The version carries what the pending draft would have.
    window.clearTimeout(current.timer);
    current.timer = null;
  }
}

function linkFromAnswers(event) {
  event.preventDefault();
  const name = $("plan-parent").value.trim();
  const month = Number($("plan-month").value);
  const day = Number($("plan-day").value);
  let problem = null;
  if (!name) problem = ["plan-parent", gettext("Add a parent's first name.")];
  else if (!month) problem = ["plan-month", gettext("Choose the birth month.")];
  else if (!Number.isInteger(day) || day < 1 || day > 31) {
    problem = ["plan-day", gettext("Add the birth day, from 1 to 31.")];
  }
  if (problem) {
    clientMessage(problem[1], "error");
    $(problem[0]).focus();
    return;
  }
  linkClient({
    mode: "answers",
    parent_first_name: name,
    birth_month: month,
    birth_day: day,
    remember_number: $("plan-remember").checked,
  });
}

function linkRandom() {
  linkClient({ mode: "random", remember_number: $("plan-remember").checked });
}

function onReturningClick(event) {
  const button = event.target.closest("button[data-client]");
  if (button) linkClient({ mode: "returning", client_id: Number(button.dataset.client) });
}

function linkClient(body) {
  const id = current.id;
  act(async (still) => {
    clientMessage(gettext("Saving…"));
    const result = await postJson(url(id, "client"), body);
    if (!still()) return;
    if (!result.ok) {
      clientMessage(result.error, "error");
      return;
    }
    $("plan-answers").reset();
    applyState(result, { fill: null });
    // Focus on the code says it; the status line is kept for what went wrong.
    clientMessage("");
    $("plan-client-code").focus();
  });
}

function clientMessage(text, kind = "info") {
  const el = $("plan-client-message");
  el.dataset.kind = kind;
  setText(el, text);
}

function reuseLatest() {
  const latest = current.data && current.data.latest;
  if (!latest) return;
  const id = current.id;
  act(async (still) => {
    status(gettext("Saving…"));
    const result = await postJson(url(id, "reuse"), { version: latest.id });
    if (!still()) return;
    if (!result.ok) {
      status(fmt(gettext("Not saved: %(error)s"), { error: result.error }), "error");
      return;
    }
    current.savedEdits = current.edits;
    applyState(result, { fill: "in_force" });
    status(fmt(gettext("Version %(number)s is in force again."), { number: result.in_force.number }));
    $("plan-force-text").focus();
  });
}

function editLatest() {
  const latest = current.data && current.data.latest;
  if (!latest) return;
  fillForm(latest.fields);
  current.edits += 1;
  saveDraft();
  hooks.announce(gettext("Their last plan is in the form. Change what they tell you, then save a version."));
  $("plan-f-address").focus();
}

function readbackToReply() {
  const version = current.data && current.data.in_force;
  const reply = $("reply");
  if (!version || !reply) return;
  // Added after anything already typed: the reply box is the operator's, not the panel's.
  const typed = reply.value.trimEnd();
  reply.value = typed ? `${typed}\n\n${version.readback}` : version.readback;
  reply.dispatchEvent(new Event("input", { bubbles: true }));
  reply.focus();
  reply.setSelectionRange(reply.value.length, reply.value.length);
  hooks.announce(gettext("The read-back is in the reply box. Check it, then send it."));
}

function confirmPlan() {
  const version = current.data && current.data.in_force;
  if (!version) return;
  const id = current.id;
  act(async (still) => {
    const result = await postJson(url(id, "confirm"), { version: version.id });
    if (!still()) return;
    if (!result.ok) {
      status(fmt(gettext("Not saved: %(error)s"), { error: result.error }), "error");
      return;
    }
    applyState(result, { fill: null });
    status(gettext("The client confirmed the plan."));
    $("plan-force-text").focus();
  });
}

function onKey(event) {
  const save = (event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s";
  if (!save) return;
  event.preventDefault();
  saveVersion(false);
}

// ---------------------------------------------------------------------------------------
// Rendering the state

// fill: "saved" (the draft, else the version in force), "in_force", or null (keep the form).
function applyState(data, { fill }) {
  current.data = data;
  $("plan-loading").hidden = true;
  $("plan-error-box").hidden = true;
  $("plan-body").hidden = false;
  $("plan-foot").hidden = !data.editable;
  if (fill) {
    buildChoices(data);
    let source = data.in_force ? data.in_force.fields : emptyFields();
    if (fill === "saved" && data.draft) source = data.draft.fields;
    fillForm(source);
  }
  renderInForce(data);
  renderClient(data);
  renderLatest(data);
  renderProblems(data.problems);
  setEditable(data.editable);
  const version = data.in_force;
  renderBadges(
    data.client && data.client.code,
    version && { number: version.number, status: version.status, confirmed: Boolean(version.confirmed_at) },
  );
}

function renderInForce(data) {
  const version = data.in_force;
  const mine = current.summary && hooks.isMine(current.summary);
  $("plan-readback").hidden = !version || !version.readback || !mine;
  $("plan-confirm").hidden = !version || Boolean(version.confirmed_at) || !data.editable;
  const text = $("plan-force-text");
  text.setAttribute("tabindex", "-1");
  if (!version) {
    delete text.dataset.status;
    setText(text, gettext("No plan version is in force for this session yet."));
    setText($("plan-force-by"), "");
    return;
  }
  const parts = [
    fmt(gettext("Version %(number)s in force"), { number: version.number }),
    version.status_label,
  ];
  parts.push(
    version.confirmed_at
      ? fmt(gettext("Confirmed by the client at %(time)s"), { time: clockTime(version.confirmed_at) })
      : gettext("Not yet confirmed by the client"),
  );
  setText(text, parts.join(" · "));
  text.dataset.status = version.status;
  setText(
    $("plan-force-by"),
    fmt(gettext("Saved by %(name)s at %(time)s"), {
      name: version.created_by,
      time: clockTime(version.created_at),
    }),
  );
}

function renderClient(data) {
  const client = data.client;
  $("plan-client-linked").hidden = !client;
  $("plan-client-unlinked").hidden = Boolean(client) || !data.editable;
  if (client) {
    setText($("plan-client-code"), fmt(gettext("Client code %(code)s"), { code: client.code }));
    $("plan-client-remembered").hidden = !client.number_remembered;
    return;
  }
  if (!data.editable) setText($("plan-client-message"), gettext("No client code yet."));
  $("plan-returning").replaceChildren(...(data.returning || []).map(returningCard));
}

function returningCard(entry, index) {
  const titleId = `plan-returning-${index}`;
  return h(
    "div",
    { class: "plan-card", role: "group", "aria-labelledby": titleId },
    h("h4", { id: titleId, text: fmt(gettext("Returning client %(code)s"), { code: entry.code }) }),
    entry.last_version
      ? versionSummary(entry.last_version)
      : h("p", { class: "muted plan-small", text: gettext("No plan saved for them yet.") }),
    h("button", {
      type: "button",
      class: "primary",
      "data-client": String(entry.client_id),
      text: gettext("This is them: link their code"),
    }),
  );
}

function versionSummary(version) {
  const fields = version.fields || {};
  const where = [fields.address, fields.unit].filter(Boolean).join(", ");
  const rows = [
    [gettext("Address"), where || gettext("Not given")],
    [gettext("If they stop responding"), version.response_label || gettext("Not chosen")],
  ];
  if (version.region_label) rows.push([gettext("Region"), version.region_label]);
  rows.push([
    gettext("Saved"),
    fmt(gettext("Version %(number)s, %(time)s (%(status)s)"), {
      number: version.number,
      time: clockTime(version.created_at),
      status: version.status_label,
    }),
  ]);
  const items = rows.map(([term, value]) => h("div", {}, h("dt", { text: term }), h("dd", { text: value })));
  return h("dl", { class: "plan-summary" }, ...items);
}

function renderLatest(data) {
  const latest = data.latest;
  $("plan-latest").hidden = !latest;
  if (!latest) return;
  $("plan-latest-summary").replaceChildren(versionSummary(latest));
  $("plan-reuse").hidden = !data.editable;
  $("plan-edit-latest").hidden = !data.editable;
}

function renderBadges(code, planInfo) {
  setText($("conv-client"), code ? fmt(gettext("Client %(code)s"), { code }) : "");
  let text = "";
  if (planInfo) {
    const ready = planInfo.status === "ready";
    const label = ready ? gettext("Plan v%(number)s · ready") : gettext("Plan v%(number)s · not ready");
    text = fmt(label, { number: planInfo.number });
    if (planInfo.confirmed) text = fmt(gettext("%(plan)s · confirmed"), { plan: text });
  }
  setText($("conv-plan"), text);
  $("conv-plan").dataset.status = planInfo ? planInfo.status : "";
}

function setEditable(on) {
  for (const el of $("plan-form").elements) el.disabled = !on;
}

// ---------------------------------------------------------------------------------------
// The form

function emptyFields() {
  const language = current.summary && current.summary.language === "fr" ? "fr" : "en";
  return { language, contacts: [] };
}

function buildChoices(data) {
  const choices = data.choices || {};
  for (const group of RADIO_GROUPS) {
    const fieldset = $(`plan-f-${group}`);
    fieldset.querySelectorAll(".plan-radio").forEach((el) => el.remove());
    for (const [value, label] of choices[group] || []) {
      const id = `plan-${group}-${value || "none"}`;
      fieldset.append(
        h(
          "div",
          { class: "plan-radio" },
          h("input", { type: "radio", name: `plan-${group}`, id, value }),
          h("label", { for: id, text: label }),
        ),
      );
    }
  }
  const region = $("plan-f-region");
  region.replaceChildren(
    h("option", { value: "", text: gettext("Choose a region…") }),
    ...(data.regions || []).map((r) => h("option", { value: String(r.id), text: r.name })),
  );
  fillSelect($("plan-f-route"), choices.route || [], gettext("Not said"));
}

function fillSelect(select, choices, emptyLabel) {
  const options = choices.map(([value, label]) => h("option", { value, text: label }));
  if (!choices.some(([value]) => value === "")) options.unshift(h("option", { value: "", text: emptyLabel }));
  select.replaceChildren(...options);
}

function radio(group) {
  const checked = $("plan-form").querySelector(`input[name="plan-${group}"]:checked`);
  return checked ? checked.value : null;
}

function setRadio(group, value) {
  for (const input of $("plan-form").querySelectorAll(`input[name="plan-${group}"]`)) {
    input.checked = input.value === (value ?? "");
  }
}

function collect() {
  const fields = {};
  for (const [name, id] of Object.entries(TEXT_FIELDS)) fields[name] = $(id).value;
  const region = $("plan-f-region").value;
  fields.region = region ? Number(region) : null;
  fields.response = radio("response") ?? "";
  fields.order = radio("order") ?? "ems_first";
  fields.wait_for_contact = $("plan-f-wait").checked;
  fields.contacts = collectContacts();
  fields.route = $("plan-f-route").value;
  fields.naloxone = radio("naloxone") ?? "";
  fields.language = radio("language") ?? "en";
  return fields;
}

function collectContacts() {
  return [...$("plan-contacts").children].map((li) => {
    const part = (name) => li.querySelector(`[data-part="${name}"]`);
    return {
      name: part("name").value,
      phone: part("phone").value,
      relationship: part("relationship").value,
      agreed: part("agreed").checked,
      language: part("language").value || "en",
    };
  });
}

function fillForm(source) {
  const fields = { ...source };
  current.touched = new Set();
  for (const [name, id] of Object.entries(TEXT_FIELDS)) {
    $(id).value = fields[name] || "";
    if (fields[name]) current.touched.add(name);
  }
  const region = $("plan-f-region");
  const wanted = fields.region === null || fields.region === undefined ? "" : String(fields.region);
  if (wanted && ![...region.options].some((o) => o.value === wanted)) {
    region.append(h("option", { value: wanted, text: gettext("A region no longer listed") }));
  }
  region.value = wanted;
  setRadio("response", fields.response || "");
  setRadio("order", fields.order || "ems_first");
  $("plan-f-wait").checked = Boolean(fields.wait_for_contact);
  $("plan-f-route").value = fields.route || "";
  setRadio("naloxone", fields.naloxone || "");
  setRadio("language", fields.language || "en");
  for (const name of ["region", "response"]) if (fields[name]) current.touched.add(name);
  renderContacts(fields.contacts || []);
  (fields.contacts || []).forEach((contact, i) => {
    for (const part of ["name", "phone"]) if (contact[part]) current.touched.add(`contacts.${i}.${part}`);
  });
  syncConditional();
}

function renderContacts(contacts) {
  const list = $("plan-contacts");
  const focused = list.contains(document.activeElement) ? document.activeElement.id : null;
  list.replaceChildren(...contacts.map(contactItem));
  $("plan-add-contact").hidden = contacts.length >= MAX_CONTACTS;
  $("plan-contacts-none").hidden = contacts.length > 0;
  if (focused && $(focused)) $(focused).focus();
}

function contactItem(contact, index) {
  const li = $("plan-contact-template").content.firstElementChild.cloneNode(true);
  const number = index + 1;
  setText(li.querySelector('[data-slot="legend"]'), fmt(gettext("Contact %(number)s"), { number }));
  const remove = li.querySelector('[data-slot="remove"]');
  remove.dataset.remove = String(index);
  setText(remove, fmt(gettext("Remove contact %(number)s"), { number }));
  const languages = (current.data && current.data.choices && current.data.choices.language) || [];
  fillSelect(li.querySelector('select[data-part="language"]'), languages, gettext("English"));
  for (const part of ["name", "phone", "relationship", "agreed", "language"]) {
    const control = li.querySelector(`[data-part="${part}"]`);
    control.id = `plan-contact-${index}-${part}`;
    control.dataset.field = `contacts.${index}.${part}`;
    li.querySelector(`label[data-for="${part}"]`).htmlFor = control.id;
    if (part === "agreed") control.checked = Boolean(contact.agreed);
    else control.value = contact[part] || (part === "language" ? "en" : "");
  }
  return li;
}

function addContact() {
  const contacts = collectContacts();
  if (contacts.length >= MAX_CONTACTS) return;
  contacts.push({ ...EMPTY_CONTACT, language: radio("language") || "en" });
  renderContacts(contacts);
  $(`plan-contact-${contacts.length - 1}-name`).focus();
  edited();
}

function onContactsClick(event) {
  const button = event.target.closest("button[data-remove]");
  if (!button) return;
  const index = Number(button.dataset.remove);
  const contacts = collectContacts();
  contacts.splice(index, 1);
  renderContacts(contacts);
  const next = $(`plan-contact-${Math.min(index, contacts.length - 1)}-name`) || $("plan-add-contact");
  next.focus();
  hooks.announce(fmt(gettext("Contact %(number)s removed."), { number: index + 1 }));
  edited();
}

function edited() {
  current.edits += 1;
  scheduleDraft();
}

function onEdit() {
  syncConditional();
  edited();
}

function onCommit(event) {
  const field = event.target.dataset.field || (event.target.closest("[data-field]") || {}).dataset?.field;
  if (!field || current.touched.has(field)) return;
  current.touched.add(field);
  if (current.data) renderProblems(current.data.problems);
}

// The order only matters when both are called; waiting only when the contact goes first.
function syncConditional() {
  const both = radio("response") === "both";
  $("plan-f-order").hidden = !both;
  $("plan-wait-box").hidden = !(both && radio("order") === "contact_first");
}

// ---------------------------------------------------------------------------------------
// Problems: the checklist, and the fields they point at

function fieldElement(field) {
  return $("plan-form").querySelector(`[data-field="${CSS.escape(field)}"]`);
}

function shown(field) {
  return current.attempted || current.touched.has(field);
}

function renderProblems(problems) {
  const missing = (problems && problems.missing) || [];
  const advice = (problems && problems.advice) || [];
  clearMarks();
  missing.forEach((problem, i) => mark(problem, "missing", i));
  advice.forEach((problem, i) => mark(problem, "advice", i));
  $("plan-missing").replaceChildren(...missing.map(problemItem));
  $("plan-advice").replaceChildren(...advice.map(problemItem));
  $("plan-missing-box").hidden = missing.length === 0;
  $("plan-complete").hidden = missing.length > 0;
  $("plan-advice-box").hidden = advice.length === 0;
}

function problemItem(problem) {
  const attrs = { type: "button", class: "link", "data-field": problem.field, text: problem.message };
  return h("li", {}, h("button", attrs));
}

function clearMarks() {
  const form = $("plan-form");
  form.querySelectorAll(".field-problem").forEach((el) => el.remove());
  for (const el of form.querySelectorAll("[data-base-describedby]")) {
    const base = el.dataset.baseDescribedby;
    if (base) el.setAttribute("aria-describedby", base);
    else el.removeAttribute("aria-describedby");
    el.removeAttribute("aria-invalid");
    el.classList.remove("has-problem");
    delete el.dataset.baseDescribedby;
  }
}

function mark(problem, kind, index) {
  const target = fieldElement(problem.field);
  if (!target || !shown(problem.field)) return;
  const id = `plan-problem-${kind}-${index}`;
  const message = h("p", { class: `field-problem field-${kind}`, id, text: problem.message });
  const place = target.tagName === "FIELDSET" ? target : target.closest(".plan-field");
  (place || target.parentElement).append(message);
  if (!("baseDescribedby" in target.dataset)) {
    target.dataset.baseDescribedby = target.getAttribute("aria-describedby") || "";
  }
  const ids = (target.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  target.setAttribute("aria-describedby", [...ids, id].join(" "));
  if (kind !== "missing") return;
  target.classList.add("has-problem");
  // A plain group (the contacts as a whole) cannot be invalid in ARIA; its message says it.
  if (target.tagName !== "FIELDSET" || target.getAttribute("role") === "radiogroup") {
    target.setAttribute("aria-invalid", "true");
  }
}

function onProblemClick(event) {
  const button = event.target.closest("button[data-field]");
  if (!button) return;
  const field = button.dataset.field;
  current.touched.add(field);
  if (current.data) renderProblems(current.data.problems);
  focusField(field);
}

// The control to go to for a problem; "contacts.1.phone" falls back to "contacts".
function focusField(field) {
  let name = field;
  let target = fieldElement(name);
  while (!target && name.includes(".")) {
    name = name.slice(0, name.lastIndexOf("."));
    target = fieldElement(name);
  }
  if (!target) return;
  if (target.tagName === "FIELDSET") {
    target =
      target.querySelector("input:checked") ||
      target.querySelector("input:not([type=hidden]), select, textarea") ||
      target.querySelector("button:not([hidden])");
  }
  if (!target) return;
  target.scrollIntoView({ block: "center" });
  target.focus();
}
