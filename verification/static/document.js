// Compare the verifier's PDF with the one we issued, by SHA-256, without uploading it.
(function () {
  "use strict";
  var box = document.querySelector("[data-hashcheck]");
  if (!box || !window.crypto || !window.crypto.subtle) return;
  var input = box.querySelector("[data-file]");
  var match = box.querySelector("[data-match]");
  var mismatch = box.querySelector("[data-mismatch]");
  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    match.hidden = mismatch.hidden = true;
    if (!file) return;
    file.arrayBuffer().then(function (bytes) {
      return window.crypto.subtle.digest("SHA-256", bytes);
    }).then(function (digest) {
      var hex = Array.prototype.map.call(new Uint8Array(digest), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
      var same = hex === box.dataset.sha256;
      match.hidden = !same;
      mismatch.hidden = same;
      box.dataset.result = same ? "match" : "mismatch";
    });
  });
})();
