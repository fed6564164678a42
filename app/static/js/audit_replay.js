// The audit page: step through a case's replayed history (first, previous, next, last,
// slider), showing one step at a time, and mark the BPMN diagram(s) as they were at that
// step. Without JavaScript every step is listed. No inline script (CSP).
(function () {
  "use strict";

  var stepper = document.getElementById("stepper");
  var steps = Array.prototype.slice.call(document.querySelectorAll("article.step"));
  if (!stepper || !steps.length) {
    return;
  }
  var slider = document.getElementById("step-slider");
  var label = document.getElementById("step-label");
  var holder = document.getElementById("audit-diagram");
  var MARKS = [["completed", "hcp-completed"], ["active", "hcp-active"], ["overdue", "hcp-overdue"]];
  var data = null;
  var viewers = {};
  var current = 1;

  function markStep(number) {
    if (!data) {
      return;
    }
    var step = data.steps[number - 1] || { marks: {} };
    Object.keys(viewers).forEach(function (key) {
      var entry = viewers[key];
      // the diagrams of the version the case ran on at this step (a migration changes it)
      var marks = entry.version === step.version ? step.marks[entry.process] : null;
      entry.section.hidden = !marks;
      var canvas = entry.viewer.get("canvas");
      var registry = entry.viewer.get("elementRegistry");
      registry.getAll().forEach(function (element) {
        MARKS.forEach(function (pair) { canvas.removeMarker(element.id, pair[1]); });
      });
      if (!marks) {
        return;
      }
      var count = 0;
      MARKS.forEach(function (pair) {
        (marks[pair[0]] || []).forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, pair[1]);
            count += 1;
          }
        });
      });
      entry.section.setAttribute("data-marked", String(count));
    });
    holder.setAttribute("data-step", String(number));
  }

  function go(number) {
    current = Math.max(1, Math.min(steps.length, number));
    steps.forEach(function (article) {
      article.hidden = Number(article.getAttribute("data-step")) !== current;
    });
    slider.value = String(current);
    label.textContent = "第 " + current + " / " + steps.length + " 步";
    markStep(current);
  }

  stepper.hidden = false;
  stepper.addEventListener("click", function (event) {
    var target = event.target.closest("[data-go]");
    if (!target) {
      return;
    }
    var where = target.getAttribute("data-go");
    go(where === "first" ? 1 : where === "last" ? steps.length : where === "prev" ? current - 1 : current + 1);
  });
  slider.addEventListener("input", function () { go(Number(slider.value)); });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" || event.target.tagName === "TEXTAREA") {
      return;
    }
    if (event.key === "ArrowRight") { go(current + 1); }
    if (event.key === "ArrowLeft") { go(current - 1); }
  });
  go(1);

  if (!holder) {
    return;
  }
  var status = holder.querySelector(".diagram-status");
  if (typeof window.BpmnJS !== "function") {
    if (status) { status.textContent = "流程图查看器未安装（请运行 make install 安装 bpmn-js）。"; }
    return;
  }
  fetch(holder.getAttribute("data-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(function (loaded) {
      data = loaded;
      var keys = Object.keys(loaded.processes);
      return keys.reduce(function (previous, key) {
        return previous.then(function () {
          var source = loaded.processes[key];
          var section = document.createElement("section");
          section.className = "diagram";
          section.setAttribute("data-process", source.process);
          section.setAttribute("data-version", String(source.version));
          var title = document.createElement("h3");
          title.textContent = source.name + "（" + source.file + "，版本 " + source.version + "）";
          var box = document.createElement("div");
          box.className = "diagram-canvas";
          section.appendChild(title);
          section.appendChild(box);
          holder.appendChild(section);
          var viewer = new window.BpmnJS({ container: box });
          viewers[key] = { viewer: viewer, section: section, process: source.process, version: source.version };
          return viewer.importXML(source.xml).then(function () { viewer.get("canvas").zoom("fit-viewport"); });
        });
      }, Promise.resolve());
    })
    .then(function () {
      if (status) { status.remove(); }
      markStep(current);
      holder.setAttribute("data-ready", "true");
    })
    .catch(function (error) {
      if (status) { status.textContent = "流程图加载失败：" + error.message; }
    });
})();
