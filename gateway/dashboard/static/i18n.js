// The page's words: one JSON catalog per language (i18n/<language>.json), looked up by key.
// The language is chosen as the gateway chooses it: the reader's choice in this browser, else
// the browser's Accept-Language, else the deployment's CAMPUSEDGE_LANGUAGE (zh-CN by default);
// GET /api/locale answers with the result and the school's time zone.

// The reader's own choice: the one thing the dashboard keeps in local storage (no API data).
const CHOICE_KEY = "campusedge.language";

let words = {};
let english = {};
let language = "zh-CN";
let zone = "Asia/Shanghai";

// Marks a key that is looked up later (from a table); the catalog test finds keys by this and t().
export const N_ = (key) => key;

export function currentLanguage() {
  return language;
}

export function timeZone() {
  return zone;
}

// The Accept-Language every API request sends, so that the gateway's messages (errors, exports)
// come in the page's language.
export function languageHeader() {
  return { "Accept-Language": language };
}

// A catalog that cannot be read leaves its words to the next one (English, then the key): the
// page still works, in the words it has.
async function catalog(name) {
  try {
    const response = await fetch(`/static/i18n/${name}.json`);
    return response.ok ? await response.json() : {};
  } catch {
    return {};
  }
}

export async function loadLanguage() {
  const choice = localStorage.getItem(CHOICE_KEY);
  try {
    const response = await fetch("/api/locale", {
      headers: choice ? { "Accept-Language": choice } : {}, cache: "no-store",
    });
    const locale = await response.json();
    language = locale.language;
    zone = locale.time_zone;
  } catch {
    // The gateway did not answer: the page still speaks its default language.
  }
  // English backs every other catalog, so that a missing key shows English, never a blank.
  [english, words] = await Promise.all([catalog("en"), language === "en" ? null : catalog(language)]);
  words ??= english;
  document.documentElement.lang = language;
  translatePage(document);
}

export function chooseLanguage(value) {
  localStorage.setItem(CHOICE_KEY, value);
}

// The text of *key* with its {placeholders} filled from *params*.
export function t(key, params = {}) {
  const text = words[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// A name from a table of keys (alert states, device kinds); a value with no key as it is.
export function named(table, value) {
  return value in table ? t(table[value]) : String(value ?? "—");
}

// Static text in the page: a data-i18n attribute names the key of its text, data-i18n-label
// the key of its aria-label.
export function translatePage(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
}
