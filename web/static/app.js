// Progressive enhancement only: every page works without this file.
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  // Phones: the navigation folds behind a Menu button.
  const toggle = document.querySelector(".menu-toggle");
  const nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.hidden = false;
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }
  // A page with errors takes the reader to their summary first (GOV.UK error summary).
  const summary = document.querySelector(".error-summary");
  // A route preview appears far below the button that asked for it: take the reader there.
  const preview = document.querySelector(".route-preview");
  if (preview && !summary) {
    preview.setAttribute("tabindex", "-1");
    preview.focus();
  }
  if (summary) {
    summary.focus();
    // Its links put the cursor in the field, with the field's label in view.
    summary.querySelectorAll("a[href^='#']").forEach((link) => {
      link.addEventListener("click", (event) => {
        const field = document.getElementById(link.getAttribute("href").slice(1));
        if (!field) return;
        event.preventDefault();
        const box = field.closest("fieldset, .field") || field;
        box.scrollIntoView();
        field.focus({ preventScroll: true });
      });
    });
  }
});
