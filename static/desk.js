/* Small progressive enhancements; every page works without them. */
"use strict";

/* A canned reply chosen in the reply form fills in the reply box. */
document.querySelectorAll("select[data-canned-target]").forEach((select) => {
  select.addEventListener("change", () => {
    const option = select.selectedOptions[0];
    const target = document.getElementById(select.dataset.cannedTarget);
    if (option && option.dataset.text && target) {
      target.value = option.dataset.text;
      target.focus();
    }
  });
});

/* The call form suggests the caller's council and contact as the agent types the number or a name. */
const callForm = document.querySelector("form[data-caller-lookup]");
if (callForm) {
  const number = callForm.querySelector("#caller_number");
  const name = callForm.querySelector("#caller_name");
  const council = callForm.querySelector("#council_id");
  const contact = callForm.querySelector("#requester_contact_id");
  const box = document.getElementById("caller-suggestions");
  let timer = null;
  const lookup = async () => {
    const params = new URLSearchParams({ number: number.value, name: name.value });
    const response = await fetch(`${callForm.dataset.callerLookup}?${params}`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const { suggestions } = await response.json();
    box.replaceChildren(...suggestions.map((item) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion";
      button.textContent = item.contact_name ? `${item.contact_name} · ${item.council_name}` : item.council_name;
      button.addEventListener("click", () => {
        council.value = String(item.council_id);
        contact.value = item.contact_id ? String(item.contact_id) : "";
        if (item.contact_name && !name.value) name.value = item.contact_name;
        box.replaceChildren();
      });
      return button;
    }));
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(lookup, 250); };
  number.addEventListener("input", later);
  name.addEventListener("input", later);
}

/* The FAQ suggests articles as a council types its question, and finds articles for an agent's reply. */
/* The ticket page's FAQ insert box has data-faq-suggest too: only the box that names its sources suggests. */
const faqBox = document.querySelector("[data-faq-suggest][data-faq-sources]");
if (faqBox) {
  const sources = faqBox.dataset.faqSources.split(" ").map((id) => document.getElementById(id)).filter(Boolean);
  const list = faqBox.querySelector("ul");
  let timer = null;
  const suggest = async () => {
    const text = sources.map((field) => field.value).join(" ").trim();
    if (text.length < 4) { list.replaceChildren(); faqBox.hidden = true; return; }
    const response = await fetch(`${faqBox.dataset.faqSuggest}?${new URLSearchParams({ q: text })}`,
                                 { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const articles = await response.json();
    list.replaceChildren(...articles.map((article) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = `${article.url}?from=suggestion`;
      link.target = "_blank";
      link.textContent = article.title;
      item.append(link);
      return item;
    }));
    faqBox.hidden = articles.length === 0;
  };
  sources.forEach((field) => field.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, 300);
  }));
}

const faqInsert = document.querySelector("[data-faq-insert]");
if (faqInsert) {
  const input = faqInsert.querySelector("input");
  const list = faqInsert.querySelector("ul");
  const target = document.getElementById(faqInsert.dataset.faqInsert);
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const response = await fetch(`${faqInsert.dataset.faqSuggest}?${new URLSearchParams({ q: input.value })}`,
                                   { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const articles = await response.json();
      list.replaceChildren(...articles.map((article) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link-button";
        button.textContent = article.title;
        button.addEventListener("click", () => {
          target.value = `${target.value}${target.value ? "\n\n" : ""}${article.title}: ${article.link}`;
          target.focus();
        });
        item.append(button);
        return item;
      }));
    }, 300);
  });
}
