// news_harvester review queue: in-place actions and keyboard shortcuts. No build step, no inline script
// (the Content-Security-Policy forbids inline code, so harvested text can never run as script).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var NAMES = { new: "待审", shortlisted: "备选", snoozed: "暂缓", accepted: "已采用", rejected: "已退回", used: "已刊发" };

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname + location.search); }
        if (!response.ok) { throw new Error(data.error || ("请求失败（" + response.status + "）")); }
        return data;
      });
    });
  }

  function act(row, action) {
    var body = { action: action, version: parseInt(row.getAttribute("data-version"), 10) };
    if (action === "reject") {
      var reason = window.prompt("退回理由：");
      if (!reason) { return; }
      body.reason = reason;
    }
    var msg = row.querySelector('[data-role="msg"]');
    api("POST", "/api/stories/" + row.getAttribute("data-id") + "/actions", body).then(function (data) {
      row.setAttribute("data-version", data.version);
      row.className = row.className.replace(/state-\w+/, "state-" + data.state);
      var state = row.querySelector('[data-role="state"]');
      if (state) { state.textContent = NAMES[data.state] || data.state; }
      if (msg) { msg.textContent = "已" + ({ shortlist: "加入备选", accept: "采用", reject: "退回" }[action] || action); msg.className = "row-msg ok"; }
    }).catch(function (error) {
      if (msg) { msg.textContent = error.message; msg.className = "row-msg error"; } else { window.alert(error.message); }
    });
  }

  // Enter in the bulk bar's reason box rejects the selection (the form's first button would shortlist it)
  var bulkReason = document.querySelector('#bulk input[name="reason"]');
  if (bulkReason) {
    bulkReason.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      var reject = document.querySelector('#bulk button[name="action"][value="reject"]');
      if (reject) { reject.click(); }
    });
  }

  // queue rows: buttons
  document.querySelectorAll("#queue .item").forEach(function (row) {
    row.querySelectorAll("button[data-action]").forEach(function (button) {
      button.addEventListener("click", function () { act(row, button.getAttribute("data-action")); });
    });
  });

  var rows = Array.prototype.slice.call(document.querySelectorAll("#queue .item"));
  var current = -1;
  function select(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (r, i) { r.classList.toggle("selected", i === current); });
    rows[current].focus({ preventScroll: false });
    rows[current].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var story = document.getElementById("story");
    if (event.key === "/") {
      var q = document.getElementById("q");
      if (q) { event.preventDefault(); q.focus(); }
      return;
    }
    if (story) {
      var submit = function (action) {
        var button = story.querySelector('button[name="action"][value="' + action + '"]');
        if (action === "reject") {
          var reason = document.getElementById("reject-reason");
          if (reason && !reason.value) { reason.focus(); return; }
        }
        if (button) { button.click(); }
      };
      if (event.key === "a") { submit("accept"); } else if (event.key === "r") { submit("reject"); } else if (event.key === "s") { submit("shortlist"); }
      return;
    }
    if (!rows.length) { return; }
    if (event.key === "j") { select(current + 1); }
    else if (event.key === "k") { select(current - 1); }
    else if (current >= 0 && event.key === "a") { act(rows[current], "accept"); }
    else if (current >= 0 && event.key === "r") { act(rows[current], "reject"); }
    else if (current >= 0 && event.key === "s") { act(rows[current], "shortlist"); }
    else if (current >= 0 && event.key === "Enter") { window.location = rows[current].querySelector("a.title").getAttribute("href"); }
  });
})();
