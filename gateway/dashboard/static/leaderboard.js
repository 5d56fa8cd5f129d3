// The live leaderboard of one competition (?competition=ID): school, class and initials as the
// gateway projects them, redrawn on each board the SSE stream sends. A public board opens
// without a token; any other asks for one. The stream is read with fetch() so the token travels
// in the Authorization header, not in the URL.

import { authHeaders, clearToken, setToken, token } from "./api.js";
import { sseEvents } from "./alerts.js";
import { h } from "./dom.js";
import { loadLanguage, N_, named, t } from "./i18n.js";

const SEXES = { F: N_("board.sex.F"), M: N_("board.sex.M") };
const INDIVIDUAL_COLUMNS = [
  N_("board.col.rank"), N_("board.col.name"), N_("board.col.class"), N_("board.col.school"),
  N_("board.col.count"),
];
const CLASS_COLUMNS = [
  N_("board.col.rank"), N_("board.col.class"), N_("board.col.school"), N_("board.col.score"),
  N_("board.col.participants"),
];
const SCHOOL_COLUMNS = [
  N_("board.col.rank"), N_("board.col.school"), N_("board.col.score"), N_("board.col.participants"),
];

const $ = (id) => document.getElementById(id);
const competition = new URLSearchParams(window.location.search).get("competition") ?? "";

function table(caption, columns, rows) {
  const body = rows.length
    ? rows.map((cells) => h("tr", {}, cells.map((c, i) => (i === 0
      ? h("th", { scope: "row" }, c) : h("td", {}, c)))))
    : [h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, t("board.empty")))];
  return h("table", { class: "board" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, t(c))))),
    h("tbody", {}, body));
}

function render(board) {
  $("board-name").textContent = board.name;
  document.title = board.name;
  $("board").replaceChildren(...board.events.map((ev) => h("section",
    { class: "panel", "data-event": ev.event },
    h("h2", {}, ev.name),
    ev.individuals.map((g) => table(
      t("board.group", { grade: g.grade, sex: named(SEXES, g.sex) }), INDIVIDUAL_COLUMNS,
      g.ranking.map((r) => [r.rank, r.name, r.class_name, r.school, r.count]),
    )),
    table(t("board.classes"), CLASS_COLUMNS,
      ev.classes.map((c) => [c.rank, c.class_name, c.school, c.score, c.participants])),
    table(t("board.schools"), SCHOOL_COLUMNS,
      ev.schools.map((s) => [s.rank, s.school, s.score, s.participants])),
  )));
}

function signIn() {
  $("sign-in").hidden = false;
  $("token").focus();
}

// A page left for another (or kept in the back-forward cache) closes its stream, so that the
// gateway does not hold it open; a page shown again from that cache opens a new one.
let aborter = new AbortController();

async function follow() {
  let delay = 1000;
  const { signal } = aborter;
  while (!signal.aborted) {
    try {
      const response = await fetch(`/api/competitions/${encodeURIComponent(competition)}/stream`,
        { headers: authHeaders({ Accept: "text/event-stream" }), cache: "no-store", signal });
      if (response.status === 401) {
        // A public board needs no token; any other asks for one (again, if it ended).
        if (token()) $("message").textContent = t("board.signed_out");
        clearToken();
        return signIn();
      }
      if (response.status === 404 || response.status === 403) {
        $("message").textContent = t("board.unknown", { id: competition });
        return undefined;
      }
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      delay = 1000;
      for await (const { event, data } of sseEvents(response.body)) {
        if (event === "leaderboard") {
          render(JSON.parse(data));
          $("board-live").textContent = t("board.live");
        }
      }
      $("board-live").textContent = t("board.reconnecting");
    } catch (err) {
      if (signal.aborted) return undefined;
      $("board-live").textContent = t("board.reconnecting_error", { error: err.message });
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30_000);
  }
  return undefined;
}

window.addEventListener("pagehide", () => aborter.abort());
window.addEventListener("pageshow", (event) => {
  if (!event.persisted || !competition) return;
  aborter = new AbortController();
  follow();
});

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("token").value.trim();
  $("token").value = "";
  if (!value) return;
  setToken(value);
  $("sign-in").hidden = true;
  $("message").textContent = "";
  follow();
});

await loadLanguage();
if (!competition) $("message").textContent = t("board.no_competition");
else follow();
