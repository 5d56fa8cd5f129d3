// Health staff: vision-screening referrals and where each stands (parents told, seen, closed).

import { api, ApiError } from "./api.js";
import { fmtTime, h, replaceRows } from "./dom.js";
import { N_, named, t } from "./i18n.js";

const STATUS_NAMES = {
  open: N_("referral.status.open"),
  parents_informed: N_("referral.status.parents_informed"),
  seen_by_optometrist: N_("referral.status.seen_by_optometrist"),
  closed: N_("referral.status.closed"),
};
const STATUSES = Object.keys(STATUS_NAMES);
const EYE_NAMES = { left: N_("eye.left"), right: N_("eye.right") };
const GRADE_NAMES = { mild: N_("grade.mild"), moderate: N_("grade.moderate"), severe: N_("grade.severe") };

function finding(f) {
  if (f.finding === "poor_vision") {
    return t("finding.poor_vision", { acuity: f.acuity, grade: named(GRADE_NAMES, f.grade) });
  }
  if (f.finding === "screening_myopia") {
    return t("finding.screening_myopia", { acuity: f.acuity, se: f.spherical_equivalent_d });
  }
  if (f.finding === "acuity_drop") return t("finding.acuity_drop", { from: f.from, to: f.to });
  return String(f.finding ?? "—");
}

export function describe(f) {
  return f.eye ? t("finding.eye", { eye: named(EYE_NAMES, f.eye), finding: finding(f) }) : finding(f);
}

export function mountReferrals(container, say) {
  const tbody = h("tbody");
  const table = h("table", { id: "referrals-table" },
    h("caption", {}, t("referrals.caption")),
    h("thead", {}, h("tr", {}, [t("referrals.col.screened"), t("col.student"), t("col.class"),
      t("referrals.col.findings"), t("referrals.col.worst_grade"), t("referrals.col.status")]
      .map((text) => h("th", { scope: "col" }, text)))),
    tbody);
  container.replaceChildren(table);

  async function setStatus(referral, status) {
    try {
      await api(`/api/alerts/referrals/${referral.id}/status`, { method: "POST", body: { status } });
      say("");
    } catch (err) {
      say(t("referrals.action_error", { id: referral.id, error: err.message }));
      load();
    }
  }

  function row(r) {
    const id = `referral-${r.id}-status`;
    return h("tr", { "data-referral": r.id },
      h("td", {}, fmtTime(r.screened_at)),
      h("td", {}, r.student_name ?? r.student_id),
      h("td", {}, r.class_id ?? "—"),
      h("td", {}, r.findings.map(describe).join("; ")),
      h("td", {}, r.worst_grade ? named(GRADE_NAMES, r.worst_grade) : "—"),
      h("td", {},
        h("label", { for: id, class: "visually-hidden" }, t("referrals.status_label", { id: r.id })),
        h("select", { id, onchange: (e) => setStatus(r, e.target.value) },
          STATUSES.map((s) => h("option", { value: s, selected: s === r.status },
            named(STATUS_NAMES, s))))));
  }

  async function load() {
    try {
      const referrals = await api("/api/alerts/referrals");
      referrals.sort((a, b) => b.screened_at.localeCompare(a.screened_at));
      if (!table.isConnected) container.replaceChildren(table); // back after being unavailable
      replaceRows(tbody, referrals.map(row), t("referrals.empty"), 6);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 503)) {
        container.replaceChildren(h("p", { class: "notice" },
          t("referrals.unavailable")));
      } else {
        say(t("referrals.error", { error: err.message }));
      }
    }
  }

  load();
  return load;
}
