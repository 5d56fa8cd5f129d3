// PE teachers run a lesson from the page: open it for one of their classes with bands and ropes
// handed out (picked from the school's free devices, or typed or scanned by the id printed on
// the device's label), and end it. The API checks everything again; the page only says early
// what it can see itself (a device given twice, a rope in the band column). A running lesson's
// ropes can be started and stopped for a timed test.

import { api, ApiError } from "./api.js";
import { h } from "./dom.js";
import { N_, named, t } from "./i18n.js";

// The wire contract's device-id rule (campusedge/topics.py): a device that cannot publish
// under an id could never be bound by it.
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const COLUMNS = [
  ["hr_band", N_("control.col.band")],
  ["jump_rope", N_("control.col.rope")],
];
const KIND_NAMES = { hr_band: N_("control.kind.hr_band"), jump_rope: N_("control.kind.jump_rope") };

const cellId = (kind, student) => `assign-${kind}-${student}`;

export function mountLessonControl(panel, say, { reload }) {
  const classSelect = panel.querySelector("#start-class");
  const kindSelect = panel.querySelector("#start-kind");
  const tbody = panel.querySelector("#assign-table tbody");
  const lists = panel.querySelector("#free-lists");
  const summary = panel.querySelector("#free-summary");
  const problem = panel.querySelector("#start-error");
  const endButton = panel.querySelector("#lesson-end");
  let free = new Map(); // device id -> free device
  let lesson = null; // the lesson the picker shows
  let confirming = false;

  function cellError(input, text) {
    const note = input.parentElement.querySelector(".cell-error");
    note.textContent = text;
    input.setAttribute("aria-invalid", text ? "true" : "false");
  }

  function inputs() {
    return [...tbody.querySelectorAll("input[data-kind]")];
  }

  // A scanner types the label's id and presses Enter: go on to the next pupil, do not submit.
  function onKey(event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const all = inputs();
    const next = all[all.indexOf(event.target) + COLUMNS.length];
    if (next) next.focus();
  }

  function row(s) {
    return h("tr", { "data-student": s.id },
      h("th", { scope: "row" }, s.name ?? s.id, s.name ? h("span", { class: "student-id muted" }, ` ${s.id}`) : null),
      COLUMNS.map(([kind, label]) => h("td", {},
        h("input", {
          id: cellId(kind, s.id), "data-kind": kind, "data-student": s.id, list: `free-${kind}`,
          autocomplete: "off", spellcheck: "false", size: 12,
          "aria-label": t("control.cell_label", { student: s.name ?? s.id, column: t(label) }),
          "aria-describedby": `${cellId(kind, s.id)}-error`, onkeydown: onKey,
        }),
        h("span", { class: "cell-error", id: `${cellId(kind, s.id)}-error`, role: "alert" }))));
  }

  async function loadClass() {
    problem.textContent = "";
    const classId = classSelect.value;
    if (!classId) {
      tbody.replaceChildren();
      return;
    }
    try {
      const [students, devices] = await Promise.all([
        api(`/api/classes/${encodeURIComponent(classId)}/students`),
        api("/api/free-devices"),
      ]);
      if (classSelect.value !== classId) return;
      free = new Map(devices.map((d) => [d.device_id, d]));
      lists.replaceChildren(...COLUMNS.map(([kind]) => h("datalist", { id: `free-${kind}` },
        devices.filter((d) => d.kind === kind).map((d) => h("option", { value: d.device_id },
          d.battery_pct === null ? d.device_id
            : t("control.free_option", { device: d.device_id, battery: Math.round(d.battery_pct) }))))));
      const count = (kind) => devices.filter((d) => d.kind === kind).length;
      summary.textContent = t("control.free_summary", { bands: count("hr_band"), ropes: count("jump_rope") });
      tbody.replaceChildren(...students.map(row));
    } catch (err) {
      say(t("control.error", { error: err.message }));
    }
  }

  // Device id -> student id, or null with the reasons shown next to the cells.
  function assignments() {
    const out = {};
    const seen = new Map();
    let ok = true;
    for (const input of inputs()) {
      cellError(input, "");
      const device = input.value.trim();
      input.value = device;
      if (!device) continue;
      const known = free.get(device);
      if (!DEVICE_ID.test(device)) {
        cellError(input, t("control.bad_id"));
        ok = false;
      } else if (known && known.kind !== input.dataset.kind) {
        cellError(input, t("control.wrong_kind", { device, kind: named(KIND_NAMES, known.kind) }));
        ok = false;
      } else if (seen.has(device)) {
        const first = seen.get(device);
        cellError(input, t("control.duplicate", { device }));
        cellError(first, t("control.duplicate", { device }));
        ok = false;
      } else {
        seen.set(device, input);
        out[device] = input.dataset.student;
      }
    }
    return ok ? out : null;
  }

  async function start() {
    problem.textContent = "";
    const given = assignments();
    if (!given) {
      problem.textContent = t("control.fix_cells");
      return;
    }
    try {
      const opened = await api("/api/lessons", {
        method: "POST",
        body: { class_id: classSelect.value, kind: kindSelect.value, assignments: given },
      });
      say(t("control.started", { n: Object.keys(given).length }));
      await reload(opened.id);
      await loadClass();
    } catch (err) {
      // The gateway words a refused device "assignments.<device>: why" (another school's, a
      // student not in the class), or names the devices other running lessons hold: either is
      // shown beside the cell that asked for it; what was typed stays for the next try.
      const detail = err instanceof ApiError ? err.detail : err.message;
      for (const input of inputs()) {
        if (!input.value) continue;
        const own = [":", "："].map((colon) => `assignments.${input.value}${colon}`)
          .find((prefix) => detail.startsWith(prefix));
        if (own) cellError(input, detail.slice(own.length).trim());
        else if (err.status === 409 && detail.includes(`'${input.value}'`)) cellError(input, t("control.busy"));
      }
      problem.textContent = t("control.start_error", { error: detail });
    }
  }

  async function end() {
    if (!lesson) return;
    if (!confirming) {
      // Ending frees the devices at once: a second click, so that a slip does not end a lesson.
      confirming = true;
      endButton.textContent = t("control.end_confirm");
      return;
    }
    const ending = lesson;
    try {
      await api(`/api/lessons/${encodeURIComponent(ending.id)}/end`, { method: "POST" });
      say(t("control.ended"));
      await reload(ending.id);
      await loadClass();
    } catch (err) {
      say(t("control.end_error", { error: err.message }));
    }
  }

  // A timed rope test on the lesson's ropes: the gateway tells each ropes' edge box.
  const ropeForm = panel.querySelector("#rope-test");
  const ropeStatus = panel.querySelector("#rope-status");
  async function ropeTest(action) {
    if (!lesson) return;
    ropeStatus.textContent = "";
    const seconds = Number(panel.querySelector("#rope-seconds").value);
    if (action === "start" && !(Number.isInteger(seconds) && seconds >= 10 && seconds <= 600)) {
      ropeStatus.textContent = t("rope.bad_seconds");
      return;
    }
    try {
      const answer = await api(`/api/lessons/${encodeURIComponent(lesson.id)}/rope-test`,
        { method: "POST", body: { action, seconds } });
      const n = Object.values(answer.sent).flat().length;
      ropeStatus.textContent = (action === "start" ? t("rope.started", { n }) : t("rope.ended", { n })) +
        (answer.unreachable.length
          ? t("rope.unreachable", { devices: answer.unreachable.join(", ") }) : "");
    } catch (err) {
      ropeStatus.textContent = t("rope.error", { error: err instanceof ApiError ? err.detail : err.message });
    }
  }
  panel.querySelector("#rope-start").addEventListener("click", () => ropeTest("start"));
  panel.querySelector("#rope-end").addEventListener("click", () => ropeTest("end"));

  panel.querySelector("#lesson-start-submit").addEventListener("click", start);
  classSelect.addEventListener("change", loadClass);
  endButton.addEventListener("click", end);

  (async () => {
    try {
      const classes = await api("/api/classes");
      classSelect.replaceChildren(...classes.map((c) => h("option", { value: c.id },
        t("control.class_option", { name: c.name, students: c.students }))));
      await loadClass();
    } catch (err) {
      say(t("control.error", { error: err.message }));
    }
  })();

  // The picker shows another lesson: offer to end it while it runs.
  return (shown) => {
    lesson = shown;
    confirming = false;
    endButton.textContent = t("control.end");
    endButton.hidden = !shown || Boolean(shown.ended_at);
    ropeForm.hidden = endButton.hidden;
    ropeStatus.textContent = "";
  };
}
