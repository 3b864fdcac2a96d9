// Small DOM and formatting helpers shared by the dashboard's modules.
/* global interpolate */

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

export function fmt(text, values) {
  return interpolate(text, values, true);
}

export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// The line's own zone (the page's data-time-zone), not the browser's: every screen, the
// review pages included, shows one zone, and the page header names it.
export const timeZone = document.documentElement.dataset.timeZone || undefined;
const locale = document.documentElement.lang || undefined;
const timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone });
const dateTimeFormat = new Intl.DateTimeFormat(locale, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone,
});
const dayKey = new Intl.DateTimeFormat("en-CA", { dateStyle: "short", timeZone });

export function clockTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = dayKey.format(new Date()) === dayKey.format(date);
  return (today ? timeFormat : dateTimeFormat).format(date);
}
