// Small behaviours of every page, kept out of the HTML: the Content-Security-Policy
// allows no inline script (no onchange="…" attributes either).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el && el.form && el.hasAttribute("data-autosubmit")) el.form.submit();
});
