// Campus IT: the school's roster from a CSV (UTF-8 or GBK, as Excel saves it), imported by the
// gateway whole or not at all; its problems are listed row by row, and a template with the
// Chinese column headers can be downloaded to start from.

import { authHeaders } from "./api.js";
import { h } from "./dom.js";
import { N_, named, t } from "./i18n.js";

// The roster's columns by the headers of the template.
const COLUMN_NAMES = {
  student_id: N_("roster.col.student_id"),
  name: N_("roster.col.name"),
  sex: N_("roster.col.sex"),
  birth_date: N_("roster.col.birth_date"),
  class_id: N_("roster.col.class_id"),
  card_id: N_("roster.col.card_id"),
};

// The gateway names each bad cell as "row N, column X: why" (in Chinese "第 N 行，X 列：why"),
// the cells apart by "; ".
const PROBLEM = /(?:row|第) (\d+)(?:, column | 行，)(\w+)(?: 列)?[:：] ?([^;]+)/g;

export function mountRosterImport(container) {
  const file = h("input", { id: "roster-file", type: "file", accept: ".csv,text/csv" });
  const outcome = h("div", { id: "roster-outcome", role: "status" });

  function refused(detail) {
    const problems = [...detail.matchAll(PROBLEM)];
    if (!problems.length) {
      outcome.replaceChildren(h("p", { class: "error" }, t("roster.unreadable", { error: detail })));
      return;
    }
    outcome.replaceChildren(
      h("p", { class: "error" }, t("roster.refused", { n: problems.length })),
      h("ul", {}, problems.map(([, row, column, why]) => h("li", { "data-row": row },
        t("roster.problem", { row, column: named(COLUMN_NAMES, column), error: why.trim() })))));
  }

  async function upload() {
    outcome.replaceChildren();
    const chosen = file.files[0];
    if (!chosen) {
      outcome.textContent = t("roster.choose");
      return;
    }
    try {
      const response = await fetch("/api/roster/import", {
        method: "POST", body: await chosen.arrayBuffer(), cache: "no-store",
        headers: authHeaders({ Accept: "application/json", "Content-Type": "text/csv" }),
      });
      const body = await response.json();
      if (!response.ok) {
        refused(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
        return;
      }
      outcome.replaceChildren(h("p", {}, t("roster.imported", { n: body.imported,
        file: chosen.name, encoding: body.encoding === "utf-8" ? "UTF-8" : "GBK" })));
    } catch (err) {
      outcome.replaceChildren(h("p", { class: "error" }, t("roster.failed", { error: err.message })));
    }
  }

  container.replaceChildren(
    h("p", { class: "help" }, t("roster.help")),
    h("p", {}, h("a", { id: "roster-template", href: "/static/roster_template.csv",
      download: t("roster.template_file") }, t("roster.template"))),
    h("form", { class: "inline", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "roster-file" }, t("roster.file")), file,
      h("button", { type: "button", id: "roster-upload", onclick: upload }, t("roster.send"))),
    outcome);
}
