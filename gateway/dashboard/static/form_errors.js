// A refused form's problems next to its fields, in the page's language: the gateway checks
// every value (as it does for any client), and its field-by-field answer (a 422 whose detail
// lists each field's problem, with the limit it broke) is worded here from the catalog.

import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { N_, t } from "./i18n.js";

const PROBLEMS = {
  missing: N_("form.missing"),
  greater_than_equal: N_("form.too_low"),
  greater_than: N_("form.too_low"),
  less_than_equal: N_("form.too_high"),
  less_than: N_("form.too_high"),
  float_parsing: N_("form.not_number"),
  float_type: N_("form.not_number"),
  int_parsing: N_("form.not_number"),
  int_type: N_("form.not_number"),
  date_from_datetime_parsing: N_("form.not_date"),
  date_parsing: N_("form.not_date"),
  literal_error: N_("form.not_a_choice"),
  enum: N_("form.not_a_choice"),
  string_too_short: N_("form.missing"),
  too_short: N_("form.too_short"),
  string_too_long: N_("form.too_long"),
};

function worded(p) {
  const key = PROBLEMS[p.type];
  if (!key) return p.msg;
  const ctx = p.ctx ?? {};
  return t(key, { limit: ctx.ge ?? ctx.gt ?? ctx.le ?? ctx.lt ?? ctx.max_length ?? ctx.min_length
    ?? "" });
}

// A field of a form: its control with a labelled error line under it.
export function field(id, label, control) {
  return h("div", { class: "field" },
    h("label", { for: id }, label), control,
    h("span", { class: "cell-error", id: `${id}-error`, role: "alert" }));
}

// Clears the form's errors, then puts each of err's problems beside its field (`fields` maps
// the API's field names to control ids); what belongs to no field goes to `whole`.
export function showErrors(err, fields, whole) {
  for (const id of Object.values(fields)) document.getElementById(`${id}-error`).textContent = "";
  whole.textContent = "";
  if (!err) return;
  const problems = err instanceof ApiError && err.problems ? err.problems : null;
  // A refusal of one field's value is worded "field: why" by the gateway: shown beside it.
  const own = err instanceof ApiError && !problems && /^(\w+)[:：]\s*(.*)$/s.exec(err.detail);
  if (own && fields[own[1]]) {
    document.getElementById(`${fields[own[1]]}-error`).textContent = own[2];
    return;
  }
  if (!problems) {
    whole.textContent = err instanceof ApiError ? t("form.refused", { error: err.detail })
      : t("form.failed", { error: err.message });
    return;
  }
  for (const p of problems) {
    const id = fields[p.loc?.[p.loc.length - 1]];
    const target = id ? document.getElementById(`${id}-error`) : whole;
    target.textContent = [target.textContent, worded(p)].filter(Boolean).join("；");
  }
}
