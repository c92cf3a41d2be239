// Figures pages: bar charts of cases by state and by category, drawn with ECharts from a JSON block
// (#figures-chart-data). No inline script or style: the Content Security Policy forbids both, so sizes are
// set here through the DOM and tooltips are drawn on the canvas (richText) rather than as HTML.
(function () {
  "use strict";
  var block = document.getElementById("figures-chart-data");
  if (!block || !window.echarts) return;
  var data = JSON.parse(block.textContent);
  var charts = [];

  function bars(id, rows, horizontal) {
    var el = document.getElementById(id);
    if (!el) return;
    if (!rows.length) {
      el.hidden = true;
      return;
    }
    el.style.height = Math.max(180, Math.min(420, rows.length * 28 + 60)) + "px";
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    var labels = rows.map(function (r) { return r[0]; });
    var values = rows.map(function (r) { return r[1]; });
    var category = { type: "category", data: labels, axisLabel: { interval: 0, width: 110, overflow: "truncate" } };
    var value = { type: "value", minInterval: 1 };
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" } },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? Object.assign({}, category, { inverse: true }) : value,
      series: [{ type: "bar", name: data.labels.cases, data: values, itemStyle: { color: "#0d6efd" },
                 label: { show: true, position: horizontal ? "right" : "top" } }],
    });
    el.setAttribute("data-drawn", String(rows.length));
    charts.push(chart);
  }

  bars("chart-states", data.states, true);
  bars("chart-categories", data.categories, true);
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
