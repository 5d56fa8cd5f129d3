// Entry point: load the page's language, sign in with a token, ask /api/me who that is, and
// open the role's panel.

import { api, ApiError, clearToken, setToken, token } from "./api.js";
import { showAlerts } from "./alerts.js";
import { showDistrict } from "./district.js";
import { showFleet } from "./fleet.js";
import { chooseLanguage, currentLanguage, loadLanguage, named, t } from "./i18n.js";
import { showLessons } from "./lessons.js";
import { ROLE_NAMES } from "./roles.js";

// Each role sees exactly one panel; the API refuses the others anyway.
const PANELS = {
  campus_it: ["fleet-panel", showFleet],
  pe_teacher: ["lessons-panel", showLessons],
  health_staff: ["alerts-panel", showAlerts],
  district: ["district-panel", (panel, say, me) => showDistrict(panel.querySelector("#district-view"), say, me)],
};


const $ = (id) => document.getElementById(id);
let stopPanel = null;

export function say(text) {
  $("message").textContent = text;
}

// What a refused sign-in tells the person: the gateway says why (expired, unknown, too many
// failures from this address) in its answer, in the page's language.
function signInProblem(err) {
  if (err instanceof ApiError && (err.status === 401 || err.status === 429)) {
    return t("signin.refused", { detail: err.detail });
  }
  return t("signin.unreachable", { error: err.message });
}

async function start() {
  if (!token()) {
    $("sign-in").hidden = false;
    $("token").focus();
    return;
  }
  let me;
  try {
    me = await api("/api/me");
  } catch (err) {
    clearToken();
    $("sign-in").hidden = false;
    say(signInProblem(err));
    return;
  }
  const panel = PANELS[me.role];
  $("sign-in").hidden = true;
  $("who").textContent = t("page.who", { name: me.display_name, role: named(ROLE_NAMES, me.role) });
  $("who").hidden = false;
  $("sign-out").hidden = false;
  if (!panel) {
    say(t("page.no_view", { role: named(ROLE_NAMES, me.role) }));
    return;
  }
  say("");
  const [id, show] = panel;
  $(id).hidden = false;
  stopPanel = show($(id), say, me);
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("token").value.trim();
  $("token").value = "";
  if (!value) return;
  setToken(value);
  start();
});

$("sign-out").addEventListener("click", () => {
  clearToken();
  if (stopPanel) stopPanel();
  // A fresh page drops every piece of student data held by the panels.
  location.reload();
});

// Another language: the page is opened again in it (panels render once, in one language).
$("language").addEventListener("change", (event) => {
  chooseLanguage(event.target.value);
  location.reload();
});

await loadLanguage();
$("language").value = currentLanguage();
start();
