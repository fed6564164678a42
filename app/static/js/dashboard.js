// The hall's screen (大屏): fills the figures from the JSON block, draws two charts with
// ECharts, and fetches fresh figures every refresh_seconds. No inline script (CSP).
(function () {
  "use strict";

  var block = document.getElementById("dashboard-data");
  if (!block) {
    return;
  }
  var url = block.getAttribute("data-url");
  var data = JSON.parse(block.textContent);
  var charts = {};
  var hasCharts = typeof window.echarts !== "undefined";

  function rate(value) {
    return value === null || value === undefined ? "—" : value.toFixed(2) + "%";
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;  // text only: never markup
    return td;
  }

  function fill() {
    document.querySelectorAll("[data-field]").forEach(function (element) {
      var name = element.getAttribute("data-field");
      if (name === "recent") {
        element.replaceChildren();
        data.recent.forEach(function (row) {
          var tr = document.createElement("tr");
          if (row.bad) {
            tr.className = "bad";
          }
          [row.time, row.department, row.channel, row.level].forEach(function (text) { tr.appendChild(cell(text)); });
          element.appendChild(tr);
        });
      } else if (name !== "status" && name in data) {
        element.textContent = element.getAttribute("data-kind") === "rate" ? rate(data[name]) : String(data[name]);
      }
    });
    if (!hasCharts) {
      return;
    }
    var options = {
      levels: {
        tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: ["40%", "70%"], data: data.levels_today,
                   label: { color: "#e8eef8", formatter: "{b}：{c}" } }]
      },
      stages: {
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: data.open_by_stage.map(function (s) { return s.name; }),
                 axisLabel: { color: "#e8eef8", interval: 0, rotate: 30 } },
        yAxis: { type: "value", axisLabel: { color: "#e8eef8" }, minInterval: 1 },
        series: [{ type: "bar", data: data.open_by_stage.map(function (s) { return s.value; }),
                   itemStyle: { color: "#4fd1c5" }, label: { show: true, position: "top", color: "#e8eef8" } }]
      }
    };
    Object.keys(options).forEach(function (name) {
      var holder = document.querySelector('[data-chart="' + name + '"]');
      if (!holder) {
        return;
      }
      if (!charts[name]) {
        charts[name] = window.echarts.init(holder);
      }
      options[name].animation = false;
      charts[name].setOption(options[name]);
    });
  }

  function refresh() {
    var status = document.querySelector('[data-field="status"]');
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (fresh) {
        data = fresh;
        fill();
        if (status) {
          status.textContent = "";
        }
      })
      .catch(function () {
        if (status) {
          status.textContent = "刷新失败，稍后重试";
        }
      });
  }

  fill();
  document.body.setAttribute("data-ready", "true");
  window.setInterval(refresh, (data.refresh_seconds || 30) * 1000);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (name) { charts[name].resize(); });
  });
})();
