/* Result charts drawn with the vendored Apache ECharts (static/vendor/echarts).
 *
 * Each <div class="chart" data-chart-src="ID"> is filled from the JSON in <script id="ID">:
 *   {kind: "intervals", rows: [{label, estimate, low, high, verdict, n}], target, targetLabel}
 *     horizontal interval bars (confidence intervals), a dot at the estimate, the target line;
 *   {kind: "trend", waves: [name], series: [{label, points: [{estimate, low, high, n}]}], target}
 *     one line per indicator over the waves, its interval as a band, the target line.
 * Rates are 0–1 in the data and drawn in percent. The SVG renderer keeps print sharp.
 */
(function () {
  "use strict";
  var COLORS = { met: "#1a7f37", not_met: "#c8102e", undetermined: "#b07800", no_data: "#8c959f" };
  var SERIES = ["#0b57d0", "#7b3fb8", "#0f8b8d", "#b07800"];
  var charts = [];

  function pct(x) { return x == null ? "—" : (x * 100).toFixed(1) + "%"; }

  function axisMin(values, target) {
    var lo = Math.min.apply(null, values.concat([target]));
    return Math.max(0, Math.floor((lo * 100 - 1) / 5) * 5);
  }

  function targetLine(d, horizontal) {
    var point = horizontal ? { xAxis: d.target * 100 } : { yAxis: d.target * 100 };
    return {
      symbol: "none", silent: true, animation: false, data: [point],
      lineStyle: { color: "#c8102e", type: "dashed", width: 2 },
      label: { formatter: d.targetLabel, position: horizontal ? "start" : "insideEndTop", color: "#c8102e", fontWeight: "bold" }
    };
  }

  function intervals(d, narrow) {
    var rows = d.rows.filter(function (r) { return r.estimate != null; });
    var lows = rows.map(function (r) { return r.low; });
    var bar = d.dense ? 8 : 16;  // many communities: thinner bars, smaller labels
    return {
      animation: false,
      aria: { enabled: true },
      grid: { left: 8, right: 52, top: 30, bottom: 8, containLabel: true },
      xAxis: {
        type: "value", min: axisMin(lows, d.target), max: 100, splitNumber: narrow ? 3 : 5,
        axisLabel: { formatter: "{value}%", hideOverlap: true }, splitLine: { lineStyle: { color: "#e6e9ed" } }
      },
      yAxis: {
        type: "category", inverse: true, data: rows.map(function (r) { return r.label; }),
        axisLabel: { width: narrow ? 96 : 170, overflow: d.dense ? "truncate" : "break",
          lineHeight: narrow ? 14 : 17, fontSize: d.dense ? 10 : narrow ? 12 : 14 },
        axisTick: { show: false }
      },
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" }, confine: true,
        formatter: function (items) {
          var r = rows[items[0].dataIndex];
          return r.label + "<br>" + pct(r.estimate) + " (" + pct(r.low) + "–" + pct(r.high) + "), n=" + r.n;
        }
      },
      series: [
        { type: "bar", stack: "ci", silent: true, barWidth: bar, itemStyle: { color: "transparent" },
          data: rows.map(function (r) { return r.low * 100; }) },
        { type: "bar", stack: "ci", barWidth: bar,
          data: rows.map(function (r) {
            return { value: (r.high - r.low) * 100, itemStyle: { color: COLORS[r.verdict] || COLORS.no_data, opacity: 0.35, borderRadius: 3 } };
          }) },
        { type: "scatter", symbolSize: d.dense ? 7 : 12, z: 5,
          data: rows.map(function (r, i) {
            return { value: [r.estimate * 100, i], itemStyle: { color: COLORS[r.verdict] || COLORS.no_data, borderColor: "#fff", borderWidth: 1 } };
          }),
          label: { show: !d.dense, position: "right", fontSize: 12, formatter: function (p) { return pct(rows[p.dataIndex].estimate); } },
          markLine: targetLine(d, true) }
      ]
    };
  }

  function trend(d, narrow) {
    var series = [], lows = [];
    d.series.forEach(function (s, i) {
      var color = SERIES[i % SERIES.length];
      var pts = s.points;
      pts.forEach(function (p) { if (p.low != null) { lows.push(p.low); } });
      series.push({ name: s.label, type: "line", stack: "band" + i, silent: true, symbol: "none",
        lineStyle: { opacity: 0 }, data: pts.map(function (p) { return p.low == null ? null : p.low * 100; }) });
      series.push({ name: s.label, type: "line", stack: "band" + i, silent: true, symbol: "none",
        lineStyle: { opacity: 0 }, areaStyle: { color: color, opacity: 0.09 },
        data: pts.map(function (p) { return p.low == null ? null : (p.high - p.low) * 100; }) });
      series.push({ name: s.label, type: "line", symbolSize: 8, color: color, lineStyle: { width: 2.5, color: color },
        itemStyle: { color: color }, connectNulls: true,
        data: pts.map(function (p) { return p.estimate == null ? null : p.estimate * 100; }),
        markLine: i === 0 ? targetLine(d, false) : undefined });
    });
    return {
      animation: false,
      aria: { enabled: true },
      color: SERIES,
      legend: { top: 0, type: "scroll", data: d.series.map(function (s) { return s.label; }) },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: d.waves, axisLabel: { width: narrow ? 90 : 160, overflow: "break", interval: 0, lineHeight: 14 } },
      yAxis: { type: "value", min: axisMin(lows, d.target), max: 100, axisLabel: { formatter: "{value}%" } },
      tooltip: {
        trigger: "axis", confine: true,
        formatter: function (items) {
          var i = items[0].dataIndex, out = [d.waves[i]];
          d.series.forEach(function (s) {
            var p = s.points[i];
            out.push(s.label + ": " + pct(p.estimate) + (p.low != null ? " (" + pct(p.low) + "–" + pct(p.high) + ")" : ""));
          });
          return out.join("<br>");
        }
      },
      series: series
    };
  }

  function draw(el) {
    var src = document.getElementById(el.getAttribute("data-chart-src"));
    if (!src || !window.echarts) { return; }
    var d = JSON.parse(src.textContent);
    var narrow = el.clientWidth < 520;
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(d.kind === "trend" ? trend(d, narrow) : intervals(d, narrow));
    el.setAttribute("data-ready", "1");
    charts.push(chart);
  }

  function resizeAll() { charts.forEach(function (c) { c.resize(); }); }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".chart[data-chart-src]"), draw);
    window.addEventListener("resize", resizeAll);
    window.addEventListener("beforeprint", function () {
      // Print the method note open, and redraw the charts at the paper's width.
      Array.prototype.forEach.call(document.querySelectorAll("details.method"), function (d) { d.open = true; });
      resizeAll();
    });
    window.addEventListener("afterprint", resizeAll);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
