// Run inspector: local times via Intl.DateTimeFormat; a live run's (or response's) fragments
// via EventSource.
"use strict";
(function () {
  const format = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "medium"});

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      const when = new Date(t.dateTime);
      if (!isNaN(when)) { t.title = t.dateTime; t.textContent = format.format(when); }
    });
  }

  function follow() {
    const live = document.getElementById("run-live");
    if (!live || !live.dataset.events) return;
    const source = new EventSource(live.dataset.events);
    source.addEventListener("changed", function (e) {
      htmx.swap("#run-live", e.data, {swapStyle: "outerHTML", swapDelay: 0, settleDelay: 0});
      localTimes(document);
    });
    source.addEventListener("typing", function (e) {
      const texts = JSON.parse(e.data).messages.map(function (m) { return m.text; });
      let box = document.getElementById("typing");
      if (!texts.length) { if (box) box.remove(); return; }
      if (!box) {
        box = document.createElement("li");
        box.id = "typing";
        box.className = "typing";
        box.innerHTML = '<p class="muted">The model is writing…</p><div class="text"></div>';
        document.querySelector("#run-live [data-typing-into]").appendChild(box);
      }
      box.querySelector(".text").textContent = texts.join("\n\n");
    });
    source.addEventListener("end", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    document.body.addEventListener("htmx:afterSettle", function () { localTimes(document); });
    follow();
  });
})();
