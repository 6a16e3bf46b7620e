// meshintent UI: live updates. The server sends a "change" event over
// Server-Sent Events when an IntentSync shown here changes; the page's
// <main> is then fetched again and swapped in. Without this script the
// pages work the same, with a refresh link.
(function () {
  "use strict";
  var src = document.body.getAttribute("data-events");
  var live = document.getElementById("live");
  if (!src || !window.EventSource || !window.fetch) { return; }
  var loading = false, again = false;

  function say(text, on) {
    if (!live) { return; }
    live.textContent = text;
    live.className = on ? "on" : "";
  }

  function refresh() {
    if (loading) { again = true; return; }
    loading = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.querySelector("main"), cur = document.querySelector("main");
        if (next && cur) {
          // Keep the focus where it was when the element still exists.
          var focused = document.activeElement && document.activeElement.id;
          cur.replaceWith(document.importNode(next, true));
          if (focused) { var el = document.getElementById(focused); if (el) { el.focus(); } }
          document.title = doc.title;
          document.body.setAttribute("data-updated", String(Date.now()));
        }
        say("Live: updated " + new Date().toLocaleTimeString(), true);
      })
      .catch(function (e) { say("Live update failed (" + e.message + "); reload the page", false); })
      .then(function () { loading = false; if (again) { again = false; refresh(); } });
  }

  var es = new EventSource(src);
  es.addEventListener("open", function () { say("Live", true); });
  es.addEventListener("change", refresh);
  es.onerror = function () { say("Reconnecting…", false); };
}());
