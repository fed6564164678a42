// The case page: draws the case's BPMN diagram(s) with the bpmn-js viewer and marks the
// completed, active and overdue elements; and the print button. No inline script (CSP).
(function () {
  "use strict";

  var printButton = document.getElementById("print-case");
  if (printButton) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
  }

  var holder = document.getElementById("case-diagram");
  if (!holder) {
    return;
  }
  var status = holder.querySelector(".diagram-status");

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  if (typeof window.BpmnJS !== "function") {
    say("流程图查看器未安装（请运行 make install 安装 bpmn-js）。");
    return;
  }

  var MARKS = [["completed", "hcp-completed"], ["active", "hcp-active"], ["overdue", "hcp-overdue"]];

  function show(diagram) {
    var section = document.createElement("section");
    section.className = "diagram";
    section.setAttribute("data-process", diagram.process);
    var title = document.createElement("h3");
    title.textContent = diagram.name + "（" + diagram.file + "）";
    var canvasBox = document.createElement("div");
    canvasBox.className = "diagram-canvas";
    section.appendChild(title);
    section.appendChild(canvasBox);
    holder.appendChild(section);
    var viewer = new window.BpmnJS({ container: canvasBox });
    return viewer.importXML(diagram.xml).then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var marked = 0;
      MARKS.forEach(function (pair) {
        (diagram[pair[0]] || []).forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, pair[1]);
            marked += 1;
          }
        });
      });
      section.setAttribute("data-marked", String(marked));
      canvas.zoom("fit-viewport");
    });
  }

  fetch(holder.getAttribute("data-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (data) {
      if (!data.diagrams.length) {
        say("没有可显示的流程图。");
        return null;
      }
      return data.diagrams.reduce(function (previous, diagram) {
        return previous.then(function () { return show(diagram); });
      }, Promise.resolve()).then(function () {
        if (status) {
          status.remove();
        }
        holder.setAttribute("data-ready", "true");
      });
    })
    .catch(function (error) {
      say("流程图加载失败：" + error.message);
      holder.setAttribute("data-ready", "error");
    });
})();
