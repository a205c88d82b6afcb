// Podium's small shared script (no inline scripts: the Content-Security-Policy forbids them).
// htmx sends the CSRF token as a header (hx-headers on <body>); here: confirmation for buttons with data-confirm.
document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.getAttribute("data-confirm"))) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
