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
const STATE_ORDER = { open: 0, acknowledged: 1, resolved: 2 };

// When an alert last changed: it is seen again (count, last_seen_at), acknowledged or resolved.
function changedAt(a) {
  return Math.max(...[a.last_seen_at, a.acknowledged_at, a.resolved_at]
    .filter(Boolean).map((at) => Date.parse(at)));
}

// Whether copy `a` of an alert is older than copy `b` of the same alert. An alert's state only
// moves forward (open, acknowledged, resolved), so the later state is the newer copy; within a
// state, the later change, then the higher count or escalation level.
export function isOlder(a, b) {
  const order = (STATE_ORDER[a.state] - STATE_ORDER[b.state]) || (changedAt(a) - changedAt(b))
    || (a.count - b.count) || (a.escalation_level - b.escalation_level);
  return order < 0;
}

// Keeps in `known` the newer of its copy and `a`; a tie keeps the copy it has (a copy the
// stream brought during a list request is merged again on top of the list's answer, which
// may hold a change the stream does not tell, such as a recheck's reading).
function merge(known, a) {
  const had = known.get(a.id);
  if (!had || isOlder(had, a)) known.set(a.id, a);
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

// Builds an alerts list inside `container`: ids are prefixed with `prefix` so two lists can
// share a page; `accept` picks the alerts this list shows; `more(alert, reload)` may add a
// button of the role's own to a row. Returns stop().
//
// The live stream is opened first and the list loaded once it is subscribed, so that an alert
// raised while the list loads comes as an event if the list's answer misses it. The stream's
// copy and the list's row of one alert are one row, the newer copy winning. A list that cannot
// be loaded is said to be out of date and asked for again, waiting longer each time.
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
  let loaded = false; // a first list has been shown (till then the table says it is loading)
  let known = new Map(); // alert id -> the newest copy heard of it
  // The copies the stream brought while the list request was on its way: its answer may be
  // older than they are, so they are merged again on top of it.
  let heardDuring = null;
  let retryDelay = RETRY_FIRST_MS;
  let retryTimer = null;
  let loading = false;
  let again = false;

  function unavailable() {
    available = false;
    clearTimeout(retryTimer);
    status.textContent = t("alerts.unavailable");
    status.hidden = false;
    table.hidden = true;
    filter.hidden = true;
    live.textContent = "";
  }

  function render() {
    const state = stateSelect.value;
    const shown = [...known.values()]
      .filter((a) => accept(a) && (!state || a.state === state))
      .sort((a, b) => b.id - a.id);
    const empty = state ? t("alerts.empty_state", { state: named(STATE_NAMES, state) })
      : t("alerts.empty");
    replaceRows(tbody, shown.map(row), loaded ? empty : t("alerts.loading"), 7);
  }

  function heard(alerts) {
    for (const a of alerts) merge(known, a);
    heardDuring?.push(...alerts);
    render();
  }

  async function act(alert, action) {
    try {
      const changed = await api(`/api/alerts/${alert.id}/${action}`, { method: "POST", body: {} });
      say("");
      heard([changed]);
      refresh();
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
        more ? more(a, refresh) : null));
  }

  // One list request (one at a time: see refresh).
  async function load() {
    const state = stateSelect.value;
    heardDuring = [];
    try {
      const alerts = await api(`/api/alerts${state ? `?state=${encodeURIComponent(state)}` : ""}`);
      const fresh = new Map(alerts.map((a) => [a.id, a]));
      for (const a of heardDuring) merge(fresh, a);
      known = fresh;
      loaded = true;
      render();
    } finally {
      heardDuring = null;
    }
  }

  // Loads the list; a failed load says the list is out of date and is tried again later.
  // Asked again while a load is on its way, it loads once more after that one (a burst of
  // events is one more request, not one each).
  async function refresh() {
    if (!available) return;
    if (loading) {
      again = true;
      return;
    }
    clearTimeout(retryTimer);
    loading = true;
    try {
      await load();
      retryDelay = RETRY_FIRST_MS;
      status.hidden = true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 503)) {
        unavailable();
        return;
      }
      if (aborter.signal.aborted) return;
      status.textContent = t("alerts.stale", { error: err.message,
        seconds: Math.round(retryDelay / 1000) });
      status.hidden = false;
      retryTimer = setTimeout(refresh, retryDelay);
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
      again = false; // the retry is that one more load
    } finally {
      loading = false;
    }
    if (again) {
      again = false;
      refresh();
    }
  }

  async function follow() {
    let delay = RETRY_FIRST_MS;
    while (available && !aborter.signal.aborted) {
      try {
        const response = await fetch("/api/alerts/stream", {
          headers: authHeaders({ Accept: "text/event-stream" }), signal: aborter.signal,
          cache: "no-store",
        });
        if (response.status === 404 || response.status === 503) return unavailable();
        if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
        // The gateway subscribes this stream before it answers: from here on nothing is
        // missed, so the list (everything before) is loaded now, also after a reconnection.
        live.textContent = t("alerts.live_connected");
        delay = RETRY_FIRST_MS;
        refresh();
        for await (const { event, data } of sseEvents(response.body)) {
          if (event !== "alert") continue;
          heard(JSON.parse(data).alerts);
          // What the stream does not tell (another person's acknowledgement) comes with
          // the list.
          refresh();
        }
        live.textContent = t("alerts.live_reconnecting");
      } catch (err) {
        if (aborter.signal.aborted) return undefined;
        live.textContent = t("alerts.live_reconnecting_error", { error: err.message });
      }
      // A stream that cannot be opened does not keep the list from being shown.
      if (!loaded) refresh();
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
    return undefined;
  }

  stateSelect.addEventListener("change", refresh);
  render();
  follow();
  return () => {
    aborter.abort();
    clearTimeout(retryTimer);
  };
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
