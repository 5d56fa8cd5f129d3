// PE teachers: pick a lesson, watch it live (every 2 s), read its heart-rate analytics and,
// for a fitness test, the scored results with export. Names appear only where the API sends them.

import { api, download } from "./api.js";
import { agoS, every, fmtClock, fmtTime, h, num, replaceRows } from "./dom.js";
import { N_, named, t } from "./i18n.js";
import { HEALTH, mountAlerts } from "./alerts.js";
import { ITEM_NAMES, LEVEL_NAMES, UNIT_NAMES } from "./fitness_names.js";
import { mountLessonControl } from "./lesson_control.js";
import { mountFitnessRecords } from "./fitness_records.js";
import { mountLessonReport } from "./lesson_report.js";
import { mountResultsEntry } from "./results_entry.js";

const LIVE_EVERY_MS = 2000;

const ZONE_NAMES = {
  very_light: N_("zone.very_light"),
  light: N_("zone.light"),
  moderate: N_("zone.moderate"),
  vigorous: N_("zone.vigorous"),
  near_maximal: N_("zone.near_maximal"),
};
const KIND_NAMES = { lesson: N_("lessons.kind.lesson"), fitness_test: N_("lessons.kind.fitness_test") };
const bpm = (value) => t("live.bpm", { value });

// After this long without a heart rate a band is taken as no longer sending: its last value
// is greyed out with its age, so it cannot be read as a child's heart rate now.
export const STALE_READING_S = 10;

// The API sends a name only to the class's own PE teacher; everyone else sees the id.
const who = (s) => s.name ?? s.student_id;

// Names repeat within a class (three 赵磊 in one class is common): the student id goes with
// the name so that the rows can be told apart.
function studentCell(s) {
  return h("th", { scope: "row" }, who(s),
    s.name ? h("span", { class: "student-id muted" }, ` ${s.student_id}`) : null);
}

// Seconds between a value's device time and the gateway's answer (not the browser's clock).
function ageS(value, asOf) {
  if (!value) return null;
  return Math.max(0, Math.round((new Date(asOf).getTime() - new Date(value.ts).getTime()) / 1000));
}

function fmtAge(s) {
  return s === null ? "—" : agoS(s);
}

function liveRow(s, asOf) {
  const hr = s.heart_rate;
  const hrAge = ageS(hr, asOf);
  const stale = hrAge !== null && hrAge > STALE_READING_S;
  const ages = [hr, s.rope_count, s.rep_count].map((v) => ageS(v, asOf)).filter((a) => a !== null);
  const newest = ages.length ? Math.min(...ages) : null;
  const hrCell = (text) => h("td", { class: stale ? "num stale-value" : "num" }, text);
  return h("tr", { "data-student": s.student_id, class: stale ? "stale-reading" : null },
    studentCell(s),
    hrCell(hr ? bpm(num(hr.value)) : "—"),
    hrCell(hr ? `${num(hr.pct_hr_max)} %` : "—"),
    h("td", { class: stale ? "stale-value" : null },
      hr ? h("span", { class: `zone zone-${hr.zone}` }, named(ZONE_NAMES, hr.zone)) : "—"),
    h("td", { class: "num" }, s.rope_count ? num(s.rope_count.value) : "—"),
    h("td", { class: "num" }, s.rep_count ? num(s.rep_count.value) : "—"),
    h("td", { class: stale ? "num last-reading stale-value" : "num last-reading",
      title: stale ? t("live.no_heart_rate_since", { age: fmtAge(hrAge) }) : null },
    fmtAge(stale ? hrAge : newest)));
}

function analyticsView(a) {
  const g = a.group;
  const zones = Object.keys(a.zones_pct_hr_max);
  const mark = (ok) => (ok === null ? "" : ok ? " ✓" : " ✗");
  return [
    h("p", {}, t("analytics.group", {
      measured: g.students_measured,
      density: g.density_pct === null ? "—" : `${num(g.density_pct, 1)} %`,
      density_mark: mark(g.density_ok),
      density_min: a.guidance.group_density_min_pct,
      mean: g.mean_bpm === null ? "—" : bpm(num(g.mean_bpm)),
      mean_mark: mark(g.mean_ok),
      mean_low: a.guidance.mean_hr_bpm[0],
      mean_high: a.guidance.mean_hr_bpm[1],
      moderate: a.moderate_pct,
    })),
    h("table", {},
      h("caption", {}, t("analytics.caption", { since: fmtTime(a.since), until: fmtTime(a.until) })),
      h("thead", {}, h("tr", {},
        [t("col.student"), t("analytics.col.mean"), t("analytics.col.peak"),
          t("analytics.col.density"),
          ...zones.map((z) => t("analytics.col.zone_s", { zone: named(ZONE_NAMES, z) }))]
          .map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, a.students.map((s) => h("tr", {},
        studentCell(s),
        h("td", { class: "num" }, num(s.mean_bpm)),
        h("td", { class: "num" }, num(s.peak_bpm)),
        h("td", { class: "num" }, s.density_pct === null ? "—" : `${num(s.density_pct, 1)} %${mark(s.density_ok)}`),
        zones.map((z) => h("td", { class: "num" }, num(s.zone_s[z])))))))];
}

function resultsView(r) {
  const items = [...new Set(r.students.flatMap((s) => Object.keys(s.items)))].sort();
  const cell = (it) => (it ? `${num(it.value, it.value % 1 ? 1 : 0)} ${named(UNIT_NAMES, it.unit)}` +
    (it.score === null ? "" : ` · ${it.score}`) +
    (it.level ? ` · ${named(LEVEL_NAMES, it.level)}` : "") : "—");
  return h("table", {},
    h("caption", {}, t("results.caption")),
    h("thead", {}, h("tr", {},
      [t("col.student"), ...items.map((i) => named(ITEM_NAMES, i)), t("results.col.total"),
        t("results.col.level")].map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, r.students.map((s) => h("tr", { "data-student": s.student_id },
      studentCell(s),
      items.map((i) => h("td", {}, cell(s.items[i]))),
      h("td", { class: "num" }, s.total ? num(s.total.total, 1) : "—"),
      s.total ? h("td", {}, named(LEVEL_NAMES, s.total.level))
        : h("td", { class: "muted",
          title: t("results.missing", { items: s.missing.map((i) => named(ITEM_NAMES, i)).join(", ") }) },
        t("results.incomplete", { n: s.missing.length }))))));
}

export function showLessons(panel, say) {
  const select = panel.querySelector("#lesson-select");
  const tbody = panel.querySelector("#live-table tbody");
  let lessons = [];
  let stopLive = () => {};

  const current = () => lessons.find((l) => l.id === select.value);

  // The lessons again (one was opened or ended), showing *show* if given.
  async function reload(show) {
    try {
      lessons = await api("/api/me/lessons");
    } catch (err) {
      say(t("lessons.error", { error: err.message }));
      return;
    }
    const keep = show ?? select.value;
    select.replaceChildren(...lessons.map((l) => h("option", { value: l.id },
      t(l.ended_at ? "lessons.option" : "lessons.option_running", {
        class: l.class_name ?? l.class_id, kind: named(KIND_NAMES, l.kind), time: fmtTime(l.started_at),
      }))));
    if (lessons.some((l) => l.id === keep)) select.value = keep;
    if (!lessons.length) say(t("lessons.none"));
    await openLesson();
  }
  const showControl = mountLessonControl(panel, say, { reload });
  const showReport = mountLessonReport(panel.querySelector("#lesson-report"), say, "report");

  async function openLesson() {
    stopLive();
    const lesson = current();
    showControl(lesson);
    showReport(lesson);
    panel.querySelector("#analytics").replaceChildren();
    panel.querySelector("#results").replaceChildren();
    replaceRows(tbody, [], t(lesson ? "lessons.loading" : "lessons.no_lesson"), 7);
    const exports = panel.querySelector("#export-links");
    exports.replaceChildren();
    if (!lesson) return;
    if (lesson.class_teacher) {
      const base = `/api/fitness/classes/${encodeURIComponent(lesson.class_id)}/export`;
      exports.append(t("lessons.export_intro", { class: lesson.class_name ?? lesson.class_id }),
        ...["csv", "xlsx"].map((fmt) => h("button", {
          type: "button",
          onclick: () => download(`${base}?format=${fmt}`, `fitness-${lesson.class_id}.${fmt}`)
            .catch((err) => say(t("lessons.export_error", { error: err.message }))),
        }, t("lessons.download", { format: fmt.toUpperCase() }))));
    }
    stopLive = every(LIVE_EVERY_MS, async () => {
      try {
        const live = await api(`/api/lessons/${encodeURIComponent(lesson.id)}/live`);
        if (select.value !== lesson.id) return; // another lesson was picked meanwhile
        replaceRows(tbody, live.students.map((s) => liveRow(s, live.as_of)),
          t("live.empty"), 7);
        panel.querySelector("#live-updated").textContent = t(
          live.ended_at ? "live.updated_ended" : "live.updated", { time: fmtClock(live.as_of) });
      } catch (err) {
        say(t("live.error", { error: err.message }));
      }
    });
    const resultsSection = panel.querySelector("#results-section");
    resultsSection.hidden = lesson.kind !== "fitness_test";
    panel.querySelector("#results-entry").replaceChildren();
    if (lesson.kind === "fitness_test") await showResults(lesson, true);
  }

  // The session's results, and once a lesson is opened the grid to type them in (or a file to
  // upload) below them; a typed cell refreshes the results, not the grid being typed in, and
  // a saved file both.
  async function showResults(lesson, withGrid = false) {
    try {
      const r = await api(`/api/fitness/sessions/${encodeURIComponent(lesson.id)}/results`);
      if (select.value !== lesson.id) return;
      panel.querySelector("#results").replaceChildren(resultsView(r));
      if (withGrid) {
        mountResultsEntry(panel.querySelector("#results-entry"), lesson, r, say,
          (grid = false) => (select.value === lesson.id ? showResults(lesson, grid) : null));
      }
    } catch (err) {
      say(t("results.error", { error: err.message }));
    }
  }

  panel.querySelector("#analytics-load").addEventListener("click", async () => {
    const lesson = current();
    if (!lesson) return;
    try {
      const a = await api(`/api/lessons/${encodeURIComponent(lesson.id)}/heart-rate`);
      if (select.value !== lesson.id) return;
      panel.querySelector("#analytics").replaceChildren(...analyticsView(a));
    } catch (err) {
      say(t("analytics.error", { error: err.message }));
    }
  });
  select.addEventListener("change", openLesson);
  reload();
  mountFitnessRecords(panel.querySelector("#fitness-records"), say);
  // The heart-rate alerts of the teacher's own lessons (the API sends no others), live.
  const stopAlerts = mountAlerts(panel.querySelector("#teacher-alerts"), say,
    { prefix: "teacher-alerts", accept: HEALTH, title: N_("alerts.lesson_title"), subject: "student" });
  return () => {
    stopLive();
    stopAlerts();
  };
}
