// Talks to the gateway API with the signed-in bearer token; the token lives in sessionStorage
// only (gone with the tab), and nothing the API returns is stored in the browser.

import { languageHeader } from "./i18n.js";

const TOKEN_KEY = "campusedge.token";

export class ApiError extends Error {
  constructor(status, detail, problems = null) {
    super(`${status} ${detail}`);
    this.status = status;
    this.detail = detail; // the gateway's words, in the page's language
    this.problems = problems; // a refused body's field-by-field problems (422), as sent
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Without a token (signed out while a request was on its way) no header at all: "Bearer null"
// would count as a failed sign-in of this address. The page's language goes with every request,
// so that what the gateway says back (errors, exports) is in it too.
export function authHeaders(extra = {}) {
  const value = token();
  const base = { ...languageHeader(), ...extra };
  return value ? { Authorization: `Bearer ${value}`, ...base } : base;
}

async function errorOf(response) {
  let detail = response.statusText;
  let problems = null;
  try {
    const body = await response.json();
    if (typeof body.detail === "string") detail = body.detail;
    else if (body.detail) detail = JSON.stringify(body.detail);
    if (Array.isArray(body.detail)) problems = body.detail;
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(response.status, detail, problems);
}

// GET (or POST with a JSON body) and return the parsed JSON; throws ApiError on a non-2xx.
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: authHeaders({ Accept: "application/json" }), cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}

// /healthz answers 503 with a body when degraded: both are an answer worth showing.
export async function health() {
  const response = await fetch("/healthz", { headers: languageHeader(), cache: "no-store" });
  return { ok: response.ok, body: await response.json() };
}

// A file (an image, a PDF) as a Blob: it needs the Authorization header too, so a plain
// link or <img src> cannot fetch it. Throws ApiError on a non-2xx.
export async function blob(path) {
  const response = await fetch(path, { headers: authHeaders(), cache: "no-store" });
  if (!response.ok) throw await errorOf(response);
  return response.blob();
}

// Saves the file at *path* as *filename*, fetched with the token (see blob()).
export async function download(path, filename) {
  const url = URL.createObjectURL(await blob(path));
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
