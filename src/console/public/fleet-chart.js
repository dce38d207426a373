// Draws every [data-chart] element (a target's success rate and latency over time) with uPlot.
// The data comes in a data attribute, so no inline script is needed under the console's CSP.
"use strict";

function drawChart(element) {
  if (typeof uPlot === "undefined") return;
  const data = JSON.parse(element.getAttribute("data-chart"));
  element.replaceChildren();
  const width = Math.max(280, element.clientWidth || 320);
  const options = {
    width,
    height: 160,
    series: [
      {},
      { label: "success %", stroke: "#1f7a3d", scale: "%" },
      { label: "latency ms", stroke: "#2457c5", scale: "ms" },
    ],
    axes: [{}, { scale: "%" }, { scale: "ms", side: 1 }],
    scales: { x: { time: true, range: data.window }, "%": { range: [0, 100] } },
  };
  // uPlot draws into the element it is given.
  new uPlot(options, [data.x, data.success, data.latency], element);
}

function drawCharts(root) {
  for (const element of root.querySelectorAll("[data-chart]")) drawChart(element);
}

document.addEventListener("DOMContentLoaded", () => drawCharts(document));
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.target instanceof Element) drawCharts(event.target);
});
