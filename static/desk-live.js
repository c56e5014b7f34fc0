/* The live desk: the inbox and the ticket page follow what others do, without a reload.
   Every couple of seconds the page asks /live for what changed since the last change it saw (the server's
   event log: every worker reads the same one), then fetches itself again and swaps in the parts that changed.
   It also says who else has the ticket open or is typing, and keeps reply drafts on the server.
   Without JavaScript the pages work as before; a network drop is retried with growing waits. */
"use strict";
(() => {
  const inbox = document.querySelector("[data-live-inbox]");
  const ticketBox = document.querySelector("[data-live-ticket]");
  const root = inbox || ticketBox;
  if (!root) return;
  const token = document.querySelector('input[name="csrf_token"]');
  const csrf = token ? token.value : "";
  const ticketId = ticketBox ? Number(ticketBox.dataset.liveTicket) : null;
  const seen = new Set();
  const baseTitle = document.title;
  const status = document.querySelector(".live-state");
  const labels = root.dataset;
  let after = Number(root.dataset.liveAfter || 0);
  let typingAt = 0;
  let failures = 0;
  let missed = 0;  // changes of this ticket while the tab was hidden
  let refreshing = null;
  let refreshAgain = false;

  const post = (url, body) => fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
    body: JSON.stringify(body),
  });

  const showTitle = () => {
    const count = inbox ? inbox.querySelectorAll("tr.unread").length : missed;
    document.title = count ? `(${count}) ${baseTitle}` : baseTitle;
  };

  const selectors = inbox ? ["table.inbox tbody", "nav.tabs", "#inbox-total .total"]
                          : ["ol.thread", ".heading", "#fields-title"];

  /* Put in the parts of the page that show what changed (never the forms being typed in). */
  const put = (html) => {
    const fresh = new DOMParser().parseFromString(html, "text/html");
    const picked = new Set([...document.querySelectorAll('input[name="tickets"]:checked')].map((box) => box.value));
    for (const selector of selectors) {
      const now = document.querySelector(selector);
      const next = fresh.querySelector(selector);
      if (now && next) now.replaceWith(next);
    }
    document.querySelectorAll('input[name="tickets"]').forEach((box) => { box.checked = picked.has(box.value); });
    showTitle();
  };

  /* Fetch those parts of this page again (the inbox's come with /live's answer, unless a change was late). */
  const swap = async () => {
    const response = await fetch(location.href, { credentials: "same-origin", cache: "no-store",
                                                  headers: { "X-Live": "1" } });
    if (response.ok) put(await response.text());
  };

  const refresh = () => {  // one at a time; changes meanwhile make one more
    if (refreshing) { refreshAgain = true; return; }
    refreshing = swap().finally(() => {
      refreshing = null;
      if (refreshAgain) { refreshAgain = false; refresh(); }
    });
  };

  const showPresent = (present) => {
    if (ticketBox) {
      const box = document.getElementById("presence");
      if (!box) return;
      const people = present[String(ticketId)] || [];
      box.replaceChildren();
      if (people.length) {
        box.append(`${box.dataset.here} `);
        people.forEach((person, index) => {
          const span = document.createElement("span");
          span.className = person.typing ? "person typing" : "person";
          span.textContent = person.typing ? `${person.name} (${box.dataset.typing})` : person.name;
          box.append(span);
          if (index < people.length - 1) box.append(", ");
        });
      }
    } else {
      inbox.querySelectorAll("[data-busy]").forEach((cell) => {
        const people = present[cell.dataset.busy] || [];
        cell.replaceChildren();
        if (people.length) {
          const badge = document.createElement("span");
          badge.className = "badge";
          badge.textContent = inbox.dataset.busyLabel.replace("%(names)s", people.map((p) => p.name).join(", "));
          cell.append(" ", badge);
        }
      });
    }
  };

  /* The bell in the header: its count follows new notifications (asked every few polls, not each time). */
  const bell = document.querySelector("[data-notification-bell]");
  let asksSinceBell = 0;
  const askBell = async () => {
    if (!bell) return;
    const response = await fetch(bell.dataset.unreadUrl, { credentials: "same-origin",
                                                           headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const { count } = await response.json();
    const shown = bell.querySelector("[data-notification-count]");
    if (shown && shown.textContent !== String(count)) shown.textContent = String(count);
    bell.classList.toggle("has-unread", count > 0);
  };

  const ask = async () => {
    const onPage = inbox ? [...inbox.querySelectorAll("tr[data-ticket]")].map((row) => Number(row.dataset.ticket)) : [];
    try {
      const response = await post(root.dataset.liveUrl, {
        after, ticket: ticketId, typing: Date.now() - typingAt < 5000, tickets: onPage,
        inbox: inbox ? location.search : undefined });
      if (!response.ok) throw new Error(String(response.status));
      const answer = await response.json();
      const fresh = answer.changes.filter((change) => !seen.has(change.id));
      fresh.forEach((change) => seen.add(change.id));
      const late = fresh.some((change) => change.id <= after);  // committed after a later one was read
      after = Math.max(after, answer.last);
      const mine = ticketBox ? fresh.filter((change) => change.ticket === ticketId) : fresh;
      if (answer.inbox && !late && !refreshing) put(answer.inbox);
      else if (mine.length || answer.more) {
        if (document.hidden && ticketBox) missed += mine.length;
        refresh();
      }
      showPresent(answer.present || {});
      asksSinceBell += 1;
      if (mine.length || asksSinceBell >= 4) { asksSinceBell = 0; askBell().catch(() => {}); }
      if (failures && status) status.textContent = "";
      failures = 0;
    } catch (error) {
      failures += 1;
      if (status) status.textContent = labels.offlineLabel || "";
    }
    const wait = failures ? Math.min(30000, 1000 * 2 ** failures) : (document.hidden ? 6000 : 1500);
    setTimeout(ask, wait);
  };

  /* Drafts: what is typed in the reply or note box is kept on the server, and comes back on any machine. */
  if (ticketBox) {
    document.querySelectorAll("form[data-draft]").forEach((form) => {
      const box = form.querySelector("textarea");
      const state = form.querySelector(".draft-state");
      if (!box) return;
      let timer = null;
      box.addEventListener("input", () => {
        typingAt = Date.now();
        clearTimeout(timer);
        timer = setTimeout(async () => {
          const response = await post(ticketBox.dataset.draftUrl, { kind: form.dataset.draft, body: box.value })
            .catch(() => null);
          if (state) state.textContent = response && response.ok ? ticketBox.dataset.savedLabel : "";
        }, 1200);
      });
    });
    window.addEventListener("pagehide", () => {
      const data = new FormData();
      data.append("csrf_token", csrf);
      navigator.sendBeacon(ticketBox.dataset.leaveUrl, data);
    });
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { missed = 0; showTitle(); }
  });
  showTitle();
  setTimeout(ask, 1500);
})();
