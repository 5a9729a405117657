// Draw every <canvas data-chart="ID"> from the JSON in <script id="ID">. The configuration
// is built and tested on the server (model/web/charts.py); this file only hands it over.
"use strict";
(function () {
  if (typeof Chart === "undefined") {
    return;
  }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    var box = canvas.parentElement;
    if (!source) {
      return;
    }
    if (box && box.dataset.height) {
      box.style.height = box.dataset.height + "px";
    }
    new Chart(canvas, JSON.parse(source.textContent));
  });
})();
