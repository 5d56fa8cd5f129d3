// District users: each school's warning level, fitness per school and grade, and open alerts
// counted, all as the gateway aggregates them (no student anywhere). A count the gateway hid
// (too few students to show) is null, and reads "fewer than N".

import { api } from "./api.js";
import { RULE_NAMES, SEVERITY_NAMES } from "./alerts.js";
import { h, replaceRows } from "./dom.js";
import { ITEM_NAMES, LEVEL_NAMES as FITNESS_LEVELS } from "./fitness_names.js";
import { N_, named, t } from "./i18n.js";
import { LEVEL_NAMES } from "./warning_levels.js";

const TOTAL_LEVELS = ["excellent", "good", "pass", "fail"];

function head(keys) {
  return h("thead", {}, h("tr", {}, keys.map((key) => h("th", { scope: "col" }, t(key)))));
}

export function showDistrict(container, say, me) {
  let minimum = 5;
  const hidden = (n) => (n === null || n === undefined ? t("district.hidden", { min: minimum }) : n);
  const pct = (share) => (share === null || share === undefined ? "" : ` (${Math.round(share * 100)}%)`);

  const school = h("select", { id: "district-school" },
    h("option", { value: "" }, t("district.all_schools")),
    me.district_schools.map((s) => h("option", { value: s }, s)));
  const note = h("p", { class: "help", id: "district-note" });
  const level = h("p", { class: "summary", id: "district-level" });
  const levels = h("tbody");
  const totals = h("tbody");
  const items = h("tbody");
  const alerts = h("tbody");

  function showLevels(body) {
    level.textContent = t("district.level", { district: body.district,
      level: named(LEVEL_NAMES, body.level),
      counts: Object.entries(body.schools_by_level).filter(([, n]) => n)
        .map(([l, n]) => t("district.schools_at", { level: named(LEVEL_NAMES, l), n })).join("，") });
    level.className = `summary level-${body.level}`;
    replaceRows(levels, body.schools.map((s) => h("tr", { "data-school": s.school, class: `level-${s.level}` },
      h("th", { scope: "row" }, s.school),
      h("td", { class: `level level-${s.level}` }, named(LEVEL_NAMES, s.level)),
      h("td", {}, hidden(s.cases)), h("td", {}, hidden(s.fevers)),
      h("td", {}, hidden(s.illness_absences)), h("td", {}, hidden(s.unconfirmed_screens)),
      h("td", {}, s.owner))), t("district.none"), 7);
  }

  function showFitness(body) {
    const cells = body.grades;
    replaceRows(totals, cells.map((g) => h("tr", { "data-cell": `${g.school}/${g.grade}` },
      h("th", { scope: "row" }, g.school), h("td", {}, g.grade), h("td", {}, g.students),
      g.suppressed ? h("td", { colspan: 5, class: "muted" }, t("district.too_few", { min: minimum }))
        : [h("td", {}, g.tested),
          ...TOTAL_LEVELS.map((l) => h("td", {}, g.with_total === null ? "—"
            : `${hidden(g.total_levels[l])}${pct(g.total_shares[l])}`))])),
    t("district.none"), 8);
    const shown = cells.flatMap((g) => g.items.filter((i) => !i.suppressed)
      .map((i) => h("tr", { "data-cell": `${g.school}/${g.grade}/${i.item}` },
        h("th", { scope: "row" }, g.school), h("td", {}, g.grade),
        h("td", {}, named(ITEM_NAMES, i.item)), h("td", {}, i.tested),
        h("td", {}, i.mean), h("td", {}, i.median),
        h("td", {}, Object.entries(i.levels).filter(([, n]) => n !== 0)
          .map(([l, n]) => `${named(FITNESS_LEVELS, l)} ${hidden(n)}${pct(i.shares[l])}`).join("；")))));
    replaceRows(items, shown, t("district.too_few", { min: minimum }), 7);
  }

  function showAlerts(body) {
    replaceRows(alerts, body.counts.map((c) => h("tr", {},
      h("th", { scope: "row" }, c.school), h("td", {}, named(RULE_NAMES, c.rule)),
      h("td", { class: `sev-${c.severity}` }, named(SEVERITY_NAMES, c.severity)),
      h("td", {}, hidden(c.open)))), t("district.no_alerts"), 4);
  }

  async function load() {
    const query = school.value ? `?school=${encodeURIComponent(school.value)}` : "";
    try {
      const [l, f, a] = await Promise.all(["warning-levels", "fitness", "alerts/summary"]
        .map((view) => api(`/api/district/${view}${query}`)));
      minimum = l.min_cell;
      note.textContent = l.note;
      showLevels(l);
      showFitness(f);
      showAlerts(a);
      say("");
    } catch (err) {
      say(t("district.error", { error: err.message }));
    }
  }

  container.replaceChildren(
    h("form", { class: "inline", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "district-school" }, t("district.school")), school,
      h("button", { type: "button", id: "district-reload", onclick: load }, t("district.reload"))),
    note, level,
    h("table", { id: "district-levels" }, h("caption", {}, t("district.levels_caption")),
      head([N_("district.col.school"), N_("levels.col.level"), N_("levels.col.cases"), N_("levels.col.fevers"),
        N_("levels.col.absences"), N_("levels.col.screens"), N_("district.col.owner")]), levels),
    h("table", { id: "district-fitness" }, h("caption", {}, t("district.fitness_caption")),
      head([N_("district.col.school"), N_("district.col.grade"), N_("district.col.students"),
        N_("district.col.tested"), ...TOTAL_LEVELS.map((l) => FITNESS_LEVELS[l])]), totals),
    h("table", { id: "district-items" }, h("caption", {}, t("district.items_caption")),
      head([N_("district.col.school"), N_("district.col.grade"), N_("district.col.item"),
        N_("district.col.tested"), N_("district.col.mean"), N_("district.col.median"),
        N_("district.col.levels")]), items),
    h("table", { id: "district-alerts" }, h("caption", {}, t("district.alerts_caption")),
      head([N_("district.col.school"), N_("district.col.rule"), N_("district.col.severity"),
        N_("district.col.open")]), alerts));
  school.addEventListener("change", load);
  load();
  return () => {};
}
