// The source form (/admin/sources/new, …/edit): a custom schedule box shown only for "自定义…", and the live
// preview of an HTML list's selectors. Items are written with textContent: harvested titles never run as markup.
(function () {
  "use strict";
  var form = document.getElementById("source-fields");
  if (!form) { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var schedule = document.getElementById("f-schedule");
  var custom = document.getElementById("f-schedule-custom");
  function showCustom() { custom.hidden = schedule.value !== "custom"; }
  schedule.addEventListener("change", showCustom);
  showCustom();

  var kind = document.getElementById("f-kind");
  var url = document.getElementById("f-url");
  var boxes = form.querySelectorAll("textarea.selector");
  var list = document.getElementById("live-items");
  var status = document.getElementById("live-status");
  var count = document.getElementById("live-count");
  var advanced = document.getElementById("advanced");
  var timer = null;
  var asked = 0;

  function refresh() {
    if (!advanced.open) { return; }
    if (kind.value !== "html") { status.textContent = "实时预览只用于 HTML 列表页。"; list.textContent = ""; count.textContent = ""; return; }
    if (!/^https?:\/\//.test(url.value)) { status.textContent = "请先填写网址。"; return; }
    var selectors = {};
    boxes.forEach(function (box) { selectors[box.getAttribute("data-key")] = box.value; });
    var mine = ++asked;
    status.textContent = "正在读取…";
    fetch("/admin/sources/list-preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ url: url.value, selectors: selectors }),
    }).then(function (response) { return response.json(); }).then(function (data) {
      if (mine !== asked) { return; }  // a newer edit asked again
      list.textContent = "";
      if (!data.ok) { status.textContent = data.error || "预览失败"; count.textContent = ""; return; }
      count.textContent = "（" + data.count + " 条）";
      status.textContent = data.count > data.items.length ? "显示前 " + data.items.length + " 条。" : "";
      data.items.forEach(function (item) {
        var li = document.createElement("li");
        if (item.published) { var t = document.createElement("time"); t.textContent = item.published + " "; li.appendChild(t); }
        li.appendChild(document.createTextNode(item.title + " "));
        var small = document.createElement("small"); small.textContent = item.url; li.appendChild(small);
        list.appendChild(li);
      });
    }).catch(function () { if (mine === asked) { status.textContent = "预览失败，请稍后再试"; } });
  }
  function later() { window.clearTimeout(timer); timer = window.setTimeout(refresh, 500); }
  boxes.forEach(function (box) { box.addEventListener("input", later); });
  url.addEventListener("change", later);
  kind.addEventListener("change", later);
  advanced.addEventListener("toggle", later);
  if (advanced.open) { later(); }
})();
