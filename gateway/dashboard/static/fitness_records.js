// A class's fitness records, for its PE teacher and for health staff: the national upload file
// of the class or the whole school (with what it left out, in a table), and one student's
// growth record across school years against the standard's levels for their grade that year.
// What each role is shown is the API's choice (height, weight, BMI and vision: health staff).

import { ApiError, api, authHeaders, download } from "./api.js";
import { h, num } from "./dom.js";
import { N_, named, t } from "./i18n.js";
import { ITEM_NAMES, LEVEL_NAMES, UNIT_NAMES } from "./fitness_names.js";

const BAND_NAMES = {
  low_weight: N_("records.band.low_weight"),
  normal: N_("records.band.normal"),
  overweight: N_("records.band.overweight"),
  obese: N_("records.band.obese"),
};
const NORM_NAMES = {
  pass: N_("level.pass"),
  good: N_("level.good"),
  excellent: N_("level.excellent"),
  full: N_("records.norm.full"),
};
const SOURCE_NAMES = {
  recorded: N_("records.grade.recorded"),
  roster: N_("records.grade.roster"),
  counted: N_("records.grade.counted"),
  unknown: N_("records.grade.unknown"),
};

// The school year a date falls in (from 1 September), on the browser's calendar.
function schoolYearNow() {
  const today = new Date();
  return today.getMonth() >= 8 ? today.getFullYear() : today.getFullYear() - 1;
}

function unitOf(unit) {
  return named(UNIT_NAMES, unit === "kg/m²" ? "kg/m2" : unit);
}

// "9.5 s" with at most the digits the value has.
function measured(value, unit) {
  return `${Number(value)} ${unitOf(unit)}`;
}

function levelText(item, level) {
  if (!level) return "—";
  return item === "bmi" ? named(BAND_NAMES, level) : named(LEVEL_NAMES, level);
}

function signed(value) {
  if (value === null || value === undefined) return "—";
  const rounded = Math.round(value * 100) / 100;
  return rounded > 0 ? `+${rounded}` : String(rounded);
}

// Where the result stands against its grade's boundaries: the level reached, and how far the
// next one is (in the item's unit), or that it has full marks.
function normText(n, unit) {
  if (!n) return "—";
  const reached = n.reached ? named(NORM_NAMES, n.reached) : named(LEVEL_NAMES, "fail");
  if (!n.next) return t("records.norm.top"); // only full marks has no boundary above it
  return t("records.norm.gap", {
    reached,
    next: named(NORM_NAMES, n.next.level),
    threshold: measured(n.next.threshold, unit),
    gap: measured(Math.round(n.gap * 100) / 100, unit),
  });
}

function noteText(note) {
  if (note === "class_changed") return t("records.note.class_changed");
  if (note === "repeated_grade") return t("records.note.repeated_grade");
  if (note === "grade_unknown") return t("records.note.grade_unknown");
  if (note.startsWith("grade_changed:")) {
    return t("records.note.grade_changed", { grades: note.slice("grade_changed:".length) });
  }
  if (note.startsWith("not_taken:")) {
    return t("records.note.not_taken", { item: named(ITEM_NAMES, note.slice("not_taken:".length)) });
  }
  return note;
}

function yearView(y) {
  const grade = y.grade === null ? t("records.grade.none")
    : t("records.grade.of", { grade: y.grade, source: named(SOURCE_NAMES, y.grade_source) });
  const heading = h("h5", {}, t("records.year", { year: y.school_year, grade }));
  if (!y.recorded) return [heading, h("p", { class: "muted" }, t("records.gap"))];
  const rows = Object.entries(y.items).map(([item, r]) => h("tr", { "data-item": item },
    h("th", { scope: "row" }, named(ITEM_NAMES, item)),
    h("td", { class: "num" }, measured(r.value, r.unit)),
    h("td", { class: "num" }, r.score === null ? "—" : String(r.score)),
    h("td", {}, levelText(item, r.level)),
    h("td", { class: "num" }, r.change_value === null ? "—"
      : `${signed(r.change_value)}${r.change_score === null ? "" : t("records.points", { n: signed(r.change_score) })}`),
    h("td", { class: "norm" }, normText(r.norm, r.unit))));
  const total = y.total
    ? t("records.total", { total: num(y.total.total, 1), level: named(LEVEL_NAMES, y.total.level),
      change: signed(y.change_total) })
    : t("records.no_total", { items: y.missing.map((i) => named(ITEM_NAMES, i)).join("、") || "—" });
  const vision = y.vision ? t("records.vision", {
    left: num(y.vision.acuity_left, 1), right: num(y.vision.acuity_right, 1) }) : null;
  return [heading,
    h("table", { class: "growth-year", "data-year": y.year },
      h("caption", {}, t("records.year_caption", { year: y.school_year })),
      h("thead", {}, h("tr", {}, [t("records.col.item"), t("records.col.result"),
        t("records.col.score"), t("records.col.level"), t("records.col.change"),
        t("records.col.norm")].map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows)),
    h("p", { class: "year-total" }, total),
    vision ? h("p", {}, vision) : null,
    y.classes.length ? h("p", { class: "muted" }, t("records.classes", { classes: y.classes.join("、") })) : null,
    y.notes.length ? h("ul", { class: "notes" }, y.notes.map((n) => h("li", {}, noteText(n)))) : null];
}

function growthView(g, say) {
  const who = g.name ? `${g.name} ${g.student_id}` : g.student_id;
  const graduation = g.graduation ? t("records.graduation", {
    score: num(g.graduation.score, 1), level: named(LEVEL_NAMES, g.graduation.level),
    final: num(g.graduation.final_total, 1), others: num(g.graduation.others_mean, 1),
  }) : t("records.no_graduation");
  const report = h("button", { type: "button", id: "growth-report", onclick: () =>
    download(`/api/fitness/students/${encodeURIComponent(g.student_id)}/growth/report`,
      `growth-${g.student_id}.pdf`).catch((err) => say(t("records.report_error", { error: err.message })))
  }, t("records.report"));
  return h("div", { id: "growth-record", "data-student": g.student_id },
    h("h4", {}, t("records.growth_of", { student: who })),
    h("p", {}, graduation, " ", report),
    g.health_data ? null : h("p", { class: "help" }, t("records.no_health_data")),
    g.years.length ? g.years.slice().reverse().flatMap((y) => yearView(y))
      : h("p", { class: "muted" }, t("records.empty")));
}

function problemsView(check) {
  return h("div", { id: "national-problems" },
    h("p", { role: "status" }, t("national.summary", { written: check.written, left_out: check.left_out })),
    check.problems.length ? h("table", { id: "national-problems-table" },
      h("caption", {}, t("national.problems_caption")),
      h("thead", {}, h("tr", {}, [t("national.col.student"), t("national.col.row"),
        t("national.col.column"), t("national.col.reason"), t("national.col.left_out")]
        .map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, check.problems.map((p) => h("tr", { "data-student": p.student_id ?? "" },
        h("td", {}, p.student_id ? `${p.student_id}${p.class_name ? ` (${p.class_name})` : ""}` : "—"),
        h("td", { class: "num" }, p.row ?? "—"),
        h("td", {}, p.column ? `${p.column} ${p.header}` : "—"),
        h("td", {}, p.reason),
        h("td", {}, p.row === null ? "—" : t(p.left_out ? "national.left_out" : "national.kept"))))))
      : null);
}

export function mountFitnessRecords(container, say) {
  const classSelect = h("select", { id: "records-class", name: "class_id" });
  const scope = h("select", { id: "national-scope", name: "scope" },
    h("option", { value: "class" }, t("national.scope.class")),
    h("option", { value: "school" }, t("national.scope.school")));
  const year = h("input", { id: "national-year", name: "year", type: "number", min: 2000,
    max: 2100, step: 1, value: schoolYearNow() });
  const registry = h("input", { id: "national-registry", type: "file", accept: ".csv,text/csv" });
  const outcome = h("div", { id: "national-outcome" });
  const studentSelect = h("select", { id: "growth-student", name: "student_id" });
  const growth = h("div", { id: "growth-view" });
  let classes = [];

  const chosen = () => classes.find((c) => c.id === classSelect.value);

  async function national() {
    outcome.replaceChildren(h("p", { class: "muted" }, t("national.working")));
    const cls = chosen();
    if (!cls) return;
    const params = new URLSearchParams({ school: cls.school, year: year.value });
    if (scope.value === "class") params.set("class_id", cls.id);
    const body = registry.files[0] ? await registry.files[0].arrayBuffer() : new ArrayBuffer(0);
    const post = (path, accept) => fetch(`${path}?${params}`, {
      method: "POST", body, cache: "no-store",
      headers: authHeaders({ Accept: accept, "Content-Type": "text/csv" }) });
    try {
      const response = await post("/api/fitness/national", "application/octet-stream");
      if (!response.ok) {
        const detail = (await response.json().catch(() => ({}))).detail ?? response.statusText;
        throw new ApiError(response.status, detail);
      }
      const name = (response.headers.get("Content-Disposition") ?? "").match(/filename="([^"]+)"/)?.[1]
        ?? "national.xlsx";
      const url = URL.createObjectURL(await response.blob());
      const link = Object.assign(document.createElement("a"), { href: url, download: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      const written = Number(response.headers.get("X-Students-Written"));
      const leftOut = Number(response.headers.get("X-Students-Left-Out"));
      if (Number(response.headers.get("X-Problems")) === 0) {
        outcome.replaceChildren(problemsView({ written, left_out: leftOut, problems: [] }));
        return;
      }
      // The same build's problems, for the table (the file's own sheet lists them too).
      const check = await post("/api/fitness/national/problems", "application/json");
      if (!check.ok) throw new ApiError(check.status, check.statusText);
      outcome.replaceChildren(problemsView(await check.json()));
    } catch (err) {
      outcome.replaceChildren(h("p", { class: "error", role: "alert" },
        t("national.error", { error: err instanceof ApiError ? err.detail : err.message })));
    }
  }

  async function showGrowth() {
    growth.replaceChildren();
    if (!studentSelect.value) return;
    try {
      const g = await api(`/api/fitness/students/${encodeURIComponent(studentSelect.value)}/growth`);
      growth.replaceChildren(growthView(g, say));
    } catch (err) {
      growth.replaceChildren(h("p", { class: "error", role: "alert" },
        t("records.error", { error: err instanceof ApiError ? err.detail : err.message })));
    }
  }

  async function loadStudents() {
    studentSelect.replaceChildren();
    growth.replaceChildren();
    outcome.replaceChildren();
    if (!classSelect.value) return;
    try {
      const students = await api(`/api/classes/${encodeURIComponent(classSelect.value)}/students`);
      studentSelect.replaceChildren(h("option", { value: "" }, t("records.pick_student")),
        ...students.map((s) => h("option", { value: s.id }, s.name ? `${s.name} ${s.id}` : s.id)));
    } catch (err) {
      say(t("records.error", { error: err.message }));
    }
  }

  container.replaceChildren(
    h("form", { class: "inline", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "records-class" }, t("records.class")), classSelect),
    h("h4", {}, t("national.title")),
    h("p", { class: "help" }, t("national.help")),
    h("form", { class: "inline", id: "national-form", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "national-scope" }, t("national.scope")), scope,
      h("label", { for: "national-year" }, t("national.year")), year,
      h("label", { for: "national-registry" }, t("national.registry")), registry,
      h("button", { type: "button", id: "national-download", onclick: national }, t("national.download"))),
    outcome,
    h("h4", {}, t("records.growth_title")),
    h("form", { class: "inline", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "growth-student" }, t("records.student")), studentSelect,
      h("button", { type: "button", id: "growth-show", onclick: showGrowth }, t("records.show"))),
    growth);
  classSelect.addEventListener("change", loadStudents);
  studentSelect.addEventListener("change", showGrowth);

  (async () => {
    try {
      classes = await api("/api/classes");
      // Nothing of a student is read (and audited) until a class is picked.
      classSelect.replaceChildren(h("option", { value: "" }, t("records.pick_class")),
        ...classes.map((c) => h("option", { value: c.id }, c.name)));
    } catch (err) {
      say(t("records.error", { error: err.message }));
    }
  })();
}
