// Transcript search over search/index.js (report/search_index.py). Results are built with
// textContent only: whatever an agent wrote stays text.
(function () {
  "use strict";
  var index = window.corebenchSearchIndex || [];
  var box = document.getElementById("search-box");
  var list = document.getElementById("search-results");
  var status = document.getElementById("search-status");
  var MAX = 200;

  function snippet(text, term) {
    var at = text.toLowerCase().indexOf(term);
    var start = Math.max(0, at - 60);
    return (start > 0 ? "…" : "") + text.slice(start, start + 220) + (start + 220 < text.length ? "…" : "");
  }

  function run() {
    var terms = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    list.textContent = "";
    if (!terms.length) { status.textContent = index.length + " events indexed. Type to search."; return; }
    var found = 0;
    for (var i = 0; i < index.length; i++) {
      var row = index[i];
      var hay = (row[4] + " " + row[5] + " " + row[6] + " " + row[3]).toLowerCase();
      if (!terms.every(function (t) { return hay.indexOf(t) >= 0; })) continue;
      found++;
      if (found > MAX) continue;
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = row[0];
      link.textContent = row[3] + " · " + row[2] + " · " + row[4] + (row[5] ? " " + row[5] : "");
      var pre = document.createElement("pre");
      pre.textContent = snippet(row[6], terms[0]);
      li.appendChild(link);
      li.appendChild(pre);
      list.appendChild(li);
    }
    status.textContent = found + " matching events" + (found > MAX ? " (first " + MAX + " shown)" : "");
  }

  box.addEventListener("input", run);
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) { box.value = query; }
  run();
})();
