// A lesson's report for the PE teacher: the class heart-rate curve and the zone shares as the
// gateway draws them (PNG), exercise density and mean heart rate against the curriculum's
// targets, who stayed below or above the target zone, and the same report as a PDF. Names
// appear only where the API sends them; everyone else is shown by student id.

import { api, blob, download } from "./api.js";
import { fmtTime, h, num } from "./dom.js";
import { N_, named, t } from "./i18n.js";

const KIND_NAMES = { lesson: N_("lessons.kind.lesson"), fitness_test: N_("lessons.kind.fitness_test") };
const PLOTS = [
  ["curve", N_("report.curve_alt")],
  ["zones", N_("report.zones_alt")],
];

// A figure against its target: the value, then pass or short (nothing when nobody was measured).
function verdict(ok) {
  if (ok === null || ok === undefined) return null;
  return h("span", { class: ok ? "verdict pass" : "verdict short" },
    t(ok ? "report.pass" : "report.short"));
}

function figure(id, label, value, ok, target) {
  return [
    h("dt", {}, label),
    h("dd", { id }, value, " ", verdict(ok), " ", h("span", { class: "muted" }, target)),
  ];
}

function figuresView(r, prefix) {
  const g = r.group;
  const names = new Map(r.students.map((s) => [s.student_id, s.name ?? s.student_id]));
  const list = (ids) => (ids.length ? ids.map((i) => names.get(i) ?? i).join("、") : t("report.nobody"));
  const [low, high] = r.targets.mean_hr_bpm;
  return [
    h("p", { class: "help" }, t("report.span", {
      since: fmtTime(r.since), until: fmtTime(r.until),
      main_since: fmtTime(r.main_since), main_until: fmtTime(r.main_until),
      measured: g.students_measured,
    })),
    h("dl", { class: "report-figures" },
      figure(`${prefix}-density`, t("report.density"),
        g.density_pct === null ? t("report.no_data") : `${num(g.density_pct, 1)} %`, g.density_ok,
        t("report.density_target", { min: r.targets.group_density_min_pct })),
      figure(`${prefix}-mean`, t("report.mean"),
        g.mean_bpm === null ? t("report.no_data") : t("live.bpm", { value: num(g.mean_bpm) }),
        g.mean_ok, t("report.mean_target", { low, high })),
      h("dt", {}, t("report.below", { low })),
      h("dd", { id: `${prefix}-below` }, list(r.stayed_below)),
      h("dt", {}, t("report.above", { high })),
      h("dd", { id: `${prefix}-above` }, list(r.stayed_above))),
  ];
}

// Mounts the report's buttons and view in *container* (element ids start with *prefix*); the
// returned function shows *lesson*'s button (or none) and drops the report shown before.
export function mountLessonReport(container, say, prefix) {
  const loadButton = h("button", { type: "button", id: `${prefix}-load`, hidden: true },
    t("report.load"));
  const pdfButton = h("button", { type: "button", id: `${prefix}-pdf`, class: "report-pdf",
    hidden: true }, t("report.pdf"));
  const pdfStatus = h("span", { id: `${prefix}-pdf-status`, role: "status" });
  const view = h("div", { id: `${prefix}-view` });
  container.replaceChildren(h("p", { class: "help" }, t("report.help")),
    loadButton, pdfButton, " ", pdfStatus, view);
  let lesson = null;
  let urls = []; // object URLs of the plots shown, given back when they are replaced

  function clear() {
    for (const url of urls) URL.revokeObjectURL(url);
    urls = [];
    view.replaceChildren();
    pdfButton.hidden = true;
    pdfStatus.textContent = "";
  }

  const base = (l) => `/api/lessons/${encodeURIComponent(l.id)}/report`;

  async function plot(shown, name, alt) {
    const img = h("img", { id: `${prefix}-${name}`, class: "report-plot", alt: t(alt) });
    try {
      const url = URL.createObjectURL(await blob(`${base(shown)}/${name}.png`));
      if (lesson !== shown) {
        URL.revokeObjectURL(url);
        return img;
      }
      urls.push(url);
      img.src = url;
    } catch (err) {
      say(t("report.error", { error: err.message }));
    }
    return img;
  }

  loadButton.addEventListener("click", async () => {
    const shown = lesson;
    if (!shown) return;
    clear();
    view.append(h("p", { class: "muted" }, t("report.loading")));
    try {
      const [r, ...plots] = await Promise.all([
        api(base(shown)),
        ...PLOTS.map(([name, alt]) => plot(shown, name, alt)),
      ]);
      if (lesson !== shown) return; // another lesson was picked meanwhile
      view.replaceChildren(...figuresView(r, prefix), h("div", { class: "report-plots" }, plots));
      pdfButton.hidden = false;
    } catch (err) {
      if (lesson === shown) view.replaceChildren();
      say(t("report.error", { error: err.message }));
    }
  });

  pdfButton.addEventListener("click", async () => {
    const shown = lesson;
    if (!shown) return;
    const name = `lesson-report-${shown.id.replace(/[^A-Za-z0-9._-]/g, "_")}.pdf`;
    pdfStatus.textContent = t("report.pdf_working");
    try {
      await download(`${base(shown)}.pdf`, name);
      if (lesson === shown) pdfStatus.textContent = t("report.pdf_done", { name });
    } catch (err) {
      if (lesson === shown) pdfStatus.textContent = "";
      say(t("report.error", { error: err.message }));
    }
  });

  return (next) => {
    // The lesson list is read again after a lesson starts or ends and when the page comes
    // back: the same lesson shown again keeps the report that is on the page.
    const same = Boolean(next && lesson && next.id === lesson.id);
    lesson = next ?? null;
    if (!same) clear();
    loadButton.hidden = !lesson;
  };
}

// Health staff have no lesson view of their own: a picker of the school's lessons (the API
// lists them all for health staff) with the report under it.
export function mountReportPicker(container, say, prefix) {
  const select = h("select", { id: `${prefix}-lesson`, name: "lesson" });
  const form = h("form", { class: "inline", onsubmit: (e) => e.preventDefault() },
    h("label", { for: select.id }, t("lessons.lesson")), select);
  const report = h("div");
  container.replaceChildren(form, report);
  const show = mountLessonReport(report, say, prefix);
  let lessons = [];
  select.addEventListener("change", () => show(lessons.find((l) => l.id === select.value)));
  (async () => {
    try {
      lessons = await api("/api/me/lessons");
    } catch (err) {
      say(t("lessons.error", { error: err.message }));
      return;
    }
    select.replaceChildren(...lessons.map((l) => h("option", { value: l.id },
      t(l.ended_at ? "lessons.option" : "lessons.option_running", {
        class: l.class_name ?? l.class_id, kind: named(KIND_NAMES, l.kind),
        time: fmtTime(l.started_at),
      }))));
    show(lessons.find((l) => l.id === select.value));
  })();
}
