/* The agent's desk (/console/desk): the desk WebSocket (state, offer, call frames; reconnects when dropped), the
   screen pop of an offered call, customer search and linking the caller, the forms of the call, the after-call work
   timer. Every code is shown by its Korean name from the page's labels; every time in Korea time. Frames of a type
   the desk does not know are ignored. The live call's transcript and suggestions are desk_live.js (DeskLive). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("desk-config").textContent);
  var L = config.labels;
  var C = window.DeskCommon;
  var api = C.api, text = C.text, clear = C.clear;
  var SID = /^CA[0-9a-f]{32}$/;
  var FIELD_NAMES = {
    customer: "고객 연결", call_sid: "통화", dispatch: "긴급 출동", "dispatch.lat": "위도", "dispatch.lon": "경도",
    "dispatch.kind": "출동 종류", "dispatch.rescue_kind": "긴급 출동 내용", injured: "부상자", vehicles: "관련 차량",
    queue: "대기열", q: "검색어", occurred_at: "사고 일시", policy_id: "증권", customer_id: "고객"
  };

  var call = null;          // {sid, state, caller, queue}
  var shownCustomer = null; // the id of the customer on the screen pop
  var agentState = config.state;
  var acwStart = null;
  var acwTicker = null;
  var offerTicker = null;
  var socket = null;
  var retries = 0;

  function $(id) { return document.getElementById(id); }
  function label(catalogue, code) {
    if (code === null || code === undefined || code === "") { return ""; }
    return Object.prototype.hasOwnProperty.call(catalogue, code) ? catalogue[code] : String(code);
  }
  function topic(code) {
    // As gateway.labels.topic_label: a topic the taxonomy lacks reads as its type's other.
    if (!code) { return "미분류"; }
    if (Object.prototype.hasOwnProperty.call(L.topics, code)) { return L.topics[code]; }
    var type = String(code).split(".")[0];
    return Object.prototype.hasOwnProperty.call(L.call_types, type) ? L.call_types[type] + " · 기타" : String(code);
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // A moment in Korea time: "YYYY-MM-DD HH:MM", or only "HH:MM:SS" with `clock`.
  function kst(iso, clock) {
    if (!iso) { return ""; }
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) { return String(iso); }
    var parts = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", second: "2-digit", hourCycle: "h23"
    }).formatToParts(moment).forEach(function (p) { parts[p.type] = p.value; });
    if (clock) { return parts.hour + ":" + parts.minute + ":" + parts.second; }
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }
  function won(amount) { return Number(amount || 0).toLocaleString("ko-KR"); }
  function phone(e164) {
    var m = /^\+82(1\d)(\d{3,4})(\d{4})$/.exec(e164 || "");
    return m ? "0" + m[1] + "-" + m[2] + "-" + m[3] : (e164 || "");
  }
  function cell(row, value) { row.appendChild(text(document.createElement("td"), value)); }
  function show(el, visible) { el.hidden = !visible; }

  // -- errors on the page ------------------------------------------------------------------------------------------

  function fieldName(form, name) {
    var input = form ? form.querySelector('[name="' + name.split(".")[0] + '"]') : null;
    if (input && input.id) {
      var lab = document.querySelector('label[for="' + input.id + '"]');
      if (lab) { return lab.textContent; }
    }
    return FIELD_NAMES[name] || FIELD_NAMES[name.split(".")[0]] || name;
  }
  function problemLines(status, body, form) {
    var lines = [];
    if (body && body.fields) {
      Object.keys(body.fields).forEach(function (name) { lines.push(fieldName(form, name) + ": " + body.fields[name]); });
    } else if (body && body.error) {
      lines.push(body.error);
    }
    return [L.errors[String(status)] || "요청을 처리하지 못했습니다."].concat(lines);
  }
  function showLines(box, lines) {
    clear(box);
    if (!lines.length) { box.hidden = true; return; }
    var head = text(document.createElement("p"), lines[0]);
    box.appendChild(head);
    var list = document.createElement("ul");
    lines.slice(1).forEach(function (line) { list.appendChild(text(document.createElement("li"), line)); });
    box.appendChild(list);
    box.hidden = false;
  }
  function deskError(lines) { showLines($("desk-error"), lines); }

  // -- the agent's state -------------------------------------------------------------------------------------------

  function setState(state, since) {
    agentState = state;
    text($("agent-state"), label(L.agent_states, state));
    text($("state-since"), kst(since));
    ["available", "break", "offline"].forEach(function (s) {
      $("state-" + s).setAttribute("aria-pressed", String(s === state));
    });
    if (state === "wrap_up") { startAcw(since); }
    if (state === "available" && call && call.state !== "offered" && call.state !== "connected") { endCall(); }
  }

  function chooseState(state) {
    api("PUT", "/api/v1/agents/me/state", { state: state }).then(function (answer) {
      if (answer.ok) { deskError([]); setState(answer.body.state, answer.body.since); }
      else { deskError(problemLines(answer.status, answer.body, null)); }
    });
  }

  // -- the after-call work timer -------------------------------------------------------------------------------------

  function startAcw(since) {
    if (acwStart !== null) { return; }
    acwStart = since ? new Date(since).getTime() : Date.now();
    if (isNaN(acwStart)) { acwStart = Date.now(); }
    show($("acw"), true);
    var tick = function () {
      var seconds = Math.max(0, Math.floor((Date.now() - acwStart) / 1000));
      text($("acw-timer"), pad(Math.floor(seconds / 60)) + ":" + pad(seconds % 60));
    };
    tick();
    acwTicker = setInterval(tick, 1000);
  }
  function stopAcw() {
    if (acwTicker !== null) { clearInterval(acwTicker); }
    acwTicker = null;
    acwStart = null;
    show($("acw"), false);
  }

  // -- the call --------------------------------------------------------------------------------------------------

  function formsOpen(open) {
    $("forms").disabled = !open;
    show($("forms-closed"), !open);
  }
  function showCall() {
    show($("no-call"), !call);
    show($("call-info"), !!call);
    if (!call) { return; }
    text($("call-caller"), call.caller ? phone(call.caller) : "발신 번호 없음");
    text($("call-queue"), label(L.queues, call.queue));
    text($("call-state"), label(L.call_states, call.state));
    show($("call-priority"), !!call.green);
    show($("offer-actions"), call.state === "offered");
  }
  // The call leaves the desk: the screen pop, forms and timers cleared; `note` (Korean) says why, when it did not
  // end by the agent's own wrap-up.
  function endCall(note) {
    call = null;
    window.DeskLive.hold(null);
    stopAcw();
    stopOfferTimer();
    formsOpen(false);
    showCall();
    show($("screen-pop"), false);
    shownCustomer = null;
    clear($("work-log"));
    text($("call-note"), note || "");
    show($("call-note"), !!note);
  }

  // How long the agent has left to accept (the reservation of the offer, `expires_at`).
  function startOfferTimer(expiresAt) {
    stopOfferTimer();
    var deadline = expiresAt ? new Date(expiresAt).getTime() : NaN;
    if (isNaN(deadline)) { return; }
    text($("offer-deadline"), kst(expiresAt, true));
    show($("offer-expires"), true);
    var tick = function () { text($("offer-left"), Math.max(0, Math.ceil((deadline - Date.now()) / 1000))); };
    tick();
    offerTicker = setInterval(tick, 1000);
  }
  function stopOfferTimer() {
    if (offerTicker !== null) { clearInterval(offerTicker); }
    offerTicker = null;
    show($("offer-expires"), false);
  }

  function onOffer(frame) {
    if (!SID.test(frame.call_sid || "")) { return; }
    stopAcw();
    clear($("work-log"));
    window.DeskLive.hold(null);
    show($("call-note"), false);
    var priority = Number(frame.priority || 0);
    call = { sid: frame.call_sid, state: "offered", caller: frame.caller, queue: frame.queue, priority: priority,
             green: frame.green_channel === undefined ? priority > 0 : !!frame.green_channel };
    showCall();
    formsOpen(false);
    renderPop(frame.customer || null, frame);
    startOfferTimer(frame.expires_at);
    $("accept").focus();
  }

  // The offer taken back (not accepted in time, declined, the connection failed): the screen pop cleared, the
  // reason said in Korean. A frame of another call than the one on the desk changes nothing.
  function onWithdrawn(frame) {
    if (!call || call.sid !== frame.call_sid) { return; }
    var reasons = L.offer_withdrawn;
    endCall(Object.prototype.hasOwnProperty.call(reasons, frame.reason) ? reasons[frame.reason] : reasons.other);
  }

  function onCall(frame) {
    if (!SID.test(frame.call_sid || "")) { return; }
    if (call && call.sid !== frame.call_sid && (call.state === "offered" || call.state === "connected")) {
      return;  // a late frame of an earlier call: the call on the desk stays
    }
    if (!call || call.sid !== frame.call_sid) {
      call = { sid: frame.call_sid, state: frame.state, caller: frame.caller || null, queue: frame.queue || null };
    }
    call.state = frame.state;
    stopOfferTimer();
    showCall();
    if (frame.state === "connected" || frame.state === "ended") { window.DeskLive.hold(call.sid); }
    if (frame.state === "connected") {
      formsOpen(true);
      $("acc-occurred").focus();
    } else if (frame.state === "ended") {
      formsOpen(true);
      startAcw(null);
      $("wrap-disposition").focus();
    } else if (frame.state === "abandoned") {
      endCall(L.offer_withdrawn.abandoned);
    }
  }

  function answerOffer(kind) {
    if (!call || call.state !== "offered" || !socket || socket.readyState !== WebSocket.OPEN) { return; }
    socket.send(JSON.stringify({ type: kind, call_sid: call.sid }));
    show($("offer-actions"), false);
    if (kind === "decline") { endCall(L.offer_withdrawn.declined); }
  }

  // -- the screen pop ------------------------------------------------------------------------------------------------

  function blacklistFlag(customer, frame) {
    return !!((frame && frame.blacklisted) || (customer && customer.blacklisted));
  }
  // The distributor says in Korean why there is no picture (unknown, withheld, out of scope, unavailable).
  function unknownText(frame) {
    if (frame && frame.caller_note) {
      return frame.caller_note;
    }
    if (frame && frame.caller_status === "out_of_scope") {
      return "등록된 고객이지만 조회 권한 밖의 고객입니다. 고객 검색으로 확인하거나 상급자에게 문의하세요.";
    }
    if (frame && frame.caller_status === "unavailable") {
      return "고객 정보를 지금 불러올 수 없습니다. 고객 검색으로 고객을 찾아 연결하세요.";
    }
    return "등록되지 않은 번호입니다 (미확인 고객). 고객 검색으로 고객을 찾아 연결하세요.";
  }

  function renderPop(customer, frame) {
    show($("screen-pop"), true);
    show($("pop-blacklist"), blacklistFlag(customer, frame));
    show($("pop-unknown"), !customer);
    show($("pop-customer"), !!customer);
    shownCustomer = customer ? customer.id : null;
    if (!customer) {
      text($("pop-unknown"), unknownText(frame));
      fillPolicies([]);
      return;
    }
    text($("pop-name"), customer.name);
    text($("pop-kind"), label(L.customer_kinds, customer.kind));
    text($("pop-segment"), label(L.segments, customer.segment));
    text($("pop-segment-reason"), customer.segment_reason ? "(" + customer.segment_reason + ")" : "");
    text($("pop-unit"), customer.org_unit_name);
    var alerts = $("pop-alerts");
    clear(alerts);
    (customer.alerts || []).forEach(function (a) {
      var item = text(document.createElement("li"),
        "[" + label(L.alert_levels, a.level) + "] " + label(L.alert_kinds, a.kind) + ": " + a.reason);
      item.className = "alert-" + a.level;
      alerts.appendChild(item);
    });
    if (!alerts.firstChild) { alerts.appendChild(text(document.createElement("li"), "없음")); }
    var entitled = $("pop-entitlements");
    clear(entitled);
    (customer.entitlements || []).forEach(function (e) {
      entitled.appendChild(text(document.createElement("li"), e.name));
    });
    if (!entitled.firstChild) { entitled.appendChild(text(document.createElement("li"), "없음")); }
    rows("pop-policies", customer.policies || [], function (row, p) {
      cell(row, p.policy_number); cell(row, label(L.policy_lines, p.line)); cell(row, won(p.premium));
      cell(row, p.start_date + " ~ " + p.end_date);
    });
    rows("pop-claims", (customer.claims || []).filter(function (c) { return c.status === "open"; }),
      function (row, c) {
        cell(row, c.claim_number); cell(row, c.occurred_on); cell(row, label(L.claim_states, c.status) + (c.stage ? " · " + label(L.claim_stages, c.stage) : ""));
        cell(row, won(c.paid_amount));
      });
    rows("pop-requests", customer.open_requests || [], function (row, r) {
      cell(row, label(L.call_types, r.type) || "미분류"); cell(row, topic(r.topic));
      cell(row, r.state === "processing" ? "처리 중" : label(L.review_states, r.state)); cell(row, kst(r.since));
    });
    var manager = customer.account_manager;
    text($("pop-manager"), manager
      ? manager.full_name + " (" + manager.username + ")" + (manager.certification_lapsed ? " · 인증 만료" : "")
      : "지정된 고객지배인 없음");
    rows("pop-calls", customer.recent_calls || [], function (row, c) {
      cell(row, kst(c.started_at)); cell(row, label(L.call_types, c.type) || "미분류"); cell(row, topic(c.topic));
    });
    fillPolicies(customer.policies || []);
    rows("pop-complaints", [], function () { return; });
    rows("pop-dispatches", [], function () { return; });
    loadOpenCases(customer.id);
  }

  function loadOpenCases(customerId) {
    var query = call ? "?call_sid=" + encodeURIComponent(call.sid) : "";
    api("GET", "/api/v1/customers/" + customerId + "/open-cases" + query).then(function (answer) {
      if (!answer.ok) { deskError(problemLines(answer.status, answer.body, null)); return; }
      rows("pop-complaints", answer.body.complaints, function (row, c) {
        cell(row, c.number); cell(row, label(L.complaint_categories, c.category)); cell(row, c.topic ? topic(c.topic) : "");
        cell(row, label(L.complaint_states, c.state)); cell(row, kst(c.resolve_by));
      });
      rows("pop-dispatches", answer.body.dispatches, function (row, d) {
        cell(row, d.id); cell(row, label(L.dispatch_kinds, d.kind)); cell(row, label(L.dispatch_states, d.state));
        cell(row, d.address); cell(row, kst(d.due_at));
      });
    });
  }

  function rows(tableId, items, fill) {
    var body = $(tableId).querySelector("tbody");
    clear(body);
    items.forEach(function (item) { var row = document.createElement("tr"); fill(row, item); body.appendChild(row); });
    if (!items.length) {
      var row = document.createElement("tr");
      var only = text(document.createElement("td"), "없음");
      only.colSpan = $(tableId).querySelectorAll("th").length;
      row.appendChild(only);
      body.appendChild(row);
    }
  }

  function fillPolicies(policies) {
    var select = $("acc-policy");
    clear(select);
    var blank = text(document.createElement("option"), policies.length ? "선택하세요" : "고객을 먼저 연결하세요");
    blank.value = "";
    select.appendChild(blank);
    policies.forEach(function (p) {
      var option = text(document.createElement("option"), p.policy_number + " · " + label(L.policy_lines, p.line));
      option.value = String(p.id);
      select.appendChild(option);
    });
  }

  function loadPicture(customerId) {
    var query = call ? "?call_sid=" + encodeURIComponent(call.sid) : "";
    return api("GET", "/api/v1/customers/" + customerId + query).then(function (answer) {
      if (answer.ok) { renderPop(answer.body, null); }
      else { deskError(problemLines(answer.status, answer.body, null)); }
    });
  }

  // -- customer search -------------------------------------------------------------------------------------------------

  function search(event) {
    event.preventDefault();
    var q = $("search-q").value.trim();
    if (!q) { return; }
    api("GET", "/api/v1/customers/search?q=" + encodeURIComponent(q)).then(function (answer) {
      if (!answer.ok) {
        showLines($("search-errors"), problemLines(answer.status, answer.body, $("search-form")));
        return;
      }
      showLines($("search-errors"), []);
      var items = answer.body.items || [];
      show($("search-empty"), !items.length);
      show($("search-results"), !!items.length);
      var body = $("search-results").querySelector("tbody");
      clear(body);
      items.forEach(function (c) {
        var row = document.createElement("tr");
        cell(row, c.name + (c.blacklisted ? " (블랙리스트)" : ""));
        cell(row, label(L.customer_kinds, c.kind));
        cell(row, label(L.segments, c.segment));
        cell(row, (c.phones || []).map(phone).join(", "));
        cell(row, c.org_unit_name);
        cell(row, label(L.matched_on, c.matched_on));
        var actions = document.createElement("td");
        var button = text(document.createElement("button"), held() ? "이 고객으로 연결" : "고객 정보 보기");
        button.type = "button";
        button.className = "link-customer";
        button.setAttribute("data-customer-id", String(c.id));
        button.addEventListener("click", function () { chooseCustomer(c.id); });
        actions.appendChild(button);
        row.appendChild(actions);
        body.appendChild(row);
      });
    });
  }

  function held() { return !!call && call.state !== "offered" && call.state !== "abandoned"; }

  function chooseCustomer(customerId) {
    if (!held()) { loadPicture(customerId); return; }
    post("customer", { customer_id: customerId }, $("search-errors"), $("search-form")).then(function (done) {
      if (done) { loadPicture(customerId); }
    });
  }

  // -- the forms of the call -----------------------------------------------------------------------------------------

  function value(form, name) {
    var input = form.querySelector('[name="' + name + '"]');
    return input ? input.value.trim() : "";
  }
  function optional(target, key, raw) { if (raw !== "") { target[key] = raw; } }

  var BODIES = {
    "accident-report": function (form) {
      var when = value(form, "occurred_at");
      var body = {
        occurred_at: when ? when + (when.length === 16 ? ":00" : "") + "+09:00" : "",
        place: value(form, "place"),
        what_happened: value(form, "what_happened"),
        policy_id: value(form, "policy_id") ? Number(value(form, "policy_id")) : null,
        injured: [],
        vehicles: []
      };
      if (value(form, "injured_role")) {
        body.injured.push({ role: value(form, "injured_role"), condition: value(form, "injured_condition"),
                            hospital: $("acc-injured-hospital").checked });
      }
      var ours = {};
      optional(ours, "plate", value(form, "vehicle_plate"));
      optional(ours, "model", value(form, "vehicle_model"));
      if (Object.keys(ours).length) { ours.ours = true; body.vehicles.push(ours); }
      if (value(form, "other_plate")) { body.vehicles.push({ plate: value(form, "other_plate"), ours: false }); }
      if ($("acc-dispatch").checked) {
        body.dispatch = {
          kind: value(form, "dispatch_kind"),
          rescue_kind: value(form, "rescue_kind") || null,
          lat: value(form, "lat") === "" ? null : Number(value(form, "lat")),
          lon: value(form, "lon") === "" ? null : Number(value(form, "lon"))
        };
      }
      return body;
    },
    complaint: function (form) {
      return { category: value(form, "category"), severity: value(form, "severity"), summary: value(form, "summary") };
    },
    change: function (form) {
      return { field: value(form, "field"), value: value(form, "value"), note: value(form, "note") };
    },
    inquiry: function (form) { return { question: value(form, "question"), answer: value(form, "answer") }; },
    notes: function (form) { return { text: value(form, "text") }; },
    transfer: function (form) {
      return { queue: value(form, "queue"), note: value(form, "note"), unit: value(form, "unit") || null };
    },
    "wrap-up": function (form) { return { disposition: value(form, "disposition"), note: value(form, "note") }; }
  };

  function recordsText(entry) {
    var r = entry.records || {};
    var parts = [];
    if (r.claim_number) { parts.push("사고 접수번호 " + r.claim_number); }
    if (r.dispatch_id) { parts.push("출동 요청 " + r.dispatch_id + "번"); }
    if (r.complaint_number) { parts.push("민원번호 " + r.complaint_number + (r.repeat ? " (기존 민원에 연결)" : "")); }
    if (r.proposed_change_index !== undefined) { parts.push("운영자 검토 대기"); }
    if (r.queue_label) { parts.push(r.queue_label + " 대기열로 전환" + (r.unit_name ? " (" + r.unit_name + ")" : "")); }
    if (r.disposition) { parts.push(label(L.dispositions, r.disposition)); }
    if (entry.kind === "link") { parts.push("고객 " + r.customer_id + "번"); }
    return parts.join(", ");
  }

  function post(action, body, errorBox, form) {
    if (!call) { showLines(errorBox, ["연결된 통화가 없습니다."]); return Promise.resolve(false); }
    var path = "/api/v1/desk/calls/" + encodeURIComponent(call.sid) + "/" + action;
    return api("POST", path, body).then(function (answer) {
      if (!answer.ok) { showLines(errorBox, problemLines(answer.status, answer.body, form)); return false; }
      showLines(errorBox, []);
      var entry = answer.body.entry;
      var line = text(document.createElement("li"),
        kst(entry.at) + " " + label(L.work_kinds, entry.kind) + (recordsText(entry) ? " — " + recordsText(entry) : ""));
      line.className = "work-" + entry.kind;
      $("work-log").appendChild(line);
      if (answer.body.agent_state && answer.body.agent_state !== agentState) {
        setState(answer.body.agent_state, entry.at);
      }
      return true;
    });
  }

  function submitForm(event) {
    event.preventDefault();
    var form = event.target;
    var action = form.getAttribute("data-action");
    var errorBox = form.querySelector(".form-errors");
    post(action, BODIES[action](form), errorBox, form).then(function (done) {
      if (!done) { return; }
      if (action === "wrap-up") { form.reset(); endCall(); return; }
      if (action === "transfer") { startAcw(null); }
      if (action !== "accident-report") { form.reset(); }
      if ((action === "accident-report" || action === "complaint") && shownCustomer !== null) {
        loadOpenCases(shownCustomer);
      }
    });
  }

  // -- the socket ------------------------------------------------------------------------------------------------

  function onFrame(frame) {
    switch (frame.type) {
      case "state": setState(frame.state, frame.since); break;
      case "offer": onOffer(frame); break;
      case "call": onCall(frame); break;
      case "offer_withdrawn": onWithdrawn(frame); break;
      case "callbacks": window.DeskCallbacks.load(); break;
      case "error":
        deskError(["요청이 거절되었습니다."].concat(frame.error ? [frame.error] : []).concat(
          Object.keys(frame.fields || {}).map(function (k) { return k + ": " + frame.fields[k]; })));
        break;
      default:
        window.DeskLive.frame(frame); // the live call's frames; frames of later versions are ignored
        break;
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/api/v1/desk/ws");
    socket.addEventListener("open", function () {
      retries = 0;
      text($("connection"), "실시간 연결됨");
      window.DeskCallbacks.load(); // what changed while the socket was away
      $("connection").className = "note connected";
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame && typeof frame.type === "string") { onFrame(frame); }
    });
    socket.addEventListener("close", function () {
      var delay = Math.min(10000, 500 * Math.pow(2, retries));
      retries += 1;
      text($("connection"), "연결이 끊어졌습니다. " + Math.round(delay / 1000) + "초 후 다시 연결합니다…");
      $("connection").className = "error";
      setTimeout(connect, delay);
    });
  }

  // -- start ---------------------------------------------------------------------------------------------------------

  ["available", "break", "offline"].forEach(function (s) {
    $("state-" + s).addEventListener("click", function () { chooseState(s); });
  });
  $("accept").addEventListener("click", function () { answerOffer("accept"); });
  $("decline").addEventListener("click", function () { answerOffer("decline"); });
  $("search-form").addEventListener("submit", search);
  Array.prototype.forEach.call(document.querySelectorAll("#forms form"), function (form) {
    form.addEventListener("submit", submitForm);
  });
  setState(config.state, config.since);
  if (config.call_sid && (config.state === "on_call" || config.state === "wrap_up")) {
    call = { sid: config.call_sid, state: config.state === "on_call" ? "connected" : "ended", caller: null, queue: null };
    formsOpen(true);
    window.DeskLive.hold(config.call_sid);
  }
  showCall();
  fillPolicies([]);
  connect();
}());
