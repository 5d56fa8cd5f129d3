// Entry point: sign in with a token, ask /api/me who that is, and open the role's panel.

import { api, ApiError, clearToken, setToken, token } from "./api.js";
import { showAlerts } from "./alerts.js";
import { showFleet } from "./fleet.js";
import { showLessons } from "./lessons.js";

// Each role sees exactly one panel; the API refuses the others anyway.
const PANELS = {
  campus_it: ["fleet-panel", showFleet],
  pe_teacher: ["lessons-panel", showLessons],
  health_staff: ["alerts-panel", showAlerts],
};

const $ = (id) => document.getElementById(id);
let stopPanel = null;

export function say(text) {
  $("message").textContent = text;
}

// What a refused sign-in tells the person: the gateway says why (expired, unknown, too many
// failures from this address) in its answer.
function signInProblem(err) {
  if (!(err instanceof ApiError)) return `Could not reach the gateway: ${err.message}`;
  if (err.status === 401 && err.message.includes("expired")) {
    return "That token has expired. Ask campus IT for a new one.";
  }
  if (err.status === 401) return "That token is unknown or revoked. Ask campus IT for a new one.";
  if (err.status === 429) return `Too many failed sign-ins from here. ${err.message.slice(4)}`;
  return `Could not reach the gateway: ${err.message}`;
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
  $("who").textContent = `${me.display_name} (${me.role.replace("_", " ")})`;
  $("who").hidden = false;
  $("sign-out").hidden = false;
  if (!panel) {
    say(`The dashboard has no view for the role ${me.role}.`);
    return;
  }
  say("");
  const [id, show] = panel;
  $(id).hidden = false;
  stopPanel = show($(id), say);
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

start();
