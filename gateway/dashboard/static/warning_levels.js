// Health staff: today's warning level of each school and class, with the counts behind it
// and the district's threshold that set it, and the entry of an absence (one for illness is a
// case, and may raise a level at once).

import { api } from "./api.js";
import { h, replaceRows } from "./dom.js";
import { field, showErrors } from "./form_errors.js";
import { N_, named, t, timeZone } from "./i18n.js";

export const LEVEL_NAMES = {
  green: N_("level.green"),
  yellow: N_("level.yellow"),
  orange: N_("level.orange"),
  red: N_("level.red"),
};
const REASON_NAMES = { illness: N_("absence.reason.illness"), other: N_("absence.reason.other") };
const FIELDS = { student_id: "absence-student", day: "absence-day", reason: "absence-reason",
  symptoms: "absence-symptoms" };

// Today on the school's clock, as a date input wants it (YYYY-MM-DD).
function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: timeZone() }).format(new Date());
}

// Why a scope is at its level: the threshold its day's cases (or its window's) reached.
function why(s) {
  if (s.set_by === "day") {
    return t("levels.set_by_day", { cases: s.cases, threshold: s.threshold,
      level: named(LEVEL_NAMES, s.level) });
  }
  if (s.set_by === "window") {
    return t("levels.set_by_window", { days: s.window_days, cases: s.window_cases,
      threshold: s.threshold, level: named(LEVEL_NAMES, s.level) });
  }
  return t("levels.below");
}

export function mountWarningLevels(container, say, schools) {
  const school = h("select", { id: "levels-school" },
    schools.map((s) => h("option", { value: s }, s)));
  const tbody = h("tbody");
  const note = h("p", { class: "help", id: "levels-note" });
  const table = h("table", { id: "levels-table" },
    h("caption", {}, t("levels.caption")),
    h("thead", {}, h("tr", {}, [t("levels.col.scope"), t("levels.col.level"), t("levels.col.cases"),
      t("levels.col.fevers"), t("levels.col.absences"), t("levels.col.screens"),
      t("levels.col.window"), t("levels.col.rule")].map((text) => h("th", { scope: "col" }, text)))),
    tbody);

  function row(s) {
    const scope = s.scope === "school" ? t("levels.whole_school") : s.scope;
    return h("tr", { "data-scope": s.scope, class: `level-${s.level}` },
      h("th", { scope: "row" }, scope),
      h("td", { class: `level level-${s.level}` }, named(LEVEL_NAMES, s.level)),
      h("td", {}, s.cases), h("td", {}, s.fevers), h("td", {}, s.illness_absences),
      h("td", {}, s.unconfirmed_screens),
      h("td", {}, s.window_days ? t("levels.window", { days: s.window_days, cases: s.window_cases })
        : "—"),
      h("td", {}, why(s)));
  }

  function show(levels) {
    replaceRows(tbody, [levels.school_level, ...levels.classes].map(row), "", 8);
    note.textContent = t(levels.count_unconfirmed_screens ? N_("levels.screens_count")
      : N_("levels.screens_apart"), { day: levels.day });
  }

  async function load() {
    if (!school.value) return;
    try {
      show(await api(`/api/alerts/warning-levels?school=${encodeURIComponent(school.value)}`));
    } catch (err) {
      say(t("levels.error", { error: err.message }));
    }
  }

  const student = h("input", { id: FIELDS.student_id, autocomplete: "off", size: 10 });
  const day = h("input", { id: FIELDS.day, type: "date", value: today() });
  const reason = h("select", { id: FIELDS.reason },
    Object.keys(REASON_NAMES).map((r) => h("option", { value: r }, named(REASON_NAMES, r))));
  const symptoms = h("input", { id: FIELDS.symptoms, autocomplete: "off", maxlength: 200 });
  const whole = h("p", { class: "error", id: "absence-error", role: "alert" });
  const saved = h("p", { id: "absence-saved", role: "status" });

  async function record(event) {
    event.preventDefault();
    saved.textContent = "";
    const body = { student_id: student.value.trim(), day: day.value, reason: reason.value,
      symptoms: symptoms.value.trim() };
    try {
      const levels = await api("/api/alerts/absences", { method: "POST", body });
      showErrors(null, FIELDS, whole);
      saved.textContent = t("absence.saved", { student: body.student_id, day: body.day,
        reason: named(REASON_NAMES, body.reason) });
      student.value = "";
      symptoms.value = "";
      if (levels.school === school.value && levels.day === today()) show(levels);
      else load();
    } catch (err) {
      showErrors(err, FIELDS, whole);
    }
  }

  const form = h("form", { id: "absence-form", "aria-labelledby": "absence-title", onsubmit: record },
    h("h4", { id: "absence-title" }, t("absence.title")),
    h("p", { class: "help" }, t("absence.help")),
    field(FIELDS.student_id, t("absence.student"), student),
    field(FIELDS.day, t("absence.day"), day),
    field(FIELDS.reason, t("absence.reason"), reason),
    field(FIELDS.symptoms, t("absence.symptoms"), symptoms),
    whole, h("button", { type: "submit", id: "absence-submit" }, t("absence.submit")), saved);

  container.replaceChildren(
    h("form", { class: "inline", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "levels-school" }, t("levels.school")), school,
      h("button", { type: "button", id: "levels-reload", onclick: load }, t("levels.reload"))),
    table, note, form);
  school.addEventListener("change", load);
  load();
  return load;
}
