// Small behaviours of every page, kept out of the HTML: the Content-Security-Policy
// allows no inline script (no onchange="…" attributes either).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el && el.form && el.hasAttribute("data-autosubmit")) el.form.submit();
});
// <button data-confirm="…">: ask before the form is sent.
document.addEventListener("click", function (event) {
  var el = event.target && event.target.closest ? event.target.closest("[data-confirm]") : null;
  if (el && !window.confirm(el.getAttribute("data-confirm"))) event.preventDefault();
});
