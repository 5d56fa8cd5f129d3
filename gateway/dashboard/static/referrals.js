// Health staff: vision-screening referrals and where each stands (parents told, seen, closed).

import { api, ApiError } from "./api.js";
import { fmtTime, h, replaceRows } from "./dom.js";

const STATUSES = ["open", "parents_informed", "seen_by_optometrist", "closed"];
const words = (text) => text.replaceAll("_", " ");

export function describe(finding) {
  const eye = finding.eye ? `${finding.eye}: ` : "";
  if (finding.finding === "poor_vision") return `${eye}poor vision ${finding.acuity} (${finding.grade})`;
  if (finding.finding === "screening_myopia") {
    return `${eye}myopia, ${finding.acuity}, SE ${finding.spherical_equivalent_d} D`;
  }
  if (finding.finding === "acuity_drop") return `${eye}dropped ${finding.from} → ${finding.to}`;
  return `${eye}${words(String(finding.finding ?? "finding"))}`;
}

export function mountReferrals(container, say) {
  const tbody = h("tbody");
  const table = h("table", { id: "referrals-table" },
    h("caption", {}, "Vision screening referrals, newest first"),
    h("thead", {}, h("tr", {}, ["Screened", "Student", "Class", "Findings", "Worst grade",
      "Status"].map((t) => h("th", { scope: "col" }, t)))),
    tbody);
  container.replaceChildren(table);

  async function setStatus(referral, status) {
    try {
      await api(`/api/alerts/referrals/${referral.id}/status`, { method: "POST", body: { status } });
      say("");
    } catch (err) {
      say(`Referral ${referral.id}: ${err.message}`);
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
      h("td", {}, r.worst_grade ?? "—"),
      h("td", {},
        h("label", { for: id, class: "visually-hidden" }, `Status of referral ${r.id}`),
        h("select", { id, onchange: (e) => setStatus(r, e.target.value) },
          STATUSES.map((s) => h("option", { value: s, selected: s === r.status }, words(s))))));
  }

  async function load() {
    try {
      const referrals = await api("/api/alerts/referrals");
      referrals.sort((a, b) => b.screened_at.localeCompare(a.screened_at));
      if (!table.isConnected) container.replaceChildren(table); // back after being unavailable
      replaceRows(tbody, referrals.map(row), "No referrals.", 6);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 503)) {
        container.replaceChildren(h("p", { class: "notice" },
          "Referrals are not available on this gateway."));
      } else {
        say(`Referrals: ${err.message}`);
      }
    }
  }

  load();
  return load;
}
