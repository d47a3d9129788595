// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  // Show-password toggles: a button after each password input marked data-toggle.
  document.querySelectorAll("input[type=password][data-show-label]").forEach(function (input) {
    var wrap = document.createElement("div");
    wrap.className = "password-field";
    // Moving the input takes its focus away (an autofocus done already): it gets it back.
    var focused = document.activeElement === input;
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    if (focused) input.focus();
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.textContent = input.getAttribute("data-show-label");
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.setAttribute("aria-pressed", show ? "true" : "false");
      button.textContent = input.getAttribute(show ? "data-hide-label" : "data-show-label");
    });
    wrap.appendChild(button);
  });
  // Times: the server writes them in UTC; shown here in the browser's own time zone, in the page's language.
  var lang = document.documentElement.lang || "en";
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d.getTime())) return;
    try {
      el.textContent = new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).format(d);
    } catch (e) { /* keep the server's text */ }
  });
})();
