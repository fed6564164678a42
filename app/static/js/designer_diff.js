// The diff page: both versions' diagrams with the bpmn-js viewer, elements marked as added
// (new version), removed (old version) or changed (both). No inline script (CSP).
(function () {
  "use strict";

  var data = document.getElementById("diff-data");
  var status = document.getElementById("diff-status");
  if (!data) {
    return;
  }
  if (typeof window.BpmnJS !== "function") {
    status.textContent = "流程图查看器未安装（请运行 make install 安装 bpmn-js）。";
    return;
  }
  var diff = JSON.parse(data.textContent);

  function draw(containerId, xml, marks) {
    var container = document.getElementById(containerId);
    var viewer = new window.BpmnJS({ container: container });
    return viewer.importXML(xml).then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      var count = 0;
      marks.forEach(function (pair) {
        pair[1].forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, pair[0]);
            count += 1;
          }
        });
      });
      container.setAttribute("data-marked", String(count));
      canvas.zoom("fit-viewport");
    });
  }

  Promise.all([
    draw("diagram-old", diff.old, [["hcp-removed", diff.markers.removed], ["hcp-changed", diff.markers.changed]]),
    draw("diagram-new", diff["new"], [["hcp-added", diff.markers.added], ["hcp-changed", diff.markers.changed]])
  ]).then(function () {
    document.getElementById("diff-diagrams").setAttribute("data-ready", "true");
  }).catch(function (error) {
    status.textContent = "流程图无法显示：" + error.message;
  });
}());
