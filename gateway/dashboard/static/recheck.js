// Health staff: a fever screen's recheck with a contact or ear thermometer, recorded from its
// alert. The gateway confirms the fever (it then counts towards the warning levels) or clears
// the alert; a refused value is shown beside its field.

import { api, ApiError } from "./api.js";
import { h } from "./dom.js";
import { field, showErrors } from "./form_errors.js";
import { N_, named, t } from "./i18n.js";

const SITE_NAMES = {
  axillary: N_("recheck.site.axillary"),
  oral: N_("recheck.site.oral"),
  ear: N_("recheck.site.ear"),
};
const THERMOMETER_NAMES = {
  electronic: N_("recheck.thermometer.electronic"),
  mercury: N_("recheck.thermometer.mercury"),
  infrared_ear: N_("recheck.thermometer.infrared_ear"),
};
const FIELDS = { temperature_c: "recheck-temperature", method: "recheck-site",
  thermometer: "recheck-thermometer" };

const options = (names) => Object.keys(names).map((v) => h("option", { value: v }, named(names, v)));

// Builds the (hidden) recheck form in `container`; returns open(alert, done), which shows it
// for that alert and calls done() once the recheck is saved.
export function mountRecheck(container, say) {
  const title = h("h3", { id: "recheck-title" });
  const temperature = h("input", { id: FIELDS.temperature_c, inputmode: "decimal", size: 5,
    autocomplete: "off", "aria-describedby": `${FIELDS.temperature_c}-error` });
  const site = h("select", { id: FIELDS.method }, options(SITE_NAMES));
  const thermometer = h("select", { id: FIELDS.thermometer }, options(THERMOMETER_NAMES));
  const whole = h("p", { class: "error", id: "recheck-error", role: "alert" });
  let current = null;
  let done = () => {};

  async function submit(event) {
    event.preventDefault();
    const value = temperature.value.trim();
    const body = { method: site.value, thermometer: thermometer.value };
    if (value) body.temperature_c = value; // the gateway parses it, and says what is wrong
    try {
      const alert = await api(`/api/alerts/${current.id}/recheck`, { method: "POST", body });
      showErrors(null, FIELDS, whole);
      form.hidden = true;
      say(alert.state === "resolved" ? t("recheck.cleared", { id: current.id, value })
        : t("recheck.confirmed", { id: current.id, value }));
      done();
    } catch (err) {
      showErrors(err, FIELDS, whole);
      // Resolved meanwhile (by someone else, or cleared by another recheck): the refusal stays
      // beside the form with what was typed, and the list is read again to show the alert as
      // it now is.
      if (err instanceof ApiError && err.status === 409) done();
    }
  }

  const form = h("form", { id: "recheck-form", class: "panel-form", hidden: true,
    "aria-labelledby": "recheck-title", onsubmit: submit },
    title, h("p", { class: "help" }, t("recheck.help")),
    field(FIELDS.temperature_c, t("recheck.temperature"), temperature),
    field(FIELDS.method, t("recheck.site"), site),
    field(FIELDS.thermometer, t("recheck.thermometer"), thermometer),
    whole,
    h("button", { type: "submit", id: "recheck-submit" }, t("recheck.submit")),
    h("button", { type: "button", onclick: () => { form.hidden = true; } }, t("recheck.cancel")));
  container.replaceChildren(form);

  return (alert, student, onDone) => {
    current = alert;
    done = onDone;
    title.textContent = t("recheck.title", { id: alert.id, student });
    temperature.value = "";
    showErrors(null, FIELDS, whole);
    form.hidden = false;
    temperature.focus();
  };
}
