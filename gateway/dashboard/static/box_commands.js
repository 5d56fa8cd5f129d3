// Campus IT manage their edge boxes: send a config or rope command to a box, roll a signed
// pose model out to a share of a school's boxes, and follow each command to the box's answer
// (queued, sent, applied, or failed with the box's reason).

import { api } from "./api.js";
import { every, fmtTime, h, replaceRows } from "./dom.js";
import { field, showErrors } from "./form_errors.js";
import { N_, named, t } from "./i18n.js";

const STATE_NAMES = {
  queued: N_("cmd.state.queued"),
  sent: N_("cmd.state.sent"),
  applied: N_("cmd.state.applied"),
  failed: N_("cmd.state.failed"),
};
const NAME_NAMES = {
  config: N_("cmd.name.config"),
  rope: N_("cmd.name.rope"),
  model: N_("cmd.name.model"),
};
const SEND_FIELDS = { school: "cmd-school", box: "cmd-box", name: "cmd-name", body: "cmd-body" };
const ROLLOUT_FIELDS = { school: "rollout-school", sha256: "rollout-model", percent: "rollout-percent" };

// What a command asked, in one short line (a model by its file and hash, else its JSON).
function asked(command) {
  if (command.name === "model") return `${command.body.file} ${String(command.body.sha256).slice(0, 12)}`;
  return JSON.stringify(command.body);
}

function row(command) {
  return h("tr", { "data-command": command.id, class: `cmd-${command.state}` },
    h("td", {}, command.box),
    h("td", {}, named(NAME_NAMES, command.name)),
    h("td", { class: "asked" }, asked(command)),
    h("td", { class: "state" }, named(STATE_NAMES, command.state),
      command.detail ? h("div", { class: "detail muted" }, command.detail) : null),
    h("td", {}, fmtTime(command.created_at)),
    h("td", {}, command.created_by));
}

export function mountBoxCommands(container, me) {
  const schoolSelect = (id) => h("select", { id, name: "school" },
    me.schools.map((s) => h("option", { value: s }, s)));
  const listSchool = schoolSelect("cmd-list-school");
  const sendSchool = schoolSelect("cmd-school");
  const box = h("input", { id: "cmd-box", name: "box", autocomplete: "off", maxlength: 64 });
  const name = h("select", { id: "cmd-name", name: "name" },
    ["config", "rope"].map((n) => h("option", { value: n }, named(NAME_NAMES, n))));
  const body = h("textarea", { id: "cmd-body", name: "body", rows: 3, cols: 48,
    placeholder: '{"config_version": "8", "devices": {}}' });
  const sendWhole = h("p", { class: "error", id: "cmd-error", role: "alert" });
  const rolloutSchool = schoolSelect("rollout-school");
  const model = h("select", { id: "rollout-model", name: "sha256" });
  const percent = h("input", { id: "rollout-percent", name: "percent", inputmode: "numeric",
    size: 4, value: "10" });
  const rolloutWhole = h("p", { class: "error", id: "rollout-error", role: "alert" });
  const status = h("p", { id: "cmd-status", role: "status" });
  const tbody = h("tbody");

  async function refresh() {
    try {
      const listed = await api(`/api/fleet/commands?school=${encodeURIComponent(listSchool.value)}`);
      replaceRows(tbody, listed.map(row), t("cmd.none"), 6);
    } catch (err) {
      status.textContent = t("cmd.failed", { error: err.detail ?? err.message });
    }
  }

  async function send(event) {
    event.preventDefault();
    showErrors(null, SEND_FIELDS, sendWhole);
    let parsed;
    try {
      parsed = JSON.parse(body.value || "{}");
    } catch {
      document.getElementById("cmd-body-error").textContent = t("cmd.not_json");
      return;
    }
    try {
      const sent = await api("/api/fleet/commands", { method: "POST", body: {
        school: sendSchool.value, box: box.value.trim(), name: name.value, body: parsed } });
      status.textContent = t("cmd.sent", { id: sent.id, box: sent.box,
        state: named(STATE_NAMES, sent.state) });
      listSchool.value = sendSchool.value;
      await refresh();
    } catch (err) {
      showErrors(err, SEND_FIELDS, sendWhole);
    }
  }

  async function rollOut(event) {
    event.preventDefault();
    showErrors(null, ROLLOUT_FIELDS, rolloutWhole);
    try {
      const done = await api("/api/fleet/rollouts", { method: "POST", body: {
        school: rolloutSchool.value, sha256: model.value, percent: Number(percent.value) } });
      status.textContent = t("cmd.rolled_out", { boxes: done.boxes,
        included: done.included.join(", ") || "—", queued: done.queued.length });
      listSchool.value = rolloutSchool.value;
      await refresh();
    } catch (err) {
      showErrors(err, ROLLOUT_FIELDS, rolloutWhole);
    }
  }

  async function loadModels() {
    try {
      const models = await api("/api/fleet/models");
      model.replaceChildren(...models.map((m) =>
        h("option", { value: m.sha256 }, `${m.file} · ${m.sha256.slice(0, 12)}`)));
    } catch (err) {
      status.textContent = t("cmd.failed", { error: err.detail ?? err.message });
    }
  }

  listSchool.addEventListener("change", refresh);
  container.replaceChildren(
    h("p", { class: "help" }, t("cmd.help")),
    h("form", { id: "cmd-form", onsubmit: send },
      field("cmd-school", t("cmd.school"), sendSchool),
      field("cmd-box", t("cmd.box"), box),
      field("cmd-name", t("cmd.name"), name),
      field("cmd-body", t("cmd.body"), body),
      sendWhole,
      h("button", { type: "submit", id: "cmd-submit" }, t("cmd.submit"))),
    h("form", { id: "rollout-form", onsubmit: rollOut },
      field("rollout-school", t("cmd.school"), rolloutSchool),
      field("rollout-model", t("cmd.model"), model),
      field("rollout-percent", t("cmd.percent"), percent),
      rolloutWhole,
      h("button", { type: "submit", id: "rollout-submit" }, t("cmd.roll_out"))),
    status,
    field("cmd-list-school", t("cmd.list_school"), listSchool),
    h("button", { type: "button", id: "cmd-refresh", onclick: refresh }, t("cmd.refresh")),
    h("table", { id: "commands-table" },
      h("caption", {}, t("cmd.caption")),
      h("thead", {}, h("tr", {}, [N_("cmd.col.box"), N_("cmd.col.name"), N_("cmd.col.asked"),
        N_("col.state"), N_("cmd.col.created"), N_("cmd.col.by")].map((key) =>
        h("th", { scope: "col" }, t(key))))),
      tbody));
  loadModels();
  return every(5000, refresh);
}
