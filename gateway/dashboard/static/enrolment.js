// Campus IT: enrol an edge box, a device behind a box, or a device that speaks MQTT itself,
// for one of their schools; a new login's files (credentials, CA and client certificate, key)
// are shown once, to copy or save onto the box. Devices heard but refused as not enrolled are
// listed to enrol with one click; enrolled ones can be revoked after a confirmation.

import { api } from "./api.js";
import { KIND_NAMES } from "./device_kinds.js";
import { confirming, fmtTime, h, replaceRows } from "./dom.js";
import { field, showErrors } from "./form_errors.js";
import { N_, named, t } from "./i18n.js";
import { secret } from "./shown_once.js";

// What became of the broker (its password and ACL files) after a change.
const BROKER_NOTES = {
  reloaded: N_("enrol.broker.reloaded"),
  not_running: N_("enrol.broker.not_running"),
  no_broker_folder: N_("enrol.broker.no_broker_folder"),
  reload_failed: N_("enrol.broker.reload_failed"),
};

const FIELDS = { school: "enrol-school", device_id: "enrol-device", kind: "enrol-kind",
  box: "enrol-box", broker_host: "enrol-host", broker_port: "enrol-port" };

function brokerNote(broker) {
  return broker.state in BROKER_NOTES
    ? t(BROKER_NOTES[broker.state], { detail: broker.detail ?? "" }) : broker.state;
}

export function mountEnrolment(container, me) {
  const status = h("p", { id: "enrol-status", role: "status" });
  const once = h("div", { id: "enrol-result" });
  const pendingBody = h("tbody");
  const enrolledBody = h("tbody");
  let boxes = [];

  const school = h("select", { id: "enrol-school", name: "school" },
    me.schools.map((s) => h("option", { value: s }, s)));
  const device = h("input", { id: "enrol-device", name: "device_id", autocomplete: "off",
    maxlength: 64 });
  const kind = h("select", { id: "enrol-kind", name: "kind" },
    // An edge box first: the devices behind it are enrolled after it.
    ["edge", ...Object.keys(KIND_NAMES).filter((k) => k !== "edge")].map((k) =>
      h("option", { value: k }, named(KIND_NAMES, k))));
  const box = h("select", { id: "enrol-box", name: "box" });
  const host = h("input", { id: "enrol-host", name: "broker_host", autocomplete: "off" });
  const port = h("input", { id: "enrol-port", name: "broker_port", inputmode: "numeric", size: 6 });
  const whole = h("p", { class: "error", id: "enrol-error", role: "alert" });

  function done(text, error = false) {
    status.className = error ? "error" : "";
    status.textContent = text;
  }

  // The boxes a device can be behind: the school's; an edge box is behind none.
  function fillBoxes() {
    const chosen = box.value;
    box.replaceChildren(h("option", { value: "" }, t("enrol.own_login")),
      ...boxes.filter((b) => b.school === school.value && !(b.devices.length === 1
        && b.devices[0] === b.box)).map((b) => h("option", { value: b.box }, b.box)));
    box.value = [...box.options].some((o) => o.value === chosen) ? chosen : "";
    box.disabled = kind.value === "edge";
  }
  school.addEventListener("change", fillBoxes);
  kind.addEventListener("change", fillBoxes);

  function showCredentials(result) {
    const c = result.credentials;
    let said = t("enrol.enrolled_behind", { device: result.device_id, box: result.box });
    if (c) {
      said = t(result.renewed ? "enrol.renewed" : "enrol.enrolled_login",
        { device: result.device_id, school: result.school });
    }
    const parts = [h("p", {}, said),
    h("p", { class: "help", id: "enrol-broker" }, brokerNote(result.broker))];
    if (c) {
      const config = [`kind: edge_box`, `edge_id: ${result.device_id}`, `school: ${result.school}`,
        "mqtt_credentials: credentials.json", ""].join("\n");
      parts.push(h("p", {}, t("enrol.files_help")),
        secret("cred-json", "credentials.json", c.credentials_json, "credentials.json"),
        secret("cred-ca", "ca.crt", c.ca_crt, "ca.crt"),
        secret("cred-crt", "client.crt", c.client_crt, "client.crt"),
        secret("cred-key", "client.key", c.client_key, "client.key"));
      if (result.kind === "edge") {
        parts.push(secret("cred-config", t("enrol.config"), config));
      }
    }
    once.replaceChildren(h("div", { class: c ? "once" : "" }, parts));
  }

  async function enrol(event) {
    event.preventDefault();
    showErrors(null, FIELDS, whole);
    done("");
    try {
      const result = await api("/api/enrolment", { method: "POST", body: {
        school: school.value, device_id: device.value.trim(), kind: kind.value,
        box: box.disabled ? null : box.value || null,
        broker_host: host.value.trim() || null, broker_port: port.value.trim() || null } });
      showCredentials(result);
      device.value = "";
      await load();
    } catch (err) {
      showErrors(err, FIELDS, whole);
    }
  }

  async function revoke(schoolId, id) {
    done("");
    try {
      const path = `/api/enrolment/${encodeURIComponent(schoolId)}/${encodeURIComponent(id)}`;
      const result = await api(path, { method: "DELETE" });
      done(`${t("enrol.revoked", { device: id })} ${brokerNote(result.broker)}`);
    } catch (err) {
      done(t("enrol.failed", { error: err.detail ?? err.message }), true);
    }
    await load();
  }

  async function renew(b, own) {
    done("");
    try {
      const path = `/api/enrolment/${encodeURIComponent(b.school)}/${encodeURIComponent(b.box)}/rotate`;
      const result = await api(path, { method: "POST", body: {
        broker_host: host.value.trim() || null, broker_port: port.value.trim() || null } });
      showCredentials({ ...result, kind: own ? null : "edge", renewed: true });
    } catch (err) {
      done(t("enrol.failed", { error: err.detail ?? err.message }), true);
    }
    await load();
  }

  function pendingRow(p) {
    return h("tr", { "data-device": p.device_id },
      h("th", { scope: "row" }, p.device_id),
      h("td", {}, named(KIND_NAMES, p.kind)),
      h("td", {}, p.school),
      h("td", {}, fmtTime(p.last_refused_at)),
      h("td", { class: "num" }, p.refusals),
      h("td", { class: "actions" }, h("button", { type: "button", id: `enrol-pending-${p.device_id}`,
        onclick: () => {
          school.value = p.school;
          kind.value = p.kind in KIND_NAMES ? p.kind : kind.value;
          device.value = p.device_id;
          fillBoxes();
          device.focus();
        } }, t("enrol.take"))));
  }

  function enrolledRows(b) {
    const own = b.devices.length === 1 && b.devices[0] === b.box;
    const revokeButton = (id) => confirming(`revoke-device-${id}`, t("enrol.revoke"),
      t("enrol.revoke_confirm"), () => revoke(b.school, id));
    return [
      h("tr", { "data-device": b.box },
        h("th", { scope: "row" }, b.box),
        h("td", {}, t(own ? "enrol.own_device" : "enrol.edge_box")),
        h("td", {}, b.school),
        h("td", {}, fmtTime(b.enrolled_at)),
        h("td", { class: "actions" },
          confirming(`renew-${b.box}`, t("enrol.renew"), t("enrol.renew_confirm"),
            () => renew(b, own)),
          revokeButton(b.box))),
      ...(own ? [] : b.devices.map((d) => h("tr", { "data-device": d, class: "behind" },
        h("th", { scope: "row" }, d),
        h("td", {}, t("enrol.behind", { box: b.box })),
        h("td", {}, b.school),
        h("td", {}, "—"),
        h("td", { class: "actions" }, revokeButton(d))))),
    ];
  }

  async function load() {
    try {
      const listed = await api("/api/enrolment");
      boxes = listed.boxes;
      replaceRows(pendingBody, listed.pending.map(pendingRow), t("enrol.no_pending"), 6);
      replaceRows(enrolledBody, boxes.flatMap(enrolledRows), t("enrol.none"), 5);
      fillBoxes();
    } catch (err) {
      done(t("enrol.failed", { error: err.detail ?? err.message }), true);
    }
  }

  const head = (...keys) => h("thead", {}, h("tr", {},
    keys.map((key) => h("th", { scope: "col" }, t(key)))));
  container.replaceChildren(
    h("p", { class: "help" }, t("enrol.help")),
    h("form", { id: "enrol-form", onsubmit: enrol },
      field("enrol-school", t("enrol.school"), school),
      field("enrol-kind", t("enrol.kind"), kind),
      field("enrol-device", t("enrol.device"), device),
      field("enrol-box", t("enrol.box"), box),
      field("enrol-host", t("enrol.host"), host),
      field("enrol-port", t("enrol.port"), port),
      whole,
      h("button", { type: "submit", id: "enrol-submit" }, t("enrol.submit"))),
    status, once,
    h("table", { id: "pending-table" },
      h("caption", {}, t("enrol.pending_caption")),
      head(N_("col.device"), N_("enrol.col.kind"), N_("enrol.col.school"),
        N_("enrol.col.last_refused"), N_("enrol.col.refusals"), N_("enrol.col.actions")),
      pendingBody),
    h("table", { id: "enrolled-table" },
      h("caption", {}, t("enrol.enrolled_caption")),
      head(N_("col.device"), N_("enrol.col.kind"), N_("enrol.col.school"),
        N_("enrol.col.enrolled_at"), N_("enrol.col.actions")),
      enrolledBody));
  load();
}
