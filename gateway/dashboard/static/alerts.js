// Health staff: alerts with acknowledge / resolve, updated live from the gateway's SSE stream.
// The stream is read with fetch() so the token travels in the Authorization header, not in a
// URL where access logs would keep it (EventSource cannot send headers).

import { api, ApiError, authHeaders } from "./api.js";
import { fmtTime, h, replaceRows } from "./dom.js";
import { N_, named, t } from "./i18n.js";
import { mountFitnessRecords } from "./fitness_records.js";
import { mountReportPicker } from "./lesson_report.js";
import { mountRecheck } from "./recheck.js";
import { mountReferrals } from "./referrals.js";
import { mountWarningLevels } from "./warning_levels.js";

export const RULE_NAMES = {
  fever: N_("alert.rule.fever"),
  hr_high: N_("alert.rule.hr_high"),
  hr_extreme: N_("alert.rule.hr_extreme"),
  hr_low: N_("alert.rule.hr_low"),
  hr_signal_lost: N_("alert.rule.hr_signal_lost"),
  device_offline: N_("alert.rule.device_offline"),
  battery_low: N_("alert.rule.battery_low"),
  clock_drift: N_("alert.rule.clock_drift"),
  warning_level: N_("alert.rule.warning_level"),
};
export const SEVERITY_NAMES = {
  info: N_("alert.severity.info"),
  warning: N_("alert.severity.warning"),
  critical: N_("alert.severity.critical"),
};
const STATE_NAMES = {
  open: N_("alert.state.open"),
  acknowledged: N_("alert.state.acknowledged"),
  resolved: N_("alert.state.resolved"),
};

// Health staff see a name where the API sends one, else the pseudonymous id. A fever of a
// card or face the roster does not know has no student: the gate's subject id is what staff
// can act on (find the card holder, enrol the card), so it is shown, marked as unknown.
export function studentOf(a) {
  if (a.student_name || a.student_id) return a.student_name ?? a.student_id;
  const subject = a.detail?.subject_id;
  return subject ? t("alerts.not_in_roster", { subject }) : "—";
}

// What the rule saw in the page's language (the gateway words it from the alert's detail;
// an older alert without that detail keeps its stored English summary), and the device that
// saw it where the row's subject is a person.
function summaryOf(a) {
  const text = a.description ?? a.summary ?? "";
  return a.device_id && (a.student_id || a.detail?.subject_id) ? `${text} · ${a.device_id}` : text;
}

const SUBJECTS = {
  student: [N_("col.student"), studentOf],
  device: [N_("col.device"), (a) => a.device_id ?? "—"],
};

// Yields {event, data} for each message of a text/event-stream body.
export async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // comment: subscription or keep-alive
        const [field, ...rest] = line.split(":");
        const text = rest.join(":").replace(/^ /, "");
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

// Device faults go to campus IT, everything about a person to health staff (as the gateway
// routes them); each role's list shows its own, so every button shown is one it may press.
const DEVICE_RULES = new Set(["device_offline", "battery_low", "clock_drift"]);
export const HEALTH = (a) => !DEVICE_RULES.has(a.rule);
export const DEVICE = (a) => DEVICE_RULES.has(a.rule);

const STATES = Object.keys(STATE_NAMES);

// Builds an alerts list inside `container`: ids are prefixed with `prefix` so two lists can
// share a page; `accept` picks the alerts this list shows; `more(alert, reload)` may add a
// button of the role's own to a row. Returns stop().
export function mountAlerts(container, say, { prefix, accept, title, subject, more }) {
  const [subjectLabel, subjectOf] = SUBJECTS[subject];
  const live = h("span", { class: "muted", id: `${prefix}-live` });
  const status = h("p", { class: "notice", id: `${prefix}-status`, hidden: true });
  const stateSelect = h("select", { id: `${prefix}-state`, name: "state" },
    h("option", { value: "" }, t("alerts.all")),
    STATES.map((s) => h("option", { value: s, selected: s === "open" }, named(STATE_NAMES, s))));
  const filter = h("form", { class: "inline", id: `${prefix}-filter` },
    h("label", { for: `${prefix}-state` }, t("alerts.show")), stateSelect);
  const tbody = h("tbody");
  const table = h("table", { id: `${prefix}-table` },
    h("caption", {}, t("alerts.caption", { title: t(title) })),
    h("thead", {}, h("tr", {}, [t("alerts.col.opened"), t("alerts.col.severity"),
      t("alerts.col.rule"), t(subjectLabel), t("alerts.col.summary"), t("col.state"),
      t("alerts.col.actions")].map((text) => h("th", { scope: "col" }, text)))),
    tbody);
  container.replaceChildren(h("p", { class: "stream" }, live), status, filter, table);
  const aborter = new AbortController();
  let available = true;

  function unavailable() {
    available = false;
    status.textContent = t("alerts.unavailable");
    status.hidden = false;
    table.hidden = true;
    filter.hidden = true;
    live.textContent = "";
  }

  async function act(alert, action) {
    try {
      await api(`/api/alerts/${alert.id}/${action}`, { method: "POST", body: {} });
      say("");
      await load();
    } catch (err) {
      say(t("alerts.action_error", { id: alert.id, error: err.message }));
    }
  }

  function row(a) {
    const button = (action, label, ariaLabel) => h("button", { type: "button",
      onclick: () => act(a, action), "aria-label": t(ariaLabel, { id: a.id }) }, t(label));
    return h("tr", { "data-alert": a.id, class: `state-${a.state}` },
      h("td", {}, fmtTime(a.opened_at)),
      h("td", { class: `sev-${a.severity}` }, named(SEVERITY_NAMES, a.severity)),
      h("td", {}, named(RULE_NAMES, a.rule)),
      h("td", {}, subjectOf(a)),
      h("td", {}, summaryOf(a)),
      h("td", {}, named(STATE_NAMES, a.state)),
      h("td", { class: "actions" },
        a.state === "open"
          ? button("acknowledge", N_("alerts.acknowledge"), N_("alerts.acknowledge_label")) : null,
        a.state !== "resolved"
          ? button("resolve", N_("alerts.resolve"), N_("alerts.resolve_label")) : null,
        more ? more(a, load) : null));
  }

  async function load() {
    const state = stateSelect.value;
    try {
      const alerts = await api(`/api/alerts${state ? `?state=${encodeURIComponent(state)}` : ""}`);
      const empty = state ? t("alerts.empty_state", { state: named(STATE_NAMES, state) })
        : t("alerts.empty");
      replaceRows(tbody, alerts.filter(accept).map(row), empty, 7);
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 503)) unavailable();
      else say(t("alerts.error", { error: err.message }));
      return false;
    }
  }

  async function follow() {
    let delay = 1000;
    while (available && !aborter.signal.aborted) {
      try {
        const response = await fetch("/api/alerts/stream", {
          headers: authHeaders({ Accept: "text/event-stream" }), signal: aborter.signal,
          cache: "no-store",
        });
        if (response.status === 404 || response.status === 503) return unavailable();
        if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
        live.textContent = t("alerts.live_connected");
        delay = 1000;
        for await (const { event } of sseEvents(response.body)) {
          if (event === "alert") await load();
        }
        live.textContent = t("alerts.live_reconnecting");
      } catch (err) {
        if (aborter.signal.aborted) return;
        live.textContent = t("alerts.live_reconnecting_error", { error: err.message });
      }
      // The stream ended or failed: wait, catch up on what was missed, then reconnect.
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30_000);
      if (available) await load();
    }
  }

  stateSelect.addEventListener("change", load);
  load().then((ok) => { if (ok) follow(); });
  return () => aborter.abort();
}

export function showAlerts(panel, say, me) {
  const reload = mountReferrals(panel.querySelector("#referrals"), say);
  panel.querySelector("#referrals-reload").addEventListener("click", reload);
  const levels = mountWarningLevels(panel.querySelector("#warning-levels"), say, me.schools);
  const recheck = mountRecheck(panel.querySelector("#recheck"), say);
  mountReportPicker(panel.querySelector("#health-report"), say, "health-report");
  mountFitnessRecords(panel.querySelector("#health-records"), say);
  // A screen not yet rechecked takes one; a recheck may confirm the fever (a case) or clear it.
  const more = (a, reloadAlerts) => (a.rule === "fever" && a.state !== "resolved"
    && a.detail?.recheck_c === undefined
    ? h("button", { type: "button", "aria-label": t("recheck.label", { id: a.id }),
      onclick: () => recheck(a, studentOf(a), () => { reloadAlerts(); levels(); }) },
    t("recheck.open"))
    : null);
  return mountAlerts(panel.querySelector("#alerts-view"), say, { prefix: "alerts",
    accept: HEALTH, title: N_("alerts.health_title"), subject: "student", more });
}
