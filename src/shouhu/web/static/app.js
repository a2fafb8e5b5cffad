// Console behaviour that would otherwise be inline event handlers (the CSP allows no inline handlers).
// The export form sends the current search (q, city, stage) along with the purpose.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-copy-search")) return;
  var search = document.getElementById("search-form");
  if (!search) return;
  ["q", "city", "stage"].forEach(function (name) {
    if (form.elements[name] && search.elements[name]) form.elements[name].value = search.elements[name].value;
  });
});

// Read-only link fields select their whole text on click (the proposal link to copy).
document.addEventListener("click", function (event) {
  var el = event.target;
  if (el instanceof HTMLInputElement && el.hasAttribute("data-select-on-click")) el.select();
});
