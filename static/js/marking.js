// Marking on tablets: every tap is saved through the marks API, and no mark is ever lost.
// Each save first goes into an outbox in localStorage (one entry per competitor and aspect: a later tap
// replaces an unsent earlier one, so the later write wins), then is sent; an entry leaves the outbox only
// when the server has answered it. Lost connections, server restarts and reloads keep the entry; it is
// resent with a growing pause and at once when the browser comes back online. Each field says where it
// stands: saving, saved (and whether the other judges are in), not sent yet, or refused and why.
(function () {
  "use strict";
  var body = document.body;
  var headers = {};
  try { headers = JSON.parse(body.getAttribute("hx-headers") || "{}"); } catch (e) { headers = {}; }
  var lang = document.documentElement.lang === "lv" ? "lv" : "en";
  var TEXT = {
    en: {
      saving: "Saving…", saved: "Saved", waiting: "Saved · waiting for the other judges",
      disagreement: "Judges disagree: discuss and score again", unsent: "Not sent yet: kept on this tablet, retrying",
      login: "Not sent: your log-in has expired. Log in again; the mark is kept on this tablet.",
      refused: "Not saved: ", pending: "Marks kept on this tablet, not sent yet: ",
      ready: "ready to sign off", progress: "in progress", disagree: "judges disagree", wait: "Send the marks kept on this tablet first."
    },
    lv: {
      saving: "Saglabā…", saved: "Saglabāts", waiting: "Saglabāts · gaida pārējos vērtētājus",
      disagreement: "Vērtētāji nav vienisprātis: apspriediet un vērtējiet vēlreiz",
      unsent: "Vēl nav nosūtīts: glabājas šajā planšetē, mēģina vēlreiz",
      login: "Nav nosūtīts: pieteikšanās beigusies. Piesakieties vēlreiz; atzīme glabājas šajā planšetē.",
      refused: "Nav saglabāts: ", pending: "Atzīmes glabājas šajā planšetē, vēl nav nosūtītas: ",
      ready: "gatava apstiprināšanai", progress: "procesā", disagree: "vērtētāji nav vienisprātis",
      wait: "Vispirms nosūtiet šajā planšetē glabātās atzīmes."
    }
  }[lang];
  var KEY = "podium-outbox";
  var sending = false;
  var pause = 1000;
  var timer = null;

  function load() {
    try { return JSON.parse(window.localStorage.getItem(KEY) || "{}"); } catch (e) { return {}; }
  }
  function store(outbox) { window.localStorage.setItem(KEY, JSON.stringify(outbox)); }

  function fieldFor(url) {
    var fields = document.querySelectorAll("[data-mark-field]");
    for (var i = 0; i < fields.length; i++) { if (fields[i].getAttribute("data-url") === url) { return fields[i]; } }
    return null;
  }

  function say(field, state, text) {
    if (!field) { return; }
    field.setAttribute("data-save", state);
    var out = field.querySelector("[data-save-state]");
    if (out) { out.textContent = text; }
  }

  function showValue(field, payload) {
    if (!field) { return; }
    var choices = field.querySelectorAll("[data-body]");
    var wanted = JSON.stringify(payload.score !== undefined && payload.score !== null ? {score: Number(payload.score)} : {value: payload.value});
    for (var i = 0; i < choices.length; i++) {
      var own = JSON.parse(choices[i].getAttribute("data-body"));
      var same = JSON.stringify(own.score !== undefined ? {score: own.score} : {value: own.value}) === wanted ||
        (own.value !== undefined && String(own.value) === String(payload.value));
      choices[i].setAttribute("aria-checked", same ? "true" : "false");
    }
    var form = field.querySelector("[data-deduction]");
    if (form && payload.value !== undefined) {
      form.elements.value.value = payload.value === null ? "" : payload.value;
      form.elements.reason.value = payload.reason || "";
    }
  }

  function applyAnswer(field, answer) {
    if (!field) { return; }
    field.setAttribute("data-status", answer.status);
    field.className = field.className.replace(/\bstatus-\S+/, "status-" + answer.status);
    var mark = field.querySelector("[data-mark]");
    if (mark) { mark.textContent = answer.status === "saved" && answer.mark ? answer.mark : ""; }
    say(field, "saved", TEXT[answer.status] || TEXT.saved);
    updateForm();
  }

  function updateForm() {
    var form = document.querySelector("[data-form]");
    var button = document.querySelector("[data-sign-off-button]");
    if (!form) { return; }
    var fields = form.querySelectorAll("[data-mark-field]");
    var statuses = [];
    for (var i = 0; i < fields.length; i++) { statuses.push(fields[i].getAttribute("data-status")); }
    var complete = statuses.length > 0 && statuses.every(function (s) { return s === "saved"; });
    var badge = document.querySelector("[data-form-status]");
    if (badge && !badge.classList.contains("status-locked")) {
      badge.textContent = complete ? TEXT.ready : (statuses.indexOf("disagreement") >= 0 ? TEXT.disagree : TEXT.progress);
    }
    if (button && !form.querySelector("[data-readonly]")) { button.disabled = !complete || pending() > 0; }
  }

  function pending() { return Object.keys(load()).length; }

  function summary() {
    var count = pending();
    var boxes = document.querySelectorAll("[data-outbox-summary]");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].hidden = count === 0;
      boxes[i].textContent = count ? TEXT.pending + count : "";
    }
  }

  function queue(url, payload) {
    var outbox = load();
    outbox[url] = {url: url, body: payload, at: Date.now()};
    store(outbox);
    say(fieldFor(url), "saving", TEXT.saving);
    summary();
    updateForm();
    flush();
  }

  function retryLater() {
    if (timer) { return; }
    timer = window.setTimeout(function () { timer = null; flush(); }, pause);
    pause = Math.min(pause * 2, 30000);
  }

  async function send(entry) {
    var response;
    try {
      response = await fetch(entry.url, {
        method: "PUT", credentials: "same-origin",
        headers: Object.assign({"content-type": "application/json", "accept": "application/json"}, headers),
        body: JSON.stringify(entry.body)
      });
    } catch (e) {
      return "retry";
    }
    var outbox = load();
    var field = fieldFor(entry.url);
    var answer = {};
    try { answer = await response.json(); } catch (e) { answer = {}; }
    var current = outbox[entry.url];
    if (response.ok) {
      if (current && current.at === entry.at) { delete outbox[entry.url]; store(outbox); }
      if (!current || current.at === entry.at) { applyAnswer(field, answer); }
      return "sent";
    }
    if (response.status === 401) { say(field, "unsent", TEXT.login); return "stop"; }
    if (response.status >= 500 || response.status === 429 || response.status === 408) { return "retry"; }
    // Refused for good (403 not allowed, 404, 409 locked, 422 invalid): the server changed nothing.
    if (current && current.at === entry.at) { delete outbox[entry.url]; store(outbox); }
    say(field, "refused", TEXT.refused + (answer.detail || response.status));
    return "sent";
  }

  async function flush() {
    if (sending) { return; }
    sending = true;
    try {
      var entries = Object.values(load()).sort(function (a, b) { return a.at - b.at; });
      for (var i = 0; i < entries.length; i++) {
        var outcome = await send(entries[i]);
        if (outcome === "retry") {
          for (var j = i; j < entries.length; j++) { say(fieldFor(entries[j].url), "unsent", TEXT.unsent); }
          retryLater();
          break;
        }
        if (outcome === "stop") { break; }
        pause = 1000;
      }
    } finally {
      sending = false;
      summary();
      updateForm();
    }
    if (Object.keys(load()).length && !timer) { retryLater(); }
  }

  function payloadOf(button) { return JSON.parse(button.getAttribute("data-body")); }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-mark-field] [data-body]");
    if (!button || button.disabled) { return; }
    var field = button.closest("[data-mark-field]");
    var payload = payloadOf(button);
    showValue(field, payload);
    queue(field.getAttribute("data-url"), payload);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("[data-deduction]")) {
      event.preventDefault();
      var field = form.closest("[data-mark-field]");
      queue(field.getAttribute("data-url"), {value: form.elements.value.value, reason: form.elements.reason.value});
    } else if (form.matches("[data-sign-off]") && pending() > 0) {
      event.preventDefault();
      window.alert(TEXT.wait);
    }
  });

  // A reload or a page from the back button: show what this tablet still holds over what the page shows.
  function restore() {
    var outbox = load();
    Object.keys(outbox).forEach(function (url) {
      var field = fieldFor(url);
      if (field) { showValue(field, outbox[url].body); say(field, "unsent", TEXT.unsent); }
    });
    summary();
    updateForm();
  }

  async function resync() {
    var form = document.querySelector("[data-form]");
    if (!form) { return; }
    try {
      var response = await fetch(form.getAttribute("data-competitor-url"), {credentials: "same-origin", headers: {"accept": "application/json"}});
      if (!response.ok) { return; }
      var document_ = await response.json();
      var outbox = load();
      document_.marks.forEach(function (line) {
        var field = form.querySelector('[data-aspect="' + line.aspect + '"]');
        if (!field) { return; }
        var url = field.getAttribute("data-url");
        if (outbox[url]) { return; }  // not sent yet: the tablet's newer mark wins
        if (field.getAttribute("data-kind") === "J") { showValue(field, {score: line.score}); } else if (line.value !== null) { showValue(field, {value: line.value, reason: line.reason}); }
        var judged = field.getAttribute("data-kind") !== "J" || line.score !== null;
        if (line.status !== "missing" && judged) { applyAnswer(field, line); }
      });
    } catch (e) { /* offline: the page as rendered stands */ }
  }

  // Another tablet may change a mark too (the later write wins): look again now and then, and on return.
  window.setInterval(function () { if (!document.hidden && pending() === 0) { resync(); } }, 20000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { resync().then(restore); flush(); } });
  window.addEventListener("online", function () { pause = 1000; flush(); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { resync().then(restore); } });
  restore();
  flush();
})();
