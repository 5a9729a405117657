// The upload form: check the chosen workbook on the server and prefill the parameters from
// it; refill them when another scenario is picked; show that a run is in progress.
// Everything is set with textContent, never as markup: workbook text is user text.
"use strict";
(function () {
  var runForm = document.getElementById("run-form");
  var file = runForm && runForm.querySelector("input[type=file][name=workbook]");
  var select = document.getElementById("scenario");
  var status = document.getElementById("inspect-status");
  var list = document.getElementById("inspect-problems");
  var scenarios = [];

  function fill(name) {
    var chosen = scenarios.filter(function (s) { return s.name === name; })[0] || scenarios[0];
    if (!chosen) {
      return;
    }
    Object.keys(chosen.parameters).forEach(function (key) {
      var input = runForm.querySelector('[data-param="' + key + '"]');
      if (input) {
        input.value = chosen.parameters[key];
      }
    });
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = "status " + (kind || "");
  }

  function showProblems(problems) {
    list.replaceChildren();
    problems.forEach(function (p) {
      // as on the 422 page: the location and the Chinese, then the English beneath
      var item = document.createElement("li");
      var where = document.createElement("code");
      where.className = "where";
      where.textContent = p.where;
      var english = document.createElement("small");
      english.className = "en";
      english.textContent = p.en;
      item.append(where, ": " + p.zh, document.createElement("br"), english);
      list.appendChild(item);
    });
    list.hidden = problems.length === 0;
  }

  function setScenarios(items) {
    scenarios = items;
    select.replaceChildren();
    items.forEach(function (s, index) {
      var option = document.createElement("option");
      option.value = index === 0 ? "" : s.name;
      option.textContent = index === 0 ? s.name + " 基准（parameters 工作表 sheet）" : s.name;
      select.appendChild(option);
    });
  }

  async function inspect() {
    showProblems([]);
    if (!file.files.length) {
      say("");
      return;
    }
    var body = new FormData();
    var csrf = document.querySelector('input[name="csrf_token"]');
    if (csrf) { body.append("csrf_token", csrf.value); }
    body.append("workbook", file.files[0]);
    say("检查中… Checking the workbook…");
    try {
      var response = await fetch("/inspect", { method: "POST", body: body });
      if (response.status === 413) {
        say("文件过大 The file is over the upload limit.", "bad");
        return;
      }
      var data = await response.json();
      if (!response.ok) {
        say("工作簿有误，计算前请修改 The workbook has problems; fix them before running:", "bad");
        showProblems(data.problems || []);
        return;
      }
      setScenarios(data.scenarios);
      fill(scenarios[0].name);
      say("✓ " + data.units + " 个单位 units · " + data.year + " 年度 year · " +
        data.scenarios.length + " 个情景 scenario(s) — 参数已填入 parameters filled in", "ok");
    } catch (error) {
      say("无法检查工作簿 Could not check the workbook; you can still run it.", "bad");
    }
  }

  if (file && select) {
    file.addEventListener("change", inspect);
    select.addEventListener("change", function () {
      fill(select.value || (scenarios[0] && scenarios[0].name));
    });
  }

  document.querySelectorAll("form.run-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[data-busy]");
      if (button) {
        window.setTimeout(function () {
          button.disabled = true;
          button.textContent = button.dataset.busy;
        }, 0);
      }
    });
  });

  document.querySelectorAll("select[data-autosubmit]").forEach(function (element) {
    element.addEventListener("change", function () { element.form.submit(); });
  });
})();
