// A secret the gateway shows once (a new token, a box's password and key): on the page until
// the next change, with a button that copies it and, for a file, one that saves it. Nothing
// of it is kept in the browser's storage.

import { h } from "./dom.js";
import { t } from "./i18n.js";

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (a page not on https, say): the old way, through a selection.
    const area = h("textarea", { class: "visually-hidden" }, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = t("once.copied");
}

function save(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/octet-stream" }));
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// One secret: its label, the text in a <pre> (id given), copy, and with a filename, save.
export function secret(id, label, text, filename = null) {
  const copyButton = h("button", { type: "button", id: `${id}-copy` }, t("once.copy"));
  copyButton.addEventListener("click", () => copy(text, copyButton));
  return h("div", { class: "secret" },
    h("div", { class: "secret-head" }, h("strong", {}, label), copyButton,
      filename ? h("button", { type: "button", id: `${id}-save`, onclick: () => save(text, filename) },
        t("once.save", { file: filename })) : null),
    h("pre", { id, class: "secret-text" }, text));
}
