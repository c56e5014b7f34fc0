// Completing "@handle" in an internal note: typing @ and a few letters lists the matching staff (from
// /notifications/people?q=, the bell's data-people-url); arrows move, Enter or Tab picks, Escape closes.
// Without JavaScript the note is typed by hand and mentions work all the same.
(function () {
  "use strict";
  var bell = document.querySelector("[data-notification-bell]");
  var url = bell && bell.dataset.peopleUrl;
  if (!url) return;  // staff only: the bell is theirs
  var boxes = document.querySelectorAll("textarea#note-body, textarea[data-mentions]");
  var counter = 0;

  boxes.forEach(function (box) {
    var list = document.createElement("ul");
    list.id = "mentions-" + (++counter);
    list.setAttribute("role", "listbox");
    list.className = "mention-list";
    list.hidden = true;
    // Styles through the CSSOM: the page's CSP allows no style attribute.
    Object.assign(list.style, {listStyle: "none", margin: "0", padding: ".25rem 0", border: "1px solid #8a94a6",
      background: "#fff", maxWidth: "24rem", position: "relative", zIndex: "5"});
    box.insertAdjacentElement("afterend", list);
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", list.id);
    var items = [], active = -1, start = -1, asked = 0;

    function close() {
      list.hidden = true; items = []; active = -1; start = -1;
      box.removeAttribute("aria-activedescendant");
      box.setAttribute("aria-expanded", "false");
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (option, position) {
        var chosen = position === index;
        option.setAttribute("aria-selected", chosen ? "true" : "false");
        option.style.background = chosen ? "#0b5cad" : "";
        option.style.color = chosen ? "#fff" : "";
      });
      if (index >= 0) box.setAttribute("aria-activedescendant", list.id + "-" + index);
    }

    function pick(index) {
      var person = items[index];
      if (!person || start < 0) return;
      var before = box.value.slice(0, start), after = box.value.slice(box.selectionStart);
      var inserted = "@" + person.handle + " ";
      box.value = before + inserted + after;
      var caret = before.length + inserted.length;
      box.setSelectionRange(caret, caret);
      close();
      box.focus();
    }

    function show(people) {
      items = people;
      list.textContent = "";
      people.forEach(function (person, index) {
        var option = document.createElement("li");
        option.id = list.id + "-" + index;
        option.setAttribute("role", "option");
        option.textContent = person.name + " (@" + person.handle + ")";
        option.style.padding = ".2rem .6rem";
        option.style.cursor = "pointer";
        option.addEventListener("mousedown", function (event) { event.preventDefault(); pick(index); });
        list.appendChild(option);
      });
      list.hidden = people.length === 0;
      box.setAttribute("aria-expanded", people.length ? "true" : "false");
      highlight(people.length ? 0 : -1);
    }

    box.addEventListener("input", function () {
      var text = box.value.slice(0, box.selectionStart);
      var match = /(^|[\s(])@([\w.+-]{0,40})$/.exec(text);
      if (!match) { close(); return; }
      start = text.length - match[2].length - 1;
      var mine = ++asked;
      fetch(url + "?q=" + encodeURIComponent(match[2]), {credentials: "same-origin",
                                                          headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (people) { if (mine === asked && start >= 0) show(people); })
        .catch(close);
    });

    box.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % items.length); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + items.length) % items.length); }
      else if ((event.key === "Enter" && !event.ctrlKey && !event.metaKey) || event.key === "Tab") {
        event.preventDefault(); event.stopPropagation(); pick(active);
      } else if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); close(); }
    });
    box.addEventListener("blur", function () { setTimeout(close, 150); });
  });
})();
