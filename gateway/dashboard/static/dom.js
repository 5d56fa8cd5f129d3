// Small DOM helpers. Text always goes in through textContent, never as HTML, so names and
// summaries from the API cannot inject markup.

import { t, timeZone } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function replaceRows(tbody, rows, emptyText, columns) {
  tbody.replaceChildren(...(rows.length ? rows
    : [h("tr", {}, h("td", { colspan: columns, class: "muted" }, emptyText))]));
}

// Times as staff read them on the school's clock, whatever the browser's: 2026-12-04 08:05.
export function fmtTime(iso, { seconds = false } = {}) {
  if (!iso) return "—";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: timeZone(), year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: seconds ? "2-digit" : undefined, hourCycle: "h23",
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  const time = `${parts.hour}:${parts.minute}${seconds ? `:${parts.second}` : ""}`;
  return `${parts.year}-${parts.month}-${parts.day} ${time}`;
}

// The time of day on the school's clock: 08:05:09.
export function fmtClock(iso) {
  return fmtTime(iso, { seconds: true }).split(" ")[1];
}

// How long ago, from a number of seconds.
export function agoS(s) {
  if (s < 60) return t("time.seconds_ago", { n: s });
  if (s < 3600) return t("time.minutes_ago", { n: Math.floor(s / 60) });
  if (s < 86400) return t("time.hours_ago", { n: Math.floor(s / 3600) });
  return t("time.days_ago", { n: Math.floor(s / 86400) });
}

export function ago(iso, now = Date.now()) {
  if (!iso) return t("time.never");
  return agoS(Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000)));
}

export function num(value, digits = 0) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

// Repeats `task` every `ms` until the returned stop() is called; never overlaps two runs.
export function every(ms, task) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    try {
      await task();
    } finally {
      if (!stopped) timer = setTimeout(run, ms);
    }
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// A button that asks once more before it acts: the first click turns it into the question.
export function confirming(id, label, question, action) {
  const button = h("button", { type: "button", id }, label);
  button.addEventListener("click", () => {
    if (button.dataset.confirm !== "yes") {
      button.dataset.confirm = "yes";
      button.textContent = question;
      return;
    }
    button.disabled = true;
    action();
  });
  return button;
}
