// The dispatch call on the operator's screen: each leg's status, live, and a hang-up control.
//
// The server sends the call's state in one shape (dispatch/selectors.py, dispatch_call_dict):
// inside every alarm of a snapshot or resync, and as a `dispatch_call` event each time a leg
// moves. The legs' labels come translated from the server; only what this page says before
// the server has answered is translated here.
/* global gettext */

import { postJson } from "./api.js";
import { h } from "./dom.js";

const LEG_NAMES = {
  operator: () => gettext("Your phone"),
  dispatch: () => gettext("Dispatch line"),
};

// Events about one call can arrive out of order (the worker and the web process both publish):
// a leg only moves forward, as in the outbox (telephony/models.py, CALL_RANK).
const RANK = { queued: 0, sending: 1, initiated: 2, ringing: 3, "in-progress": 4 };
const rank = (status) => (status in RANK ? RANK[status] : 5);

export function merged(known, incoming) {
  if (!known || !known.legs) return incoming;
  const before = new Map(known.legs.map((leg) => [`${leg.leg}-${leg.id}`, leg]));
  const legs = incoming.legs.map((leg) => {
    const old = before.get(`${leg.leg}-${leg.id}`);
    return old && rank(old.status) > rank(leg.status) ? old : leg;
  });
  return { ...incoming, legs, live: legs.some((leg) => rank(leg.status) < 5) };
}

// What the screen shows between the click and the first report of the legs.
export function placing(alarm) {
  return {
    type: "dispatch_call",
    session_id: alarm.session_id,
    escalation_id: alarm.id,
    live: true,
    legs: [
      { leg: "operator", status: "queued", label: gettext("Calling your phone") },
      { leg: "dispatch", status: "queued", label: gettext("Calling dispatch") },
    ],
  };
}

function legItem(alarm, leg) {
  const nameId = `call-${alarm.id}-${leg.leg}`;
  const name = (LEG_NAMES[leg.leg] || (() => leg.leg))();
  return h(
    "li",
    { class: "dispatch-leg", "data-leg": leg.leg, "data-status": leg.status, "aria-labelledby": nameId },
    h("span", { id: nameId, class: "dispatch-leg-name", text: name }),
    h("span", { class: "dispatch-leg-status", text: leg.label }),
  );
}

// The legs and, while any is live, the hang-up button; `message` is this page's last word
// (a refusal, say), shown beneath.
export function part(alarm, message, kind) {
  const call = alarm.call || { legs: [], live: false };
  const legs = call.legs || [];
  const listId = `call-${alarm.id}-legs`;
  return h(
    "div",
    { class: "dispatch-call", "data-live": call.live ? "true" : "false" },
    legs.length
      ? h(
          "div",
          { role: "status", "aria-live": "polite", "aria-labelledby": listId },
          h("p", { id: listId, class: "dispatch-call-title", text: gettext("Dispatch call") }),
          h("ul", { class: "dispatch-legs" }, ...legs.map((leg) => legItem(alarm, leg))),
        )
      : null,
    call.live
      ? h("button", {
          type: "button",
          class: "danger",
          "data-action": "hangup",
          "data-key": "hangup",
          "data-id": alarm.id,
          "aria-label": gettext("Hang up the dispatch call"),
          text: gettext("Hang up"),
        })
      : null,
    h("p", { class: "alarm-result", role: "status", "data-kind": kind || "info", text: message || "" }),
  );
}

// Answers {call, error}: the call's state as the server now knows it, or why it refused.
export async function hangUp(alarm, url) {
  const result = await postJson(url, { escalation: alarm.id });
  if (result.ok) return { call: result.call, error: "" };
  return { call: null, error: result.error };
}
