// JSON requests to the console's API: the CSRF header, and one error sentence whatever fails.
/* global gettext */

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// Answers {ok: true, status, ...data} or {ok: false, status, error, ...data}: a refusal may
// carry more than its sentence (the plan's `problems`).
export async function requestJson(url, { method = "GET", body = undefined, keepalive = false } = {}) {
  const init = { method, credentials: "same-origin", keepalive, headers: { Accept: "application/json" } };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRFToken"] = csrfToken();
    init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    return { ok: false, status: 0, error: gettext("The console could not be reached. Please try again.") };
  }
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = {};
  }
  if (response.ok && data.ok) return { ...data, status: response.status };
  let error = data.error || gettext("Something went wrong. Please try again.");
  if (response.status === 401) error = gettext("Your login has ended. Please log in again.");
  if (response.status === 403 && !data.error) {
    error = gettext("The page has expired. Please reload it and try again.");
  }
  return { ...data, ok: false, status: response.status, error };
}

export function getJson(url) {
  return requestJson(url);
}

export function postJson(url, body = {}, { keepalive = false } = {}) {
  return requestJson(url, { method: "POST", body, keepalive });
}
