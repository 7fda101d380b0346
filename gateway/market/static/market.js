// Live updates without a reload: poll the page's fragment (ETag / 304 when unchanged)
// and swap it in, keeping the focused link and the open <details>.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var status = document.getElementById("live-status");
  if (!main || !main.dataset.live) {
    return;
  }
  var every = Number(main.dataset.refreshMs) || 5000;
  var etag = main.dataset.etag || "";
  var busy = false;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function swap(html) {
    var focused = document.activeElement && document.activeElement.id;
    var open = Array.prototype.map.call(
      main.querySelectorAll("details[open][id]"),
      function (d) { return d.id; }
    );
    main.innerHTML = html;
    open.forEach(function (id) {
      var d = document.getElementById(id);
      if (d) { d.open = true; }
    });
    if (focused) {
      var again = document.getElementById(focused);
      if (again) { again.focus(); }
    }
  }

  function tick() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(main.dataset.live, { headers: headers, cache: "no-store" })
      .then(function (r) {
        if (r.status === 304) {
          return null;
        }
        if (!r.ok) {
          say("Update failed (HTTP " + r.status + "); retrying.");
          return null;
        }
        etag = r.headers.get("ETag") || "";
        return r.text().then(function (html) {
          swap(html);
          main.dataset.etag = etag;
          say("Updated " + new Date().toLocaleTimeString() + ".");
        });
      })
      .catch(function () { say("Cannot reach the server; retrying."); })
      .then(function () { busy = false; });
  }

  window.setInterval(tick, every);
})();
