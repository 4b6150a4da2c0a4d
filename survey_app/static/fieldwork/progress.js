/* Fieldwork progress by day: visits and completed interviews (vendored ECharts). */
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("progress-chart");
    var src = document.getElementById("progress-chart-data");
    if (!el || !src || !window.echarts) { return; }
    var d = JSON.parse(src.textContent);
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 40, right: 16, top: 32, bottom: 40 },
      legend: { top: 0, data: d.labels },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.days },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: d.labels[0], type: "bar", data: d.visits, itemStyle: { color: "#9db4d0" } },
        { name: d.labels[1], type: "line", data: d.completed, itemStyle: { color: "#1f6f43" } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
