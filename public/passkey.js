// Passkeys (WebAuthn) on the pages that offer them, with @simplewebauthn/browser (served from this
// site). Each offer is a form with a hidden "response" field, the options in a JSON script element,
// and a button that stays hidden where the browser cannot use passkeys (a note says so instead).
(function () {
  "use strict";
  var lib = window.SimpleWebAuthnBrowser;
  var options = document.getElementById("passkey-options");
  var form = document.getElementById("passkey-form");
  if (!options || !form) return;
  var button = document.getElementById("passkey-button");
  var status = document.getElementById("passkey-status");
  var supported = lib && lib.browserSupportsWebAuthn();
  if (!supported) {
    var note = document.getElementById("passkey-unsupported");
    if (note) note.hidden = false;
    return;
  }
  var optionsJSON = JSON.parse(options.textContent);
  var registering = form.getAttribute("data-passkey") === "register";
  function send(answer) {
    form.querySelector("input[name=response]").value = JSON.stringify(answer);
    // The sign-in form's "stay signed in" goes with a passkey sign-in too.
    var remember = document.querySelector("#login-form input[name=remember]");
    var carried = form.querySelector("input[name=remember]");
    if (remember && carried) carried.value = remember.checked ? "on" : "";
    form.submit();
  }
  function failed(err) {
    // Cancelled or timed out: nothing happened; the button can be used again.
    if (err && err.name === "AbortError") return;
    if (status) status.textContent = status.getAttribute("data-failed");
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    if (status) status.textContent = "";
    var ceremony = registering ? lib.startRegistration({ optionsJSON: optionsJSON }) : lib.startAuthentication({ optionsJSON: optionsJSON });
    ceremony.then(send, failed);
  });
  // Passkeys offered in the email field's suggestions (conditional mediation), where the browser can.
  if (!registering && form.getAttribute("data-autofill") === "on") {
    lib.browserSupportsWebAuthnAutofill().then(function (yes) {
      if (yes) lib.startAuthentication({ optionsJSON: optionsJSON, useBrowserAutofill: true }).then(send, failed);
    });
  }
})();
