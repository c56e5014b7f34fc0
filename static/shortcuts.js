/* The agents' keyboard shortcuts: in the inbox j/k move, Enter opens, / searches; on a ticket r replies, n writes a
   note, a assigns to me, e resolves; ? lists them all (the dialog of templates/_shortcuts.html, in the reader's
   language); Ctrl+Enter (⌘+Enter) sends the form being written in.
   A letter typed in a field is only ever a letter: no shortcut fires while the focus is where one types, nor with
   Alt, Ctrl or ⌘ held (those belong to the browser and the system). Every action keeps its button: the pages work
   the same without this file. */
"use strict";
(() => {
  const dialog = document.getElementById("shortcuts");
  const NOT_TYPED = new Set(["checkbox", "radio", "button", "submit", "reset", "image", "range", "color", "file"]);

  const typingIn = (element) => {
    if (!(element instanceof HTMLElement)) return false;
    if (element.isContentEditable || element.closest("textarea, select")) return true;
    return element instanceof HTMLInputElement && !NOT_TYPED.has(element.type);
  };

  /* --- the inbox: a selected row, moved by j and k, opened by Enter -------------------------------------- */
  const table = document.querySelector("table.inbox");
  let selected = null;  // the ticket number of the selected row: it survives the live desk swapping the rows in
  const rows = () => [...document.querySelectorAll("table.inbox tbody tr[data-ticket]")];
  const linkOf = (row) => row.querySelector("td.subject a[href]") || row.querySelector("a[href]");

  const mark = () => rows().forEach((row) => {
    const on = row.dataset.ticket === selected;
    row.classList.toggle("selected", on);
    if (on) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
  });

  const move = (step) => {
    const list = rows();
    if (!list.length) return;
    let index = list.findIndex((row) => row.dataset.ticket === selected);
    index = index === -1 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
    selected = list[index].dataset.ticket;
    mark();
    const link = linkOf(list[index]);
    if (link) { link.focus(); link.scrollIntoView({ block: "nearest" }); }
  };

  if (table) {
    // Tabbing (or clicking) into a row selects it too, so j and k carry on from there.
    table.addEventListener("focusin", (event) => {
      const row = event.target.closest("tr[data-ticket]");
      if (row) { selected = row.dataset.ticket; mark(); }
    });
    // desk-live.js replaces the rows when tickets change: the selection (and the focus, if it was on the
    // selected row) moves to the new row of the same ticket.
    new MutationObserver(() => {
      mark();
      const row = rows().find((item) => item.dataset.ticket === selected);
      const lost = document.activeElement === document.body || !document.activeElement;
      if (row && lost) linkOf(row)?.focus({ preventScroll: true });
    }).observe(table, { childList: true });
  }

  const openSelected = () => {
    const row = rows().find((item) => item.dataset.ticket === selected);
    const link = row && linkOf(row);
    if (!link) return false;
    link.click();
    return true;
  };

  /* --- the ticket page ----------------------------------------------------------------------------------- */
  const focusField = (id) => {
    const field = document.getElementById(id);
    if (!field) return false;
    const details = field.closest("details");
    if (details) details.open = true;
    field.focus();
    field.scrollIntoView({ block: "center" });
    return true;
  };

  const assignToMe = () => {
    const form = document.querySelector('form[action$="/assign-to-me"]');
    if (!form) return false;  // already someone's: the fields' assignee says whose
    form.requestSubmit();
    return true;
  };

  // Resolving goes through the ticket's fields form (its status), as a person would change it there: it needs no
  // reply, and the form's version makes a change someone else saved meanwhile a visible refusal, not an overwrite.
  const resolve = () => {
    const status = document.getElementById("fields-status");
    if (!status || !status.form || ["resolved", "closed"].includes(status.value)) return false;
    if (![...status.options].some((option) => option.value === "resolved")) return false;
    status.value = "resolved";
    status.form.requestSubmit();
    return true;
  };

  /* --- the keys -------------------------------------------------------------------------------------------- */
  const actions = {
    j: () => (table ? (move(1), true) : false),
    k: () => (table ? (move(-1), true) : false),
    Enter: () => {
      // A focused link, button or field does its own thing with Enter; only a selection with no such focus opens.
      if (document.activeElement?.closest("a, button, summary, input, select, textarea, [tabindex]")) return false;
      return openSelected();
    },
    "/": () => focusField("q"),
    "?": () => {
      if (!dialog) return false;
      dialog.showModal();
      return true;
    },
    r: () => focusField("reply-body"),
    n: () => focusField("note-body"),
    a: assignToMe,
    e: resolve,
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey) {
      const field = event.target;
      if (field instanceof HTMLTextAreaElement && field.form) {
        event.preventDefault();
        field.form.requestSubmit();
      }
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey || typingIn(event.target)) return;
    if (dialog?.open) return;  // the list is modal: Esc (or its button) closes it first
    const action = Object.hasOwn(actions, event.key) ? actions[event.key] : null;
    // Acting on the key's own default too: r must not also type an "r" into the reply box it just focused.
    if (action && action()) event.preventDefault();
  });
})();
