// PE teachers type a test session's results into a class grid (each cell saved when left,
// checked by the gateway as any result is, its refusal shown next to the cell) or upload the
// class's results file (CSV or XLSX), which the gateway takes whole or not at all.

import { ApiError, api, authHeaders } from "./api.js";
import { h } from "./dom.js";
import { ENTRY_UNITS, ITEM_NAMES, UNIT_NAMES } from "./fitness_names.js";
import { named, t } from "./i18n.js";

const cellId = (student, item) => `entry-${student}-${item}`;

// The items any student of the class takes (from what the session reports as taken or
// missing), with height and weight in place of BMI, which is worked out from them.
function gridItems(results) {
  const taken = new Set(results.students.flatMap((s) => [...Object.keys(s.items), ...s.missing]));
  taken.delete("bmi");
  return Object.keys(ENTRY_UNITS).filter((item) => item === "height_cm" || item === "weight_kg"
    || taken.has(item));
}

function show(value) {
  return value === undefined ? "" : String(value);
}

export function mountResultsEntry(container, lesson, results, say, refresh) {
  const items = gridItems(results);
  const base = `/api/fitness/sessions/${encodeURIComponent(lesson.id)}/results`;

  function note(input, text, saved = false) {
    const span = input.parentElement.querySelector(".cell-error");
    span.textContent = text;
    input.setAttribute("aria-invalid", text && !saved ? "true" : "false");
    input.classList.toggle("saved", saved);
  }

  async function save(input) {
    const value = input.value.trim();
    if (!value || value === input.dataset.saved) return;
    try {
      await api(base, { method: "POST", body: { student_id: input.dataset.student,
        item: input.dataset.item, value } });
      input.dataset.saved = value;
      note(input, "", true);
      refresh();
    } catch (err) {
      note(input, err instanceof ApiError ? t("entry.refused", { error: err.detail })
        : t("entry.failed", { error: err.message }));
    }
  }

  const cell = (s, item) => {
    const current = s.items[item] && !s.items[item].derived ? show(s.items[item].value) : "";
    const input = h("input", {
      id: cellId(s.student_id, item), "data-student": s.student_id, "data-item": item,
      "data-saved": current, value: current, inputmode: "decimal", size: 6, autocomplete: "off",
      "aria-label": t("entry.cell_label", { student: s.name ?? s.student_id,
        item: named(ITEM_NAMES, item) }),
      "aria-describedby": `${cellId(s.student_id, item)}-error`,
      onchange: (event) => save(event.target),
    });
    return h("td", {}, input,
      h("span", { class: "cell-error", id: `${cellId(s.student_id, item)}-error`, role: "alert" }));
  };

  const grid = h("table", { id: "entry-table" },
    h("caption", {}, t("entry.caption")),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("col.student")),
      items.map((item) => h("th", { scope: "col" }, t("entry.col", {
        item: named(ITEM_NAMES, item), unit: named(UNIT_NAMES, ENTRY_UNITS[item]) }))))),
    h("tbody", {}, results.students.map((s) => h("tr", { "data-student": s.student_id },
      h("th", { scope: "row" }, s.name ?? s.student_id,
        s.name ? h("span", { class: "student-id muted" }, ` ${s.student_id}`) : null),
      items.map((item) => cell(s, item))))));

  const file = h("input", { id: "results-file", type: "file", accept: ".csv,.xlsx,text/csv" });
  const outcome = h("div", { id: "upload-outcome", role: "status" });

  // The gateway's problems with a file, each beside its cell where the grid has one, and all
  // in a list by spreadsheet row (a row of a student not in the grid has no cell).
  function showProblems(problems) {
    for (const p of problems) {
      const input = p.student_id && container.querySelector(`#${CSS.escape(cellId(p.student_id, p.column))}`);
      if (input) note(input, t("entry.refused", { error: p.error }));
    }
    outcome.replaceChildren(h("p", { class: "error" }, t("upload.refused", { n: problems.length })),
      h("ul", {}, problems.map((p) => h("li", {}, t("upload.problem", {
        row: p.row, column: named(ITEM_NAMES, p.column), student: p.student_id ?? "—", error: p.error,
      })))));
  }

  async function upload() {
    outcome.replaceChildren();
    const chosen = file.files[0];
    if (!chosen) {
      outcome.textContent = t("upload.choose");
      return;
    }
    try {
      const response = await fetch(`${base}/file`, {
        method: "POST", body: await chosen.arrayBuffer(), cache: "no-store",
        headers: authHeaders({ Accept: "application/json", "Content-Type": "application/octet-stream" }),
      });
      const body = await response.json();
      if (!response.ok) {
        outcome.replaceChildren(h("p", { class: "error" }, t("upload.unreadable", { error: body.detail })));
      } else if (body.errors.length) {
        showProblems(body.errors);
      } else {
        await refresh(true);
        const shown = container.querySelector("#upload-outcome"); // in the grid built anew
        if (shown) shown.textContent = t("upload.saved", { n: body.saved, file: chosen.name });
      }
    } catch (err) {
      outcome.replaceChildren(h("p", { class: "error" }, t("upload.failed", { error: err.message })));
    }
  }

  container.replaceChildren(
    h("h4", {}, t("entry.title")), h("p", { class: "help" }, t("entry.help")), grid,
    h("h4", {}, t("upload.title")), h("p", { class: "help" }, t("upload.help")),
    h("form", { class: "inline", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "results-file" }, t("upload.file")), file,
      h("button", { type: "button", id: "results-upload", onclick: upload }, t("upload.send"))),
    outcome);
}
