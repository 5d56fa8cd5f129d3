// Health staff: alerts with acknowledge / resolve, updated live from the gateway's SSE stream.
// The stream is read with fetch() so the token travels in the Authorization header, not in a
// URL where access logs would keep it (EventSource cannot send headers).

import { api, ApiError, authHeaders } from "./api.js";
import { fmtTime, h, replaceRows } from "./dom.js";

const UNAVAILABLE = "The alerts service is not available on this gateway " +
  "(it is not installed or is switched off). Alerts cannot be shown here.";

const student = (a) => a.student_name ?? a.student_id ?? "—";

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

export function showAlerts(panel, say) {
  const tbody = panel.querySelector("#alerts-table tbody");
  const status = panel.querySelector("#alerts-status");
  const live = panel.querySelector("#alerts-live");
  const stateSelect = panel.querySelector("#alerts-state");
  const aborter = new AbortController();
  let available = true;

  function unavailable() {
    available = false;
    status.textContent = UNAVAILABLE;
    status.hidden = false;
    panel.querySelector("#alerts-table").hidden = true;
    panel.querySelector("#alerts-filter").hidden = true;
    live.textContent = "";
  }

  async function act(alert, action) {
    try {
      await api(`/api/alerts/${alert.id}/${action}`, { method: "POST", body: {} });
      say("");
      await load();
    } catch (err) {
      say(`Alert ${alert.id}: ${err.message}`);
    }
  }

  function row(a) {
    const open = a.state === "open";
    return h("tr", { "data-alert": a.id, class: `state-${a.state}` },
      h("td", {}, fmtTime(a.opened_at)),
      h("td", { class: `sev-${a.severity}` }, a.severity),
      h("td", {}, a.rule.replaceAll("_", " ")),
      h("td", {}, student(a)),
      h("td", {}, a.summary ?? ""),
      h("td", {}, a.state),
      h("td", {},
        open ? h("button", { type: "button", onclick: () => act(a, "acknowledge"),
          "aria-label": `Acknowledge alert ${a.id}` }, "Acknowledge") : null,
        a.state !== "resolved" ? h("button", { type: "button", onclick: () => act(a, "resolve"),
          "aria-label": `Resolve alert ${a.id}` }, "Resolve") : null));
  }

  async function load() {
    const state = stateSelect.value;
    try {
      const alerts = await api(`/api/alerts${state ? `?state=${encodeURIComponent(state)}` : ""}`);
      replaceRows(tbody, alerts.map(row), `No ${state || ""} alerts.`, 7);
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 503)) unavailable();
      else say(`Alerts: ${err.message}`);
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
        live.textContent = "(live)";
        delay = 1000;
        for await (const { event } of sseEvents(response.body)) {
          if (event === "alert") await load();
        }
      } catch (err) {
        if (aborter.signal.aborted) return;
        live.textContent = `(reconnecting: ${err.message})`;
      }
      // The stream ended or failed: catch up on what was missed, then reconnect.
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30_000);
      if (available) await load();
    }
  }

  stateSelect.addEventListener("change", load);
  load().then((ok) => { if (ok) follow(); });
  return () => aborter.abort();
}
