// The live board's small script: the big screen's clock and its rotation through the skills, the
// connection state, and (at the ceremony) showing the skill whose medals were just revealed.
// htmx's ws extension does the rest: it swaps in each fragment the server sends, and reconnects by itself.
(function () {
  "use strict";
  var lang = document.documentElement.lang === "lv" ? "lv-LV" : "en-GB";
  var TEXT = lang === "lv-LV"
    ? {lost: "Savienojums pārtrūka: atjaunojam…", live: ""}
    : {lost: "Connection lost: reconnecting…", live: ""};
  var clock = document.querySelector("[data-clock]");
  function tick() { if (clock) { clock.textContent = new Date().toLocaleTimeString(lang, {hour: "2-digit", minute: "2-digit"}); } }
  tick();
  window.setInterval(tick, 10000);

  var screen = document.body.classList.contains("screen");
  var rotate = Number(document.body.getAttribute("data-rotate-s") || 12) * 1000;
  var shown = 0;
  var pinned = null;
  function skills() { return Array.prototype.slice.call(document.querySelectorAll("#board .skill")); }
  function show(index) {
    var all = skills();
    if (!all.length) { return; }
    shown = ((index % all.length) + all.length) % all.length;
    all.forEach(function (skill, i) { skill.classList.toggle("on-screen", i === shown); });
  }
  function ceremony() { var board = document.getElementById("board"); return board && board.getAttribute("data-policy") === "ceremony"; }
  if (screen) {
    show(0);
    window.setInterval(function () { if (!pinned) { show(shown + 1); } }, rotate);
  }
  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!screen) { return; }
    if (target && target.classList && target.classList.contains("skill") && ceremony()) {
      var all = skills();
      pinned = target.getAttribute("data-skill");
      show(all.indexOf(target));
      window.setTimeout(function () { pinned = null; }, 60000);
    } else {
      show(shown);
    }
  });
  var state = document.querySelector("[data-connection]");
  document.body.addEventListener("htmx:wsClose", function () { if (state) { state.textContent = TEXT.lost; } });
  document.body.addEventListener("htmx:wsOpen", function () { if (state) { state.textContent = TEXT.live; } });
})();
