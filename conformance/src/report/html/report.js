// The HTML report's behaviour: filters (all, failed, warnings, skipped,
// partial), the search box, copy buttons for curl commands, and opening the
// shown cases for printing. No network access; everything works from a file:// URL.
(function () {
  "use strict";
  var cases = Array.prototype.slice.call(document.querySelectorAll(".case"));
  var groups = Array.prototype.slice.call(document.querySelectorAll(".group"));
  var buttons = Array.prototype.slice.call(document.querySelectorAll("[data-set-filter]"));
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var empty = document.getElementById("empty");
  var filter = "all";

  function apply() {
    var q = search.value.trim().toLowerCase();
    var n = 0;
    cases.forEach(function (c) {
      var ok = (filter === "all" || c.getAttribute("data-filter") === filter) &&
        (q === "" || c.getAttribute("data-search").indexOf(q) !== -1);
      c.hidden = !ok;
      if (ok) { n += 1; }
    });
    groups.forEach(function (g) { g.hidden = !g.querySelector(".case:not([hidden])"); });
    shown.textContent = String(n);
    empty.hidden = n > 0;
  }

  buttons.forEach(function (b) {
    b.addEventListener("click", function () {
      filter = b.getAttribute("data-set-filter");
      buttons.forEach(function (o) { o.setAttribute("aria-pressed", o === b ? "true" : "false"); });
      apply();
    });
  });
  search.addEventListener("input", apply);

  function copied(button, ok) {
    var label = button.getAttribute("data-label");
    button.textContent = ok ? "Copied" : "Select and copy";
    window.setTimeout(function () { button.textContent = label; }, 1500);
  }
  function fallbackCopy(button, pre) {
    var range = document.createRange();
    range.selectNodeContents(pre);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    copied(button, ok);
  }
  Array.prototype.forEach.call(document.querySelectorAll(".copy"), function (button) {
    button.setAttribute("data-label", button.textContent);
    button.addEventListener("click", function () {
      var pre = document.getElementById(button.getAttribute("data-target"));
      var text = pre.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { copied(button, true); },
          function () { fallbackCopy(button, pre); });
      } else {
        fallbackCopy(button, pre);
      }
    });
  });

  // Printing shows every case the filters show, expanded.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = cases.filter(function (c) { return !c.hidden && !c.open; });
    opened.forEach(function (c) { c.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (c) { c.open = false; });
    opened = [];
  });

  apply();
})();
