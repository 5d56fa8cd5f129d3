// A lesson's report for the PE teacher: the class heart-rate curve and the zone shares as the
// gateway draws them (PNG), exercise density and mean heart rate against the curriculum's
// targets, who stayed below or above the target zone, and the same report as a PDF. Names
// appear only where the API sends them; everyone else is shown by student id.

import { api, blob, download } from "./api.js";
import { fmtTime, h, num } from "./dom.js";
import { N_, t } from "./i18n.js";

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

function figuresView(r) {
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
      figure("report-density", t("report.density"),
        g.density_pct === null ? t("report.no_data") : `${num(g.density_pct, 1)} %`, g.density_ok,
        t("report.density_target", { min: r.targets.group_density_min_pct })),
      figure("report-mean", t("report.mean"),
        g.mean_bpm === null ? t("report.no_data") : t("live.bpm", { value: num(g.mean_bpm) }),
        g.mean_ok, t("report.mean_target", { low, high })),
      h("dt", {}, t("report.below", { low })),
      h("dd", { id: "report-below" }, list(r.stayed_below)),
      h("dt", {}, t("report.above", { high })),
      h("dd", { id: "report-above" }, list(r.stayed_above))),
  ];
}

// Mounts the report under the lesson picker; the returned function shows *lesson*'s button
// (or none) and drops the report of the lesson shown before.
export function mountLessonReport(section, say) {
  const view = section.querySelector("#report");
  const loadButton = section.querySelector("#report-load");
  const pdfButton = section.querySelector("#report-pdf");
  const pdfStatus = section.querySelector("#report-pdf-status");
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
    const img = h("img", { id: `report-${name}`, class: "report-plot", alt: t(alt) });
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
      view.replaceChildren(...figuresView(r), h("div", { class: "report-plots" }, plots));
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
    lesson = next ?? null;
    clear();
    loadButton.hidden = !lesson;
  };
}
