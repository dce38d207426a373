// The console's own script, loaded from hookd under its CSP: no inline code, no eval.
// It counts down to a delivery's next attempt and marks the journal entry the diagram shows.
"use strict";

function formatWait(ms) {
  if (ms <= 0) return "due now";
  const seconds = ms / 1000;
  if (seconds < 60) return "in " + seconds.toFixed(1) + " s";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return "in " + minutes + " min " + Math.floor(seconds % 60) + " s";
  return "in " + Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
}

function tickCountdowns() {
  for (const element of document.querySelectorAll("[data-countdown]")) {
    const due = Date.parse(element.getAttribute("data-countdown"));
    if (Number.isNaN(due)) continue;
    element.textContent = formatWait(due - Date.now());
  }
}

// A client-side clock for the countdown only: nothing is fetched on it.
setInterval(tickCountdowns, 200);
document.addEventListener("DOMContentLoaded", tickCountdowns);
document.addEventListener("htmx:afterSettle", tickCountdowns);

document.addEventListener("click", (event) => {
  const entry = event.target instanceof Element ? event.target.closest(".timeline .entry") : null;
  if (!entry) return;
  for (const other of document.querySelectorAll(".timeline .entry.selected")) other.classList.remove("selected");
  entry.classList.add("selected");
  entry.setAttribute("aria-pressed", "true");
});

// The topic tail keeps its newest 200 lines.
document.addEventListener("htmx:sseMessage", (event) => {
  const list = event.target instanceof Element ? event.target.closest("[data-keep]") : null;
  if (!list) return;
  const keep = Number(list.getAttribute("data-keep"));
  while (list.children.length > keep) list.lastElementChild.remove();
});

// On a narrow screen the diagram scrolls sideways: bring the current state into view.
function centreCurrentStates() {
  for (const box of document.querySelectorAll(".diagram-scroll")) {
    const current = box.querySelector(".state.current");
    if (!current || box.scrollWidth <= box.clientWidth) continue;
    const boxRect = box.getBoundingClientRect();
    const rect = current.getBoundingClientRect();
    box.scrollLeft += rect.left + rect.width / 2 - (boxRect.left + boxRect.width / 2);
  }
}
document.addEventListener("DOMContentLoaded", centreCurrentStates);
document.addEventListener("htmx:afterSettle", centreCurrentStates);
