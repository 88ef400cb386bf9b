// supportdesk: keyboard shortcuts and the reply nudge. Progressive enhancement only: every page
// works without this file.
(function () {
  "use strict";

  function typing(event) {
    const t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  // Queue navigation: j / k move, Enter or o opens, / searches, c creates, r replies.
  let selected = -1;
  function rows() { return Array.from(document.querySelectorAll("[data-ticket-row]")); }
  function select(index) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((row, i) => row.classList.toggle("selected", i === selected));
    all[selected].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    const key = event.key;
    if (key === "/") {
      const search = document.querySelector("[data-search]");
      if (search) { event.preventDefault(); search.focus(); }
    } else if (key === "j") { select(selected + 1); }
    else if (key === "k") { select(selected - 1); }
    else if ((key === "Enter" || key === "o") && selected >= 0) {
      const link = rows()[selected].querySelector("a[data-open]");
      if (link) { event.preventDefault(); link.click(); }
    } else if (key === "r") {
      const reply = document.querySelector("[data-reply-focus]");
      if (reply) { event.preventDefault(); reply.focus(); }
    } else if (key === "c") {
      const create = document.querySelector("[data-create]");
      if (create) { event.preventDefault(); create.click(); }
    }
  });

  // Composer: show which of Status / Next steps / Expectations is still empty, live.
  function updateParts(form) {
    const missing = [];
    form.querySelectorAll("[data-part]").forEach(function (field) {
      const box = field.closest(".part-field");
      const empty = !field.value.trim();
      if (box) box.classList.toggle("missing", empty);
      if (empty) missing.push(field.dataset.part);
    });
    const hint = form.querySelector("[data-parts-hint]");
    if (hint) {
      hint.textContent = missing.length
        ? "Still missing: " + missing.join(", ") + ". Every reply says the status, the next steps and what to expect."
        : "Status, next steps and expectations: all there.";
    }
  }
  document.addEventListener("input", function (event) {
    const form = event.target.closest && event.target.closest("form[data-composer]");
    if (form) updateParts(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-composer]").forEach(updateParts);
    // Tabs (reply / internal note) without inline script.
    document.querySelectorAll("[data-tabs]").forEach(function (tabs) {
      const buttons = tabs.querySelectorAll("[role=tab]");
      buttons.forEach(function (button) {
        button.addEventListener("click", function () {
          buttons.forEach(function (b) {
            const selectedTab = b === button;
            b.setAttribute("aria-selected", selectedTab ? "true" : "false");
            const panel = document.getElementById(b.getAttribute("aria-controls"));
            if (panel) panel.hidden = !selectedTab;
          });
        });
      });
    });
  });
})();
