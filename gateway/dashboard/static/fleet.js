// Campus IT: every device with its state, battery, firmware and models; problems highlighted.

import { api, health } from "./api.js";
import { DEVICE, mountAlerts } from "./alerts.js";
import { ago, every, fmtTime, h, num, replaceRows } from "./dom.js";

const LOW_BATTERY_PCT = 20;
const STALE_AFTER_S = 300; // no message for 5 minutes while said to be online

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
    h("span", { class: issue === "low-battery" ? "flag warn" : "flag" }, issue.replace("-", " ")));
  return h("tr", { class: [...issues, state === "stopped" ? "stopped" : null].filter(Boolean).join(" "),
    "data-device": device.device_id },
    h("th", { scope: "row" }, device.device_id),
    h("td", {}, device.kind),
    h("td", { class: "state" }, h("span", { class: `state-${state}` }, state), flags,
      shownDetail(device) ? h("div", { class: "detail muted" }, shownDetail(device)) : null,
      device.edge_id ? h("div", { class: "via muted" },
        `via ${device.edge_id}${device.edge_state ? ` (${device.edge_state})` : ""}`) : null),
    h("td", { class: "num battery" }, device.battery_pct === null ? "—" : `${num(device.battery_pct)} %`),
    h("td", {}, device.firmware ?? "—"),
    h("td", {}, models.length ? models.join(", ") : "—"),
    h("td", { title: fmtTime(device.last_seen) },
      ago(lastHeard(device) && new Date(lastHeard(device)).toISOString(), now)),
    h("td", { class: "num" }, device.messages));
}

function showHealth(list, { ok, body }) {
  const item = (label, value, cls) => h("div", {}, h("dt", {}, label), h("dd", { class: cls }, value));
  list.replaceChildren(
    item("Gateway", body.status ?? (ok ? "ok" : "degraded"), ok ? "status-ok" : "status-bad"),
    item("MQTT", body.mqtt_connected ? "connected" : "disconnected",
      body.mqtt_connected ? "status-ok" : "status-bad"),
    item("Writer", body.writer_alive ? "running" : "stopped",
      body.writer_alive ? "status-ok" : "status-bad"),
    item("Last commit", body.last_commit_age_s === null ? "none yet" : `${body.last_commit_age_s} s ago`),
    item("Stored", body.stored ?? "—"),
    item("Dead-lettered", body.dead_lettered ?? "—"));
}

export function showFleet(panel, say) {
  const tbody = panel.querySelector("#fleet-table tbody");
  const stopAlerts = mountAlerts(panel.querySelector("#device-alerts"), say,
    { prefix: "device-alerts", accept: DEVICE, title: "Device alerts", subject: "device" });
  const stopFleet = every(5000, async () => {
    try {
      const [devices, gw] = await Promise.all([api("/api/devices"), health()]);
      const now = Date.now();
      // Problems first, then by id, so a glance at the top of the table is enough.
      devices.sort((a, b) => (problems(b, now).length - problems(a, now).length)
        || a.device_id.localeCompare(b.device_id));
      replaceRows(tbody, devices.map((d) => row(d, now)), "No device has reported yet.", 8);
      const bad = devices.filter((d) => problems(d, now).length).length;
      const stopped = devices.filter((d) => stateLabel(d) === "stopped").length;
      panel.querySelector("#fleet-summary").textContent =
        `${devices.length} devices, ${bad} needing attention (offline or behind an offline ` +
        `edge box, battery under ` +
        `${LOW_BATTERY_PCT} % or silent for ${STALE_AFTER_S / 60} min)` +
        (stopped ? `, ${stopped} stopped on purpose (box stopped cleanly).` : ".");
      showHealth(panel.querySelector("#gateway-health"), gw);
      say("");
    } catch (err) {
      say(`Fleet: ${err.message}`);
    }
  });
  return () => {
    stopFleet();
    stopAlerts();
  };
}
