// The scanner: reads QR codes from the camera, in the browser, and opens only our own checks.
// A QR code on our public URL or on this page's origin, with the path /v/<token> or
// /d/<reference>, opens that path on this site; anything else is shown as "not ours" and is
// never followed. verification/web/scanner.py applies the same rule to uploaded photos.
(function () {
  "use strict";
  var SCAN_EVERY = 150; // milliseconds between two decoded frames
  var MAX_SIDE = 800; // frames are scaled down to this many pixels on their longest side
  var FOREIGN_FOR = 4000; // milliseconds the "not ours" message stays after the code went away
  var SEGMENT = /^\/(?:v\/[A-Za-z0-9_-][A-Za-z0-9._-]{0,4095}|d\/[A-Za-z0-9_-]{1,64})$/;
  // Inside a scanned text: controls, format characters (bidi, zero-width), surrogates, private
  // use, unassigned and spaces, which URL parsers drop or hide (checks.scanned_text's rule).
  var FORBIDDEN = /[\p{C}\p{Z}\s]/u;
  var FRAMING = /^[ \t\r\n]+|[ \t\r\n]+$/g; // what scanners put around a code: trimmed

  var form = document.querySelector("[data-upload]");
  if (form) guardUpload(form);
  var box = document.querySelector("[data-scanner]");
  if (!box) return;
  var data = box.dataset; // data-public-url, data-root and the data-msg-* texts
  var video = box.querySelector("[data-video]");
  var statusLine = box.querySelector("[data-status]");
  var alertLine = box.querySelector("[data-alert]");
  var hintLine = box.querySelector("[data-hint]");
  var retry = box.querySelector("[data-retry]");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  var timer = null;
  var detector = null;
  var foreignSince = 0;
  var starting = false; // waiting for the browser to give the camera
  var wanted = false; // the camera should run whenever the page is shown
  var leaving = false; // a code of ours was read: the page is navigating away

  // Styles through the CSSOM: the CSP allows no inline style attribute.
  video.style.verticalAlign = "top"; // no display here: it would override the hidden attribute
  video.style.width = "100%";
  video.style.maxHeight = "60vh";
  video.style.background = "#000";
  video.style.borderRadius = ".75rem";
  box.hidden = false;

  // The text of data-msg-<name>, in the page's language.
  function words(name) {
    return data["msg" + name.charAt(0).toUpperCase() + name.slice(1)] || data.msgFailed;
  }

  function say(text) { statusLine.textContent = text; }

  function warn(text) {
    alertLine.textContent = text || "";
    alertLine.hidden = !text;
  }

  // A calm note, not an error: no camera here, and the upload below does the same job.
  function hint(text) {
    hintLine.textContent = text || "";
    hintLine.hidden = !text;
  }

  // "scheme://host[:port]" and the path without trailing slashes, for an http(s) URL.
  function originAndPath(text) {
    var url;
    if (typeof text !== "string" || text.length > 4096 || text.indexOf("\\") >= 0) return null;
    text = text.replace(FRAMING, "");
    if (FORBIDDEN.test(text)) return null;
    try { url = new URL(text); } catch (error) { return null; }
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    if (url.username || url.password) return null;
    // The parser resolves "/../" and escapes odd characters; such a text is not one of ours.
    if (text.indexOf(url.pathname) < 0) return null;
    return { origin: url.origin, path: url.pathname.replace(/\/+$/, "") };
  }

  // The path on this site that a scanned text opens, or null when it is not ours.
  function localPath(text) {
    var scanned = originAndPath(text);
    if (!scanned) return null;
    var bases = [data.publicUrl, window.location.origin + data.root];
    for (var i = 0; i < bases.length; i++) {
      var base = originAndPath(bases[i]);
      if (!base || base.origin !== scanned.origin) continue;
      if (scanned.path.indexOf(base.path + "/") !== 0) continue;
      var rest = scanned.path.slice(base.path.length);
      if (SEGMENT.test(rest)) return data.root + rest;
    }
    return null;
  }

  function stop() {
    clearTimeout(timer);
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
  }

  function fail(reason) {
    wanted = false;
    stop();
    video.hidden = true;
    statusLine.hidden = true;
    if (reason === "missing") hint(words(reason));
    else warn(words(reason));
    retry.hidden = reason === "insecure";
  }

  function reasonOf(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "PermissionDeniedError" || name === "SecurityError") {
      return "denied";
    }
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
      return "missing";
    }
    return "failed";
  }

  function start() {
    if (stream || starting || leaving) return;
    wanted = true;
    retry.hidden = true;
    warn("");
    hint("");
    if (!window.isSecureContext) { fail("insecure"); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { fail("missing"); return; }
    if (!window.jsQR && !detector) { fail("failed"); return; }
    video.hidden = false;
    statusLine.hidden = false;
    starting = true;
    navigator.mediaDevices.getUserMedia({
      audio: false,
      // "ideal": the back camera of a phone, and whatever camera a desktop has.
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }
    }).then(function (media) {
      starting = false;
      if (leaving || document.hidden) {
        media.getTracks().forEach(function (track) { track.stop(); });
        return;
      }
      stream = media;
      video.srcObject = media;
      video.play().catch(function () {}); // muted and inline: allowed to play by itself
      say(words("scanning"));
      schedule();
    }).catch(function (error) {
      starting = false;
      fail(reasonOf(error));
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(scan, SCAN_EVERY);
  }

  // Every QR text in the current frame: the browser's own detector when it has one, else jsQR.
  function decode() {
    if (detector) {
      return detector.detect(video).then(function (codes) {
        return codes.map(function (code) { return code.rawValue; });
      }, function () {
        detector = null;
        return readFrame();
      });
    }
    return Promise.resolve(readFrame());
  }

  function readFrame() {
    if (!window.jsQR) return [];
    var scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    var width = Math.round(video.videoWidth * scale);
    var height = Math.round(video.videoHeight * scale);
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    context.drawImage(video, 0, 0, width, height);
    var pixels = context.getImageData(0, 0, width, height).data;
    var found = window.jsQR(pixels, width, height, { inversionAttempts: "dontInvert" });
    return found && found.data ? [found.data] : [];
  }

  function scan() {
    if (!stream || leaving) return;
    if (video.readyState < 2 || !video.videoWidth) { schedule(); return; }
    decode().then(handle, function () {}).then(function () { if (!leaving) schedule(); });
  }

  function handle(texts) {
    for (var i = 0; i < texts.length; i++) {
      var path = localPath(texts[i]);
      if (path) {
        leaving = true;
        stop();
        warn("");
        say(words("found"));
        window.location.assign(path);
        return;
      }
    }
    if (texts.length) {
      foreignSince = Date.now();
      if (alertLine.textContent !== words("foreign")) warn(words("foreign"));
    } else if (foreignSince && Date.now() - foreignSince > FOREIGN_FOR) {
      foreignSince = 0;
      warn("");
    }
  }

  // Refuse a photo that is too large before sending it (the server checks again).
  function guardUpload(uploadForm) {
    var input = uploadForm.querySelector('input[type="file"]');
    var limit = Number(uploadForm.dataset.maxBytes);
    // A file field is wider than a small phone's form by default: let it shrink to the form.
    input.style.minWidth = "0";
    input.style.maxWidth = "100%";
    uploadForm.addEventListener("submit", function (event) {
      var file = input.files && input.files[0];
      if (!file || !limit || file.size <= limit) return;
      event.preventDefault();
      var note = document.getElementById("upload-error");
      if (!note) {
        note = document.createElement("p");
        note.id = "upload-error";
        note.className = "alert";
        note.setAttribute("role", "alert");
        note.setAttribute("data-upload-error", "");
        uploadForm.parentNode.insertBefore(note, uploadForm);
      }
      note.textContent = uploadForm.dataset.msgTooLarge;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "upload-error image-hint");
    });
  }

  if ("BarcodeDetector" in window) {
    window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") >= 0) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    }).catch(function () {});
  }

  retry.addEventListener("click", start);
  // The camera is off while the page is hidden, and back when it shows again.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) stop();
    else if (wanted) start();
  });
  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    leaving = false;
    if (wanted) start();
  });
  start();
})();
