// PE teachers: pick a lesson, watch it live (every 2 s), read its heart-rate analytics and,
// for a fitness test, the scored results with export. Names appear only where the API sends them.

import { api, download } from "./api.js";
import { every, fmtTime, h, num, replaceRows } from "./dom.js";

const LIVE_EVERY_MS = 2000;

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
  if (s === null) return "—";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
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
    hrCell(hr ? `${num(hr.value)} bpm` : "—"),
    hrCell(hr ? `${num(hr.pct_hr_max)} %` : "—"),
    h("td", { class: stale ? "stale-value" : null },
      hr ? h("span", { class: `zone zone-${hr.zone}` }, hr.zone.replace("_", " ")) : "—"),
    h("td", { class: "num" }, s.rope_count ? num(s.rope_count.value) : "—"),
    h("td", { class: "num" }, s.rep_count ? num(s.rep_count.value) : "—"),
    h("td", { class: stale ? "num last-reading stale-value" : "num last-reading",
      title: stale ? `no heart rate for ${fmtAge(hrAge).replace(" ago", "")}` : null },
    fmtAge(stale ? hrAge : newest)));
}

function analyticsView(a) {
  const g = a.group;
  const zones = Object.keys(a.zones_pct_hr_max);
  const mark = (ok) => (ok === null ? "" : ok ? " ✓" : " ✗");
  return [
    h("p", {}, `Group: ${g.students_measured} measured, exercise density ` +
      `${g.density_pct === null ? "—" : `${num(g.density_pct, 1)} %`}${mark(g.density_ok)} ` +
      `(guidance ≥ ${a.guidance.group_density_min_pct} %), mean ` +
      `${g.mean_bpm === null ? "—" : `${num(g.mean_bpm)} bpm`}${mark(g.mean_ok)} ` +
      `(guidance ${a.guidance.mean_hr_bpm[0]}–${a.guidance.mean_hr_bpm[1]} bpm). ` +
      `Moderate threshold ${a.moderate_pct} % HRmax.`),
    h("table", {},
      h("caption", {}, `Per student, ${fmtTime(a.since)} to ${fmtTime(a.until)}`),
      h("thead", {}, h("tr", {},
        ["Student", "Mean", "Peak", "Density", ...zones.map((z) => `${z.replace("_", " ")} (s)`)]
          .map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, a.students.map((s) => h("tr", {},
        studentCell(s),
        h("td", { class: "num" }, num(s.mean_bpm)),
        h("td", { class: "num" }, num(s.peak_bpm)),
        h("td", { class: "num" }, s.density_pct === null ? "—" : `${num(s.density_pct, 1)} %${mark(s.density_ok)}`),
        zones.map((z) => h("td", { class: "num" }, num(s.zone_s[z])))))))];
}

function resultsView(r) {
  const items = [...new Set(r.students.flatMap((s) => Object.keys(s.items)))].sort();
  const cell = (it) => (it ? `${num(it.value, it.value % 1 ? 1 : 0)} ${it.unit}` +
    (it.score === null ? "" : ` · ${it.score}`) + (it.level ? ` · ${it.level}` : "") : "—");
  return h("table", {},
    h("caption", {}, "Value · score · level per item; total and level by the 2014 standard"),
    h("thead", {}, h("tr", {},
      ["Student", ...items, "Total", "Level"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, r.students.map((s) => h("tr", { "data-student": s.student_id },
      studentCell(s),
      items.map((i) => h("td", {}, cell(s.items[i]))),
      h("td", { class: "num" }, s.total ? num(s.total.total, 1) : "—"),
      s.total ? h("td", {}, s.total.level)
        : h("td", { class: "muted", title: `missing: ${s.missing.join(", ")}` },
          `incomplete (${s.missing.length} missing)`)))));
}

export function showLessons(panel, say) {
  const select = panel.querySelector("#lesson-select");
  const tbody = panel.querySelector("#live-table tbody");
  let lessons = [];
  let stopLive = () => {};

  const current = () => lessons.find((l) => l.id === select.value);

  async function openLesson() {
    stopLive();
    const lesson = current();
    panel.querySelector("#analytics").replaceChildren();
    panel.querySelector("#results").replaceChildren();
    replaceRows(tbody, [], lesson ? "Loading…" : "No lesson.", 7);
    const exports = panel.querySelector("#export-links");
    exports.replaceChildren();
    if (!lesson) return;
    if (lesson.class_teacher) {
      const base = `/api/fitness/classes/${encodeURIComponent(lesson.class_id)}/export`;
      exports.append(`Class ${lesson.class_name ?? lesson.class_id} fitness results: `,
        ...["csv", "xlsx"].map((fmt) => h("button", {
          type: "button",
          onclick: () => download(`${base}?format=${fmt}`, `fitness-${lesson.class_id}.${fmt}`)
            .catch((err) => say(`Export: ${err.message}`)),
        }, `Download ${fmt.toUpperCase()}`)));
    }
    stopLive = every(LIVE_EVERY_MS, async () => {
      try {
        const live = await api(`/api/lessons/${encodeURIComponent(lesson.id)}/live`);
        if (select.value !== lesson.id) return; // another lesson was picked meanwhile
        replaceRows(tbody, live.students.map((s) => liveRow(s, live.as_of)),
          "No devices are assigned in this lesson.", 7);
        panel.querySelector("#live-updated").textContent =
          `updated ${new Date().toLocaleTimeString()}${live.ended_at ? " (lesson ended)" : ""}`;
      } catch (err) {
        say(`Live view: ${err.message}`);
      }
    });
    const resultsSection = panel.querySelector("#results-section");
    resultsSection.hidden = lesson.kind !== "fitness_test";
    if (lesson.kind === "fitness_test") {
      try {
        const r = await api(`/api/fitness/sessions/${encodeURIComponent(lesson.id)}/results`);
        if (select.value !== lesson.id) return;
        panel.querySelector("#results").replaceChildren(resultsView(r));
      } catch (err) {
        say(`Results: ${err.message}`);
      }
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
      say(`Analytics: ${err.message}`);
    }
  });
  select.addEventListener("change", openLesson);

  (async () => {
    try {
      lessons = await api("/api/me/lessons");
    } catch (err) {
      say(`Lessons: ${err.message}`);
      return;
    }
    select.replaceChildren(...lessons.map((l) => h("option", { value: l.id },
      `${l.class_name ?? l.class_id} · ${l.kind.replace("_", " ")} · ${fmtTime(l.started_at)}` +
      (l.ended_at ? "" : " (running)"))));
    if (!lessons.length) say("You have no lessons yet.");
    openLesson();
  })();
  return () => stopLive();
}
