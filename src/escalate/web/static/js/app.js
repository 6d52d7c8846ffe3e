// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    setUpNavigation();
    setUpConfirmations();
    document.querySelectorAll("[data-template-source]").forEach(setUpTemplateSwap);
    document.querySelectorAll("[data-live-refresh]").forEach(setUpLiveRefresh);
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

  // <select data-template-source data-templates='{"kind": "text"}'> in a form with a
  // <textarea data-template-target>: choosing a kind puts its template in the text, unless
  // the responder has written something of their own there.
  function setUpTemplateSwap(select) {
    var target = select.form && select.form.querySelector("[data-template-target]");
    var templates;
    try {
      templates = JSON.parse(select.getAttribute("data-templates") || "{}");
    } catch (error) {
      return;
    }
    if (!target) return;
    select.addEventListener("change", function () {
      var untouched = target.value.trim() === "";
      Object.keys(templates).forEach(function (kind) {
        if (target.value === templates[kind]) untouched = true;
      });
      if (untouched && templates[select.value] !== undefined) target.value = templates[select.value];
    });
  }

  // <div data-live-refresh data-fragment-url="..." data-refresh-seconds="5">: re-fetch the
  // region's HTML from the server every few seconds, until paused. The server marks the
  // fragment with a header, so a login page (the session ended) is never pasted in.
  function setUpLiveRefresh(region) {
    var url = region.getAttribute("data-fragment-url");
    var seconds = Math.max(1, parseInt(region.getAttribute("data-refresh-seconds"), 10) || 5);
    var toggle = document.querySelector("[data-live-toggle]");
    var status = document.querySelector("[data-live-status]");
    var bar = document.querySelector("[data-live-bar]");
    var paused = false;
    var busy = false;
    var timer = null;

    function say(text, state) {
      if (status) status.textContent = text;
      if (bar) bar.setAttribute("data-state", state);
    }

    function time() {
      return new Date().toISOString().slice(11, 19) + " UTC";
    }

    function refresh() {
      if (paused || busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok || !response.headers.get("X-Escalate-Fragment")) {
            throw new Error(response.redirected ? "signed out" : "HTTP " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          if (paused) return;
          region.innerHTML = html;
          say("Live: updated " + time(), "live");
        })
        .catch(function (error) {
          if (String(error.message) === "signed out") {
            stop();
            say("Live updates stopped: you are signed out. Reload the page.", "stopped");
          } else {
            say("Live updates: cannot reach the server, retrying", "error");
          }
        })
        .then(function () {
          busy = false;
        });
    }

    function start() {
      if (timer === null) timer = window.setInterval(refresh, seconds * 1000);
    }

    function stop() {
      if (timer !== null) window.clearInterval(timer);
      timer = null;
    }

    if (toggle) {
      toggle.addEventListener("click", function () {
        paused = !paused;
        toggle.setAttribute("aria-pressed", paused ? "true" : "false");
        toggle.textContent = paused ? "Resume" : "Pause";
        if (paused) {
          stop();
          say("Live updates paused", "paused");
        } else {
          say("Live: refreshes every " + seconds + " s", "live");
          start();
          refresh();
        }
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) refresh();
    });
    start();
  }
})();
