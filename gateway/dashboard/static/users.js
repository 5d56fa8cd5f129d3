// Campus IT: the accounts of their schools' staff. Add one (role, schools), give a new token
// (shown once, with a copy button), change the role or schools, revoke after a confirmation.
// The gateway decides who may do what; its refusals are shown next to the field they name.

import { api, setToken } from "./api.js";
import { confirming, fmtTime, h, replaceRows } from "./dom.js";
import { field, showErrors } from "./form_errors.js";
import { N_, named, t } from "./i18n.js";
import { GRANTABLE, ROLE_NAMES } from "./roles.js";
import { secret } from "./shown_once.js";

function roleSelect(id, chosen = GRANTABLE[0]) {
  return h("select", { id, name: "role" }, GRANTABLE.map((role) =>
    h("option", { value: role, selected: role === chosen }, named(ROLE_NAMES, role))));
}

// One checkbox per school of the signed-in user: nobody gives a school they do not hold.
function schoolChecks(id, schools, chosen = []) {
  return h("span", { id, class: "checks", role: "group" }, schools.map((school) =>
    h("label", {}, h("input", { type: "checkbox", name: id, value: school,
      checked: chosen.includes(school) }), school)));
}

function checked(group) {
  return [...group.querySelectorAll("input:checked")].map((box) => box.value);
}

export function mountUsers(container, me) {
  const addFields = { id: "user-id", display_name: "user-name", role: "user-role",
    schools: "user-schools" };
  const editFields = { role: "edit-role", schools: "edit-schools" };
  const status = h("p", { id: "users-status", role: "status" });
  const once = h("div", { id: "user-token" });
  const tbody = h("tbody");
  const editor = h("div", { id: "user-edit" });
  let tokenOf = null; // whose token the page shows

  function done(text, error = false) {
    status.className = error ? "error" : "";
    status.textContent = text;
  }

  // The token the gateway gave, shown once; one's own new token is this page's from now on.
  function showToken(result, key) {
    if (result.user.id === me.id) setToken(result.token);
    tokenOf = result.user.id;
    once.replaceChildren(h("div", { class: "once" },
      h("p", {}, t(key, { user: result.user.id, until: fmtTime(result.user.token_expires_at) })),
      secret("user-token-text", t("users.token"), result.token),
      h("p", { class: "help" }, t("users.token_help"))));
  }

  async function act(work, success) {
    done("");
    try {
      const result = await work();
      if (success) done(success(result));
    } catch (err) {
      done(t("users.failed", { error: err.detail ?? err.message }), true);
    }
    await load();
  }

  function edit(user) {
    const role = roleSelect("edit-role", user.role);
    const schools = schoolChecks("edit-schools", me.schools, user.schools);
    const whole = h("p", { class: "error", id: "user-edit-error", role: "alert" });
    async function save(event) {
      event.preventDefault();
      showErrors(null, editFields, whole);
      try {
        await api(`/api/users/${encodeURIComponent(user.id)}`, { method: "PATCH",
          body: { role: role.value, schools: checked(schools) } });
        editor.replaceChildren();
        done(t("users.changed", { user: user.id }));
        await load();
      } catch (err) {
        showErrors(err, editFields, whole);
      }
    }
    editor.replaceChildren(h("form", { id: "user-edit-form", onsubmit: save },
      h("h4", {}, t("users.edit_title", { user: user.id })),
      field("edit-role", t("users.role"), role),
      field("edit-schools", t("users.schools"), schools),
      whole,
      h("button", { type: "submit", id: "user-edit-save" }, t("users.save")),
      h("button", { type: "button", onclick: () => editor.replaceChildren() }, t("users.cancel"))));
  }

  function row(user) {
    const path = `/api/users/${encodeURIComponent(user.id)}`;
    return h("tr", { "data-user": user.id },
      h("th", { scope: "row" }, user.id),
      h("td", {}, user.display_name),
      h("td", {}, named(ROLE_NAMES, user.role)),
      h("td", {}, user.schools.join(t("list.separator"))),
      h("td", {}, fmtTime(user.token_expires_at)),
      h("td", { class: "actions" },
        confirming(`rotate-${user.id}`, t("users.rotate"), t("users.rotate_confirm"), () => act(
          async () => showToken(await api(`${path}/rotate`, { method: "POST" }),
            N_("users.rotated")))),
        h("button", { type: "button", id: `edit-${user.id}`, onclick: () => edit(user) },
          t("users.edit")),
        user.id === me.id ? null
          : confirming(`revoke-${user.id}`, t("users.revoke"), t("users.revoke_confirm"), () => act(
            async () => {
              await api(path, { method: "DELETE" });
              // A revoked user's token is worth nothing: not left on the page as if it were.
              if (tokenOf === user.id) once.replaceChildren();
            }, () => t("users.revoked", { user: user.id })))));
  }

  async function load() {
    try {
      const users = await api("/api/users");
      replaceRows(tbody, users.map(row), t("users.empty"), 6);
    } catch (err) {
      done(t("users.failed", { error: err.detail ?? err.message }), true);
    }
  }

  const id = h("input", { id: "user-id", name: "id", autocomplete: "off", maxlength: 64 });
  const name = h("input", { id: "user-name", name: "display_name", autocomplete: "off" });
  const role = roleSelect("user-role");
  const schools = schoolChecks("user-schools", me.schools, me.schools.length === 1 ? me.schools : []);
  const whole = h("p", { class: "error", id: "user-add-error", role: "alert" });

  async function add(event) {
    event.preventDefault();
    showErrors(null, addFields, whole);
    try {
      const made = await api("/api/users", { method: "POST", body: { id: id.value.trim(),
        display_name: name.value.trim() || null, role: role.value, schools: checked(schools) } });
      showToken(made, N_("users.added"));
      id.value = "";
      name.value = "";
      await load();
    } catch (err) {
      showErrors(err, addFields, whole);
    }
  }

  container.replaceChildren(
    h("p", { class: "help" }, t("users.help")),
    h("table", { id: "users-table" },
      h("caption", {}, t("users.caption")),
      h("thead", {}, h("tr", {},
        [N_("users.col.id"), N_("users.col.name"), N_("users.col.role"), N_("users.col.schools"),
          N_("users.col.until"), N_("users.col.actions")].map((key) =>
          h("th", { scope: "col" }, t(key))))),
      tbody),
    status, once, editor,
    h("form", { id: "user-add", onsubmit: add },
      h("h4", {}, t("users.add_title")),
      field("user-id", t("users.id"), id),
      field("user-name", t("users.name"), name),
      field("user-role", t("users.role"), role),
      field("user-schools", t("users.schools"), schools),
      whole,
      h("button", { type: "submit", id: "user-add-submit" }, t("users.add"))));
  load();
}
