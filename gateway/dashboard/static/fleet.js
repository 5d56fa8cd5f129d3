// Campus IT: every device with its state, battery, firmware and models; problems highlighted.

import { api, health } from "./api.js";
import { DEVICE, mountAlerts } from "./alerts.js";
import { KIND_NAMES } from "./device_kinds.js";
import { ago, every, fmtTime, h, num, replaceRows } from "./dom.js";
import { N_, named, t } from "./i18n.js";
import { mountBoxCommands } from "./box_commands.js";
import { mountEnrolment } from "./enrolment.js";
import { mountRosterImport } from "./roster_import.js";
import { mountUsers } from "./users.js";

const LOW_BATTERY_PCT = 20;
const STALE_AFTER_S = 300; // no message for 5 minutes while said to be online

const STATE_NAMES = {
  online: N_("device.state.online"),
  offline: N_("device.state.offline"),
  unknown: N_("device.state.unknown"),
  stopped: N_("device.state.stopped"),
};
const PROBLEM_NAMES = {
  offline: N_("device.problem.offline"),
  "box-offline": N_("device.problem.box_offline"),
  "low-battery": N_("device.problem.low_battery"),
  stale: N_("device.problem.stale"),
};

// A box that publishes only its status (an edge box) is heard from by its status messages.
function lastHeard(device) {
  const times = [device.last_seen, device.status_at].filter(Boolean).map((t) => new Date(t).getTime());
  return times.length ? Math.max(...times) : null;
}

// A device its box stopped cleanly (maintenance, a restart) is offline on purpose: shown as
// "stopped", not as something to attend to.
export function stateLabel(device) {
  return device.state === "offline" && device.stopped ? "stopped" : device.state;
}

export function problems(device, now = Date.now()) {
  const out = [];
  const state = stateLabel(device);
  if (state === "stopped") return out;
  if (state === "offline") out.push("offline");
  // Said online, but the box it is reached through died since (its last will): unknown.
  if (state === "unknown" && device.edge_state === "offline") out.push("box-offline");
  if (device.battery_pct !== null && device.battery_pct < LOW_BATTERY_PCT) out.push("low-battery");
  const seen = lastHeard(device);
  if (state !== "offline" && (seen === null || now - seen > STALE_AFTER_S * 1000)) {
    out.push("stale");
  }
  return out;
}

// Agents before the fix reported a device's uptime counter against the wall clock as a
// "clock offset" (its boot time, ~1.8e9 s): no clock is that far off, so it is not shown.
const UPTIME_AS_OFFSET = /^clock offset [+-]?\d{7,}(\.\d+)? s$/;

export function shownDetail(device) {
  const detail = device.detail ?? "";
  return UPTIME_AS_OFFSET.test(detail) ? "" : detail;
}

function row(device, now) {
  const issues = problems(device, now);
  const state = stateLabel(device);
  const models = Object.entries(device.model_versions || {}).map(([k, v]) => `${k} ${v}`);
  // The state is already the cell's text: a flag repeating it ("offline offline") says nothing.
  const flags = issues.filter((issue) => issue !== state).map((issue) =>
    h("span", { class: issue === "low-battery" ? "flag warn" : "flag" }, named(PROBLEM_NAMES, issue)));
  return h("tr", { class: [...issues, state === "stopped" ? "stopped" : null].filter(Boolean).join(" "),
    "data-device": device.device_id },
    h("th", { scope: "row" }, device.device_id),
    h("td", {}, named(KIND_NAMES, device.kind)),
    h("td", { class: "state" }, h("span", { class: `state-${state}` }, named(STATE_NAMES, state)), flags,
      shownDetail(device) ? h("div", { class: "detail muted" }, shownDetail(device)) : null,
      device.edge_id ? h("div", { class: "via muted" },
        device.edge_state
          ? t("fleet.via_state", { box: device.edge_id, state: named(STATE_NAMES, device.edge_state) })
          : t("fleet.via", { box: device.edge_id })) : null),
    h("td", { class: "num battery" }, device.battery_pct === null ? "—" : `${num(device.battery_pct)} %`),
    h("td", {}, device.firmware ?? "—"),
    h("td", {}, models.length ? models.join(", ") : "—"),
    h("td", { title: fmtTime(device.last_seen) },
      ago(lastHeard(device) && new Date(lastHeard(device)).toISOString(), now)),
    h("td", { class: "num" }, device.messages));
}

function showHealth(list, { ok, body }) {
  const item = (label, value, cls) => h("div", {}, h("dt", {}, label), h("dd", { class: cls }, value));
  const STATUS_NAMES = { ok: N_("health.ok"), degraded: N_("health.degraded") };
  list.replaceChildren(
    item(t("health.gateway"), named(STATUS_NAMES, body.status ?? (ok ? "ok" : "degraded")),
      ok ? "status-ok" : "status-bad"),
    item(t("health.mqtt"), t(body.mqtt_connected ? "health.connected" : "health.disconnected"),
      body.mqtt_connected ? "status-ok" : "status-bad"),
    item(t("health.writer"), t(body.writer_alive ? "health.running" : "health.stopped"),
      body.writer_alive ? "status-ok" : "status-bad"),
    item(t("health.last_commit"), body.last_commit_age_s === null ? t("health.none_yet")
      : t("time.seconds_ago", { n: Math.round(body.last_commit_age_s) })),
    item(t("health.stored"), body.stored ?? "—"),
    item(t("health.dead_lettered"), body.dead_lettered ?? "—"));
}

export function showFleet(panel, say, me) {
  mountRosterImport(panel.querySelector("#roster-import"));
  mountUsers(panel.querySelector("#users-admin"), me);
  mountEnrolment(panel.querySelector("#enrolment"), me);
  const stopCommands = mountBoxCommands(panel.querySelector("#box-commands"), me);
  const tbody = panel.querySelector("#fleet-table tbody");
  const stopAlerts = mountAlerts(panel.querySelector("#device-alerts"), say,
    { prefix: "device-alerts", accept: DEVICE, title: N_("fleet.device_alerts"), subject: "device" });
  const stopFleet = every(5000, async () => {
    try {
      const [devices, gw] = await Promise.all([api("/api/devices"), health()]);
      const now = Date.now();
      // Problems first, then by id, so a glance at the top of the table is enough.
      devices.sort((a, b) => (problems(b, now).length - problems(a, now).length)
        || a.device_id.localeCompare(b.device_id));
      replaceRows(tbody, devices.map((d) => row(d, now)), t("fleet.empty"), 8);
      const bad = devices.filter((d) => problems(d, now).length).length;
      const stopped = devices.filter((d) => stateLabel(d) === "stopped").length;
      panel.querySelector("#fleet-summary").textContent = t(
        stopped ? "fleet.summary_stopped" : "fleet.summary",
        { total: devices.length, bad, low: LOW_BATTERY_PCT, minutes: STALE_AFTER_S / 60, stopped });
      showHealth(panel.querySelector("#gateway-health"), gw);
      say("");
    } catch (err) {
      say(t("fleet.error", { error: err.message }));
    }
  });
  return () => {
    stopFleet();
    stopAlerts();
    stopCommands();
  };
}
