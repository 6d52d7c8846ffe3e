// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    setUpNavigation();
    setUpConfirmations();
  });

  function setUpNavigation() {
    var nav = document.querySelector("[data-nav]");
    var toggle = document.querySelector("[data-nav-toggle]");
    if (!nav || !toggle) return;

    function setOpen(open) {
      nav.classList.toggle("nav-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }

    toggle.addEventListener("click", function () {
      setOpen(!nav.classList.contains("nav-open"));
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("nav-open")) {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  // <form data-confirm="Question?">: ask before a destructive post.
  function setUpConfirmations() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var question = form instanceof HTMLFormElement && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    });
  }
})();
