/* The desk's call-back panel (#callbacks, 회신 전화): the open call-back tasks of the agent's queues, oldest first
   (GET /api/v1/desk/callbacks), each closed with what came of it (POST /api/v1/desk/callbacks/{id}/done). desk.js
   calls DeskCallbacks.load when the desk socket opens and on every `callbacks` frame (a task made or closed in one
   of the agent's queues): no polling. Reasons by their Korean names, times in Korea time; errors stay on the page. */
(function () {
  "use strict";

  var L = JSON.parse(document.getElementById("desk-config").textContent).labels;
  var C = window.DeskCommon;
  var text = C.text, clear = C.clear;
  var PATH = "/api/v1/desk/callbacks";
  var loading = null;   // the read under way
  var again = false;    // another frame came during it: read once more after it

  function $(id) { return document.getElementById(id); }
  function element(tag, value) { return text(document.createElement(tag), value); }
  function label(catalogue, code) {
    return Object.prototype.hasOwnProperty.call(catalogue, code) ? catalogue[code] : "기타";
  }
  function kst(iso) {
    var moment = new Date(iso);
    if (!iso || isNaN(moment.getTime())) { return ""; }
    var parts = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: "Asia/Seoul", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(moment).forEach(function (p) { parts[p.type] = p.value; });
    return parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }
  function phone(e164) {
    if (!e164) { return "발신 번호 없음"; }
    var mobile = /^\+82(1\d)(\d{3,4})(\d{4})$/.exec(e164);
    if (mobile) { return "0" + mobile[1] + "-" + mobile[2] + "-" + mobile[3]; }
    var seoul = /^\+822(\d{3,4})(\d{4})$/.exec(e164);
    return seoul ? "02-" + seoul[1] + "-" + seoul[2] : e164;
  }
  function waited(seconds) {
    if (seconds === null || seconds === undefined) { return "-"; }
    return seconds >= 60 ? Math.floor(seconds / 60) + "분 " + (seconds % 60) + "초" : seconds + "초";
  }
  function problem(answer) {
    var lines = [L.errors[String(answer.status)] || "요청을 처리하지 못했습니다."];
    var body = answer.body || {};
    if (body.fields) {
      Object.keys(body.fields).forEach(function (name) {
        lines.push((name === "outcome" ? "처리 결과" : name === "state" ? "상태" : name) + ": " + body.fields[name]);
      });
    } else if (body.error) {
      lines.push(body.error);
    }
    return lines;
  }
  function showLines(box, lines) {
    clear(box);
    lines.forEach(function (line) { box.appendChild(element("p", line)); });
    box.hidden = !lines.length;
  }

  function closeForm(task) {
    var form = document.createElement("form");
    form.className = "callback-done";
    var id = "callback-outcome-" + task.id;
    var lab = element("label", "처리 결과");
    lab.setAttribute("for", id);
    var input = document.createElement("textarea");
    input.id = id;
    input.name = "outcome";
    input.rows = 2;
    input.maxLength = 1000;
    var errors = document.createElement("div");
    errors.className = "form-errors error";
    errors.setAttribute("role", "alert");
    errors.hidden = true;
    var submit = element("button", "처리 완료");
    submit.type = "submit";
    form.appendChild(lab);
    form.appendChild(input);
    form.appendChild(submit);
    form.appendChild(errors);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit.disabled = true;
      C.api("POST", PATH + "/" + task.id + "/done", { outcome: input.value }).then(function (answer) {
        submit.disabled = false;
        if (!answer.ok) { showLines(errors, problem(answer)); return; }
        load();
      });
    });
    return form;
  }

  function row(task) {
    var tr = document.createElement("tr");
    tr.id = "callback-" + task.id;
    tr.appendChild(element("td", kst(task.requested_at)));
    tr.appendChild(element("td", task.queue_label));
    tr.appendChild(element("td", label(L.callback_reasons, task.reason) + (task.message_left ? " (메시지 있음)" : "")));
    tr.appendChild(element("td", phone(task.caller)));
    var who = element("td", task.customer_name || "미확인 고객");
    if (task.customer_note) { who.title = task.customer_note; }
    tr.appendChild(who);
    tr.appendChild(element("td", waited(task.wait_seconds)));
    var work = document.createElement("td");
    work.appendChild(closeForm(task));
    tr.appendChild(work);
    return tr;
  }

  function show(page) {
    var body = $("callbacks-list").querySelector("tbody");
    // A form being typed in keeps its text across a re-read.
    var typed = {};
    Array.prototype.forEach.call(body.querySelectorAll("textarea"), function (t) { typed[t.id] = t.value; });
    clear(body);
    page.items.forEach(function (task) { body.appendChild(row(task)); });
    Object.keys(typed).forEach(function (id) { if ($(id)) { $(id).value = typed[id]; } });
    $("callbacks-list").hidden = !page.items.length;
    $("callbacks-empty").hidden = page.items.length > 0;
    $("callbacks-more").hidden = !page.next;
    text($("callbacks-count"), page.items.length ? "(" + page.items.length + (page.next ? "+" : "") + "건)" : "");
  }

  function load() {
    if (loading) { again = true; return loading; }
    loading = C.api("GET", PATH + "?state=open&limit=50").then(function (answer) {
      loading = null;
      if (!answer.ok) { showLines($("callbacks-errors"), problem(answer)); }
      else { showLines($("callbacks-errors"), []); show(answer.body); }
      if (again) { again = false; load(); }
    });
    return loading;
  }

  window.DeskCallbacks = { load: load };
}());
