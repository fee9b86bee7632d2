/* The live call on the agent's desk (#live-transcript): the frames `transcript`, `transcript_status` and `suggestion`
   of gateway/live_call.py and gateway/live_assist.py, for the call the desk holds only (desk.js tells which with
   DeskLive.hold and hands every such frame to DeskLive.frame).
   - transcript: one line per utterance (speaker 고객/상담원, its times from the stream's start); a partial text is
     replaced by the next partial and then by its final. The list follows the newest line until the agent scrolls up.
   - transcript_status: a notice while the transcript is behind the call, gone once it caught up.
   - suggestion: type, topic and urgency by their Korean names, the reasons as Korean sentences, one-click fills of
     the open forms (accident report: place, time, vehicle; change notification: address, phone) and urgent alerts
     that offer to tick the accident report's dispatch request. */
(function () {
  "use strict";

  var L = JSON.parse(document.getElementById("desk-config").textContent).labels;
  var SPEAKERS = { customer: "고객", agent: "상담원" };
  // The form field each fill goes into; `field` also sets the change notification's item.
  var TARGETS = {
    accident_report: {
      where: { input: "acc-place", form: "form-accident" },
      when: { input: "acc-occurred", form: "form-accident", moment: true },
      vehicle: { input: "acc-plate", form: "form-accident" }
    },
    change_notification: {
      address: { input: "chg-value", form: "form-change", field: "address" },
      phone: { input: "chg-value", form: "form-change", field: "phone" }
    }
  };

  var held = null;     // the call_sid of the call the desk holds
  var follow = true;   // the list follows the newest line (until the agent scrolls up)

  function $(id) { return document.getElementById(id); }
  function text(el, value) { el.textContent = value === null || value === undefined ? "" : String(value); return el; }
  function element(tag, className, value) {
    var el = text(document.createElement(tag), value);
    if (className) { el.className = className; }
    return el;
  }
  function clear(el) { while (el.firstChild) { el.removeChild(el.firstChild); } }
  function named(catalogue, code) {
    if (code === null || code === undefined || code === "") { return "미분류"; }
    return Object.prototype.hasOwnProperty.call(catalogue, code) ? catalogue[code] : "기타";
  }
  function clock(seconds) {
    var s = Math.max(0, Math.floor(Number(seconds) || 0));
    var m = Math.floor(s / 60);
    return (m < 10 ? "0" : "") + m + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
  }

  // -- the transcript --------------------------------------------------------------------------------------------------

  function atBottom(list) { return list.scrollTop + list.clientHeight >= list.scrollHeight - 8; }
  function toLatest() {
    var list = $("transcript-lines");
    list.scrollTop = list.scrollHeight;
    follow = true;
    $("transcript-latest").hidden = true;
  }

  function onTranscript(frame) {
    var speaker = frame.speaker === "agent" ? "agent" : "customer";
    var start = Number(frame.start) || 0;
    var key = speaker + "@" + start.toFixed(3);
    var list = $("transcript-lines");
    var line = list.querySelector('li[data-key="' + key + '"]');
    if (!line) {
      line = document.createElement("li");
      line.setAttribute("data-key", key);
      line.setAttribute("data-start", String(start));
      line.appendChild(element("span", "t-time", ""));
      line.appendChild(element("span", "t-speaker", SPEAKERS[speaker]));
      line.appendChild(element("span", "t-text", ""));
      line.appendChild(element("span", "t-partial note", " (인식 중…)"));
      var after = Array.prototype.filter.call(list.children, function (li) {
        return Number(li.getAttribute("data-start")) > start;
      })[0];
      list.insertBefore(line, after || null);
    } else if (line.classList.contains("final")) {
      return; // a partial late after its final: the final says it all
    }
    var final = frame.final === true;
    line.className = "speaker-" + speaker + (final ? " final" : " partial");
    text(line.querySelector(".t-time"), clock(start) + "–" + clock(frame.end));
    text(line.querySelector(".t-text"), frame.text);
    line.querySelector(".t-partial").hidden = final;
    $("live-transcript").hidden = false;
    if (follow) { list.scrollTop = list.scrollHeight; } else { $("transcript-latest").hidden = false; }
  }

  function onStatus(frame) {
    var notice = $("transcript-behind");
    notice.hidden = frame.behind !== true;
    if (frame.behind === true) {
      var waiting = Number(frame.waiting) || 0;
      var skipped = Number(frame.skipped) || 0;
      text(notice, "실시간 전사가 통화보다 늦어지고 있습니다 (대기 " + waiting + "건" +
        (skipped ? ", 건너뛴 중간 결과 " + skipped + "건" : "") + "). 고객의 말을 직접 확인하세요.");
      $("live-transcript").hidden = false;
    }
  }

  // -- the suggestion ----------------------------------------------------------------------------------------------

  function fieldLabel(target) {
    var lab = document.querySelector('label[for="' + target.input + '"]');
    var name = lab ? lab.textContent : "";
    return target.field ? "변경 신고 " + name + " (" + named(L.change_fields, target.field) + ")" : name;
  }

  // The value as the input takes it: a moment for the accident's time (a date keeps the time entered, a time the
  // date entered), as heard otherwise.
  function inputValue(target, fill) {
    var value = String(fill.value || "");
    if (!target.moment) { return value; }
    var current = $(target.input).value;
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) { return value; }
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) { return value + "T" + (current.split("T")[1] || "00:00").slice(0, 5); }
    if (/^\d{2}:\d{2}$/.test(value) && current) { return current.split("T")[0] + "T" + value; }
    return null;
  }

  function openForm(formId) {
    var details = $(formId).closest("details");
    if (details) { details.open = true; }
  }

  function fillButton(form, name, fill) {
    var target = (TARGETS[form] || {})[name];
    if (!target || !fill) { return null; }
    var item = document.createElement("li");
    // A masked value (a phone number is heard redacted) only chooses the field: the agent asks for the number.
    var masked = /^\[[^\]]*\]$/.test(String(fill.value || ""));
    var button = element("button", "live-fill", masked
      ? fieldLabel(target) + " 선택 (들은 번호는 가려져 있습니다: 고객에게 확인해 입력하세요)"
      : fieldLabel(target) + "에 넣기: " + (fill.text || fill.value));
    button.type = "button";
    button.setAttribute("data-form", form);
    button.setAttribute("data-field", name);
    button.addEventListener("click", function () {
      var value = masked ? "" : inputValue(target, fill);
      if (value === null) {
        text(item.querySelector(".note") || item.appendChild(element("span", "note", "")),
          " 날짜를 먼저 입력하세요.");
        return;
      }
      if (target.field) { $("chg-field").value = target.field; }
      openForm(target.form);
      var input = $(target.input);
      input.value = value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.focus();
    });
    item.appendChild(button);
    return item;
  }

  function dispatchTicked(button, ticked) {
    button.disabled = ticked;
    text(button, ticked ? "출동 요청 체크됨" : "사고 접수에 출동 요청 체크");
  }

  function alertItem(alert) {
    var item = element("li", "live-alert urgent",
      "긴급: " + named(L.urgency_cues, alert.kind) + " — 현장 출동이 필요할 수 있습니다. ");
    if (alert.suggest === "dispatch") {
      var button = element("button", "live-dispatch", "");
      button.type = "button";
      dispatchTicked(button, $("acc-dispatch").checked);
      button.addEventListener("click", function () {
        openForm("form-accident");
        $("acc-dispatch").checked = true;
        $("acc-dispatch").focus();
        Array.prototype.forEach.call(document.querySelectorAll("#live-alerts .live-dispatch"), function (b) {
          dispatchTicked(b, true);
        });
      });
      item.appendChild(button);
    }
    return item;
  }

  function onSuggestion(frame) {
    $("live-transcript").hidden = false;
    $("live-assist").hidden = false;
    text($("suggest-type"), named(L.call_types, frame.call_type));
    text($("suggest-topic"), frame.topic ? (L.topics[frame.topic] || frame.topic_label || "기타") : "미분류");
    var urgency = $("suggest-urgency");
    text(urgency, named(L.urgency, frame.urgency));
    urgency.className = frame.urgency === "high" ? "urgent" : "";
    var reasons = $("suggest-reasons");
    clear(reasons);
    (frame.reason_lines || []).forEach(function (line) { reasons.appendChild(element("li", "", line)); });
    var fills = $("suggest-fills");
    clear(fills);
    Object.keys(frame.fills || {}).forEach(function (form) {
      Object.keys(frame.fills[form] || {}).forEach(function (name) {
        var item = fillButton(form, name, frame.fills[form][name]);
        if (item) { fills.appendChild(item); }
      });
    });
    $("suggest-no-fills").hidden = !!fills.firstChild;
    (frame.alerts || []).forEach(function (alert) { $("live-alerts").appendChild(alertItem(alert)); });
  }

  // -- what desk.js calls --------------------------------------------------------------------------------------------

  function reset() {
    clear($("transcript-lines"));
    clear($("live-alerts"));
    clear($("suggest-reasons"));
    clear($("suggest-fills"));
    $("transcript-behind").hidden = true;
    $("live-assist").hidden = true;
    $("live-transcript").hidden = true;
    toLatest();
  }

  $("transcript-lines").addEventListener("scroll", function () {
    follow = atBottom($("transcript-lines"));
    if (follow) { $("transcript-latest").hidden = true; }
  });
  $("transcript-latest").addEventListener("click", toLatest);

  window.DeskLive = {
    // The desk now holds this call (null: none); the panel starts afresh for another call.
    hold: function (callSid) {
      if (callSid !== held) { reset(); }
      held = callSid || null;
    },
    // A frame of the live call; true when it was one (frames of another call are dropped).
    frame: function (frame) {
      var kinds = { transcript: onTranscript, transcript_status: onStatus, suggestion: onSuggestion };
      if (!Object.prototype.hasOwnProperty.call(kinds, frame.type)) { return false; }
      if (held !== null && frame.call_sid === held) { kinds[frame.type](frame); }
      return true;
    }
  };
}());
