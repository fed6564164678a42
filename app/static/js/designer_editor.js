// The draft editor page: the bpmn-js modeler (window.HcpModeler, bundled at set-up), saving
// with validation (problems listed and marked on their elements), refused concurrent saves
// (the editor keeps the designer's version and offers it for download), and the form
// definitions' editor with preview. No inline script (CSP).
(function () {
  "use strict";

  var root = document.getElementById("designer-editor");
  if (!root) {
    return;
  }
  var status = document.getElementById("editor-status");
  var saveButton = document.getElementById("save-draft");
  var download = document.getElementById("download-mine");
  var problemList = document.getElementById("problems");
  var csrf = (document.querySelector("input[name=csrf_token]") || {}).value || "";
  var choices = JSON.parse(document.getElementById("designer-panel").textContent);
  var modeler = null;
  var marked = [];
  var dirty = false;

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "muted";
  }

  function setRevision(revision) {
    root.setAttribute("data-revision", String(revision));
    document.querySelectorAll("input.draft-revision").forEach(function (input) { input.value = String(revision); });
  }

  function select(id) {
    if (!modeler || !id) {
      return;
    }
    var element = modeler.get("elementRegistry").get(id);
    if (element) {
      modeler.get("selection").select(element);
      modeler.get("canvas").scrollToElement(element);
    }
  }

  function showProblems(problems) {
    if (modeler) {
      var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
      marked.forEach(function (id) { if (registry.get(id)) { canvas.removeMarker(id, "hcp-problem"); } });
      modeler.get("overlays").remove({ type: "hcp-problem" });
    }
    marked = [];
    problemList.textContent = "";
    if (!problems.length) {
      var ok = document.createElement("li");
      ok.className = "ok";
      ok.textContent = "没有问题：可以提交审核。";
      problemList.appendChild(ok);
      return;
    }
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.className = "problem";
      item.setAttribute("data-element", problem.element_id || "");
      item.setAttribute("data-rule", problem.rule);
      if (problem.line) {
        var line = document.createElement("span");
        line.className = "muted";
        line.textContent = "第" + problem.line + "行 ";
        item.appendChild(line);
      }
      var rule = document.createElement("span");
      rule.className = "tag";
      rule.textContent = problem.rule;
      item.appendChild(rule);
      if (problem.element_id) {
        var link = document.createElement("a");
        link.href = "#";
        link.className = "element-link";
        link.textContent = problem.element_id;
        item.appendChild(document.createTextNode(" "));
        item.appendChild(link);
      }
      item.appendChild(document.createTextNode(" " + problem.message));
      problemList.appendChild(item);
    });
    markProblems();
  }

  function markProblems() {
    if (!modeler) {
      return;
    }
    var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    var overlays = modeler.get("overlays"), badges = {};
    problemList.querySelectorAll("li.problem").forEach(function (item) {
      var id = item.getAttribute("data-element");
      if (!id || !registry.get(id)) {
        return;
      }
      if (marked.indexOf(id) < 0) {
        canvas.addMarker(id, "hcp-problem");
        marked.push(id);
      }
      // A badge next to the element: its problems in the tooltip, a click selects it.
      var text = item.textContent.replace(/\s+/g, " ").trim();
      if (badges[id]) {
        badges[id].title += "\n" + text;
        badges[id].textContent = String(Number(badges[id].textContent) + 1);
        return;
      }
      var badge = document.createElement("div");
      badge.className = "hcp-problem-badge";
      badge.textContent = "1";
      badge.title = text;
      badge.addEventListener("click", function () { select(id); });
      badges[id] = badge;
      overlays.add(id, "hcp-problem", { position: { top: -10, right: 10 }, html: badge });
    });
  }

  problemList.addEventListener("click", function (event) {
    var link = event.target.closest("a.element-link");
    if (link) {
      event.preventDefault();
      select(link.textContent);
    }
  });

  function offerDownload(xml) {
    var blob = new Blob([xml], { type: "application/xml" });
    download.href = URL.createObjectURL(blob);
    download.download = root.getAttribute("data-file").replace(/\.bpmn$/, "") + ".我的版本.bpmn";
    download.hidden = false;
  }

  function save() {
    saveButton.disabled = true;
    say("正在保存并校验……");
    modeler.saveXML({ format: true }).then(function (result) {
      return fetch(root.getAttribute("data-save-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ xml: result.xml, revision: Number(root.getAttribute("data-revision")) })
      }).then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body, xml: result.xml }; });
      });
    }).then(function (answer) {
      var body = answer.body;
      if (answer.status === 200) {
        dirty = false;
        setRevision(body.revision);
        var state = document.getElementById("draft-state");
        if (state) { state.textContent = body.state_label; }
        showProblems(body.problems);
        say(body.problems.length ? "已保存（第 " + body.revision + " 版），有 " + body.problems.length + " 个问题"
          : "已保存（第 " + body.revision + " 版），校验通过", body.problems.length > 0);
      } else {
        if (body.problems && body.problems.length) { showProblems(body.problems); }
        if (answer.status === 409) { offerDownload(answer.xml); }
        say(body.error || "保存失败", true);
      }
    }).catch(function (error) {
      say("保存失败：" + error, true);
    }).then(function () {
      saveButton.disabled = false;
    });
  }

  if (typeof window.HcpModeler !== "object") {
    say("流程编辑器未安装（请运行 make install 安装 bpmn-js）。", true);
  } else {
    modeler = window.HcpModeler.create(document.getElementById("modeler-canvas"),
                                       document.getElementById("properties-panel"), choices);
    fetch(root.getAttribute("data-xml-url"), { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (xml) { return modeler.importXML(xml); })
      .then(function (result) {
        modeler.get("canvas").zoom("fit-viewport");
        markProblems();
        root.setAttribute("data-ready", "true");
        var warnings = (result && result.warnings) || [];
        say(warnings.length ? "已加载（" + warnings.length + " 条导入警告）" : (choices.editable ? "已加载，可编辑" : "已加载（只读：当前状态不能修改）"));
        if (saveButton) {
          saveButton.disabled = false;
          saveButton.addEventListener("click", save);
        }
        modeler.on("commandStack.changed", function () {
          dirty = true;
          say("有未保存的修改");
        });
      })
      .catch(function (error) { say("流程图无法显示：" + error.message, true); });
  }

  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // -- form definitions ------------------------------------------------------------------
  var forms = JSON.parse(document.getElementById("designer-forms").textContent);
  var choice = document.getElementById("form-choice");
  var editor = document.getElementById("form-editor");
  var nameInput = editor.querySelector("input[name=name]");
  var definition = document.getElementById("definition");
  var preview = document.getElementById("form-preview");

  choice.addEventListener("change", function () {
    var name = choice.value;
    nameInput.value = name;
    definition.value = name ? forms[name] : JSON.stringify({ name: "new_form", title: "新表单", fields: [
      { name: "note", label: "说明", type: "textarea", required: true }] }, null, 2);
    if (!name) { nameInput.value = "new_form"; }
    preview.textContent = "";
  });

  document.getElementById("preview-form").addEventListener("click", function () {
    fetch(editor.getAttribute("data-preview-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ name: nameInput.value, definition: definition.value })
    }).then(function (response) {
      if (response.ok) {
        return response.text().then(function (markup) {
          // Server-rendered with autoescaping from the parsed definition.
          preview.innerHTML = markup;
        });
      }
      return response.json().then(function (body) {
        preview.textContent = "";
        var error = document.createElement("p");
        error.className = "error";
        error.setAttribute("role", "alert");
        error.textContent = body.error || "无法预览";
        preview.appendChild(error);
      });
    });
  });
}());
