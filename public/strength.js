// Live feedback on a new password (progressive enhancement: the form works without it, and the
// server checks the password again when the form is sent). For every input[data-strength]: a
// <p class="strength" id="<input id>-strength" aria-live="polite"> after the input, named in its
// aria-describedby; while typing (debounced) the password, the form's _csrf and its email and name
// fields go to POST /password-strength, whose feedback (in the page's language) is shown there.
// A page without email/name fields may give them as data-strength-email / data-strength-name.
(function () {
  "use strict";
  if (!window.fetch || !window.URLSearchParams) return;
  var DELAY_MS = 300;

  function value(form, input, name) {
    var el = form.elements.namedItem(name);
    if (el && typeof el.value === "string" && el.value) return el.value;
    return input.getAttribute("data-strength-" + name) || "";
  }

  document.querySelectorAll("input[data-strength]").forEach(function (input) {
    var form = input.form;
    if (!form || !input.id) return;

    var out = document.createElement("p");
    out.className = "strength";
    out.id = input.id + "-strength";
    out.setAttribute("aria-live", "polite");
    // After the show-password wrapper (public/app.js) when there is one, else right after the input.
    var parent = input.parentNode;
    var anchor = parent && parent.classList && parent.classList.contains("password-field") ? parent : input;
    anchor.parentNode.insertBefore(out, anchor.nextSibling);
    var described = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (described.indexOf(out.id) < 0) described.push(out.id);
    input.setAttribute("aria-describedby", described.join(" "));

    var timer = null;
    var latest = 0;

    function show(answer) {
      out.textContent = answer.feedback.join(" ");
      out.setAttribute("data-acceptable", answer.acceptable ? "true" : "false");
      out.setAttribute("data-score", String(answer.score));
    }

    function clear() {
      out.textContent = "";
      out.removeAttribute("data-acceptable");
      out.removeAttribute("data-score");
    }

    function check() {
      var mine = ++latest;
      var password = input.value;
      if (!password) return clear();
      var body = new URLSearchParams();
      body.set("_csrf", value(form, input, "_csrf"));
      body.set("password", password);
      var email = value(form, input, "email");
      var name = value(form, input, "name");
      if (email) body.set("email", email);
      if (name) body.set("name", name);
      fetch("/password-strength", { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" }, body: body })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (answer) {
          // Only the answer to the latest check counts (answers may arrive out of order).
          if (mine !== latest || !answer || !Array.isArray(answer.feedback)) return;
          show(answer);
        })
        .catch(function () { /* no feedback; the form still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, DELAY_MS);
    });
  });
})();
