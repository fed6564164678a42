// Report and bulletin pages: draws the charts from the page's JSON block (#report-data)
// with Apache ECharts (app/static/vendor/echarts, installed by `make install`). No inline
// script (CSP).
(function () {
  "use strict";

  var block = document.getElementById("report-data");
  if (!block) {
    return;
  }
  var status = document.querySelector(".chart-status");
  if (typeof window.echarts === "undefined") {
    if (status) {
      status.hidden = false;
      status.textContent = "图表库未安装（请运行 make install 安装 ECharts），以下为数据表。";
    }
    return;
  }
  var data = JSON.parse(block.textContent);
  var percent = { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } };
  var rotated = { interval: 0, rotate: 30, width: 90, overflow: "truncate" };

  function nothing(values) {
    return !values || values.length === 0;
  }

  var builders = {
    trend: function () {
      var months = data.trend.map(function (row) { return row.label; });
      return {
        tooltip: { trigger: "axis" },
        legend: { data: ["有效评价数", "好评率", "差评率"] },
        xAxis: { type: "category", data: months, axisLabel: { rotate: 30 } },
        yAxis: [{ type: "value", name: "评价数" }, Object.assign({ name: "比率" }, percent)],
        series: [
          { name: "有效评价数", type: "bar", data: data.trend.map(function (row) { return row.valid; }) },
          { name: "好评率", type: "line", yAxisIndex: 1, data: data.trend.map(function (row) { return row.good_rate; }) },
          { name: "差评率", type: "line", yAxisIndex: 1, data: data.trend.map(function (row) { return row.bad_rate; }) }
        ]
      };
    },
    ranking: function () {
      if (nothing(data.ranking.labels)) {
        return null;
      }
      return {
        tooltip: { trigger: "axis" },
        legend: { data: ["好评率", "差评率"] },
        grid: { bottom: 90 },
        xAxis: { type: "category", data: data.ranking.labels, axisLabel: rotated },
        yAxis: percent,
        series: [
          { name: "好评率", type: "bar", data: data.ranking.good_rate },
          { name: "差评率", type: "bar", data: data.ranking.bad_rate }
        ]
      };
    },
    ontime: function () {
      if (nothing(data.ontime.labels)) {
        return null;
      }
      var names = [["按期联系", "contact"], ["按期整改", "rectify"], ["按期办结", "close"], ["实名回访整改", "real_name"]];
      return {
        tooltip: { trigger: "axis" },
        legend: { data: names.map(function (n) { return n[0]; }) },
        grid: { bottom: 90 },
        xAxis: { type: "category", data: data.ontime.labels, axisLabel: rotated },
        yAxis: percent,
        series: names.map(function (n) { return { name: n[0], type: "bar", data: data.ontime[n[1]] }; })
      };
    },
    heatmap: function () {
      if (nothing(data.heatmap.departments)) {
        return null;
      }
      return {
        tooltip: { position: "top" },
        grid: { left: 110, bottom: 110 },
        xAxis: { type: "category", data: data.heatmap.dimensions, axisLabel: { interval: 0, rotate: 45 }, splitArea: { show: true } },
        yAxis: { type: "category", data: data.heatmap.departments, splitArea: { show: true } },
        visualMap: { min: 0, max: Math.max(data.heatmap.max, 1), calculable: true, orient: "horizontal", left: "center", bottom: 0,
                     inRange: { color: ["#fff4e5", "#c62828"] } },
        series: [{ name: "差评数", type: "heatmap", data: data.heatmap.cells, label: { show: true } }]
      };
    }
  };

  var charts = [];
  document.querySelectorAll("figure.chart[data-chart]").forEach(function (figure) {
    var build = builders[figure.getAttribute("data-chart")];
    var option = build ? build() : null;
    var canvas = figure.querySelector(".canvas");
    if (!option) {
      canvas.textContent = "本期暂无数据";
      canvas.classList.add("empty");
      return;
    }
    var chart = window.echarts.init(canvas);
    option.animation = false;  // drawn at once: printable, and the same on every screenshot
    chart.setOption(option);
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
  var holder = document.querySelector(".charts");
  if (holder) {
    holder.setAttribute("data-ready", "true");
  }
})();
