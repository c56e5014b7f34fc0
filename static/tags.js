/* Completion for tag fields: as an agent types, the tags in use that start so are offered (from the
   desk's JSON list); choosing one fills the field in. Without JavaScript the field is a plain text box. */
"use strict";

document.querySelectorAll("[data-tag-complete]").forEach((box) => {
  const field = box.querySelector("input[type=text], input:not([type])");
  const list = box.querySelector(".suggestions");
  if (!field || !list || field.dataset.tagReady) return;
  field.dataset.tagReady = "1";
  field.setAttribute("autocomplete", "off");
  let timer = null;
  let asked = "";

  const hide = () => { list.replaceChildren(); list.hidden = true; };
  const choose = (name) => { field.value = name; hide(); field.focus(); };

  const lookup = async () => {
    const text = field.value.trim();
    if (!text) { hide(); return; }
    asked = text;
    let response;
    try {
      response = await fetch(`${box.dataset.tagComplete}?${new URLSearchParams({ q: text })}`,
                             { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (error) {
      return; // offline: the field still takes what is typed
    }
    if (!response.ok || asked !== field.value.trim()) return;
    const names = (await response.json()).filter((name) => name !== text.toLowerCase());
    list.replaceChildren(...names.map((name) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion";
      button.setAttribute("role", "option");
      button.textContent = name;
      button.addEventListener("click", () => choose(name));
      button.addEventListener("keydown", (event) => {
        const buttons = [...list.querySelectorAll("button")];
        const at = buttons.indexOf(button);
        if (event.key === "ArrowDown" || event.key === "ArrowRight") { event.preventDefault(); (buttons[at + 1] || button).focus(); }
        if (event.key === "ArrowUp" || event.key === "ArrowLeft") { event.preventDefault(); (buttons[at - 1] || field).focus(); }
        if (event.key === "Escape") { hide(); field.focus(); }
      });
      return button;
    }));
    list.hidden = names.length === 0;
  };

  field.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(lookup, 200); });
  field.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && !list.hidden) {
      event.preventDefault();
      const first = list.querySelector("button");
      if (first) first.focus();
    } else if (event.key === "Escape") {
      hide();
    } else if (event.key === "Enter") {
      // In the inbox's bulk form Enter would press its first button ("Apply"): press the tag's own instead.
      const submit = box.querySelector("[data-tag-submit]");
      if (submit) { event.preventDefault(); submit.click(); }
    }
  });
});
