// Results pages: buttons with data-print open the browser's print dialog (results sheets, marking forms).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
