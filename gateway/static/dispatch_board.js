// The dispatch board's live side. Each frame on the WebSocket names what changed (a request, with its surveyor or
// vendor; a surveyor); the page reads only that again (/console/dispatch/live/change) and puts each returned row and
// marker in place of the one with its id. The whole panels are read again every few minutes and on reconnecting,
// so what the frames changed one by one stays consistent with the whole. The time left against each promise is
// counted down here between frames.
(function () {
  "use strict";
  const state = document.getElementById("live-state");
  const board = document.getElementById("board");
  if (!state || !board) { return; }
  const FULL_EVERY = 120000, HISTORY_ROWS = 30;
  let delay = 1000, chain = Promise.resolve();
  // The provinces' outlines come with the page only; the panels read again keep them.
  const outlines = board.querySelector("#provinces") ? board.querySelector("#provinces").innerHTML : "";
  window.boardFrames = 0;
  window.boardLog = [];  // each frame: when it arrived and when the page had put what it names in place

  // One read at a time, in the order the frames came: a later read never gets overwritten by an earlier one.
  function serially(work) {
    chain = chain.then(work).catch(function () { /* the next frame or full read mends it */ });
    return chain;
  }

  async function readAll() {
    const answer = await fetch(state.dataset.live, { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) { return; }
    board.innerHTML = await answer.text();
    const layer = board.querySelector("#provinces");
    if (layer) { layer.innerHTML = outlines; }
    tick();
  }

  function insertRequest(table, row) {
    const rows = table.querySelectorAll("tr[data-order]");
    for (const other of rows) {
      if (other.dataset.order > row.dataset.order) { other.before(row); return; }
    }
    (rows.length ? rows[rows.length - 1] : table.querySelector("tr")).after(row);
  }

  // Put `element` (a row or a marker) in place of the one with its id, or into its panel; false when the panel is
  // not on the page (an empty list shows a sentence instead of a table: then the whole panels are read; the
  // history, which only grows, waits for the next full read).
  function place(into, element) {
    const existing = document.getElementById(element.id);
    if (existing) { existing.replaceWith(element); return true; }
    const target = board.querySelector(into.endsWith("markers") ? "#" + into : "table#" + into);
    if (!target) { return into === "history"; }
    if (into === "requests") {
      insertRequest(target, element);
    } else if (into === "history") {
      target.querySelector("tr").after(element);
      const rows = target.querySelectorAll("tr[id^='history-']");
      if (rows.length > HISTORY_ROWS) { rows[rows.length - 1].remove(); }
    } else if (into.endsWith("markers")) {
      target.append(element);
    } else {
      target.querySelector("tbody") ? target.querySelector("tbody").append(element) : target.append(element);
    }
    return true;
  }

  async function readChange(frame) {
    const query = new URLSearchParams();
    if (frame.type === "request") { query.set("request", String(frame.id)); }
    if (frame.surveyor) { query.set("surveyor", frame.surveyor); }
    if (frame.vendor) { query.set("vendor", String(frame.vendor)); }
    const answer = await fetch(state.dataset.change + "?" + query.toString(),
                               { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) { return readAll(); }
    const holder = document.createElement("template");
    holder.innerHTML = await answer.text();
    const change = holder.content.getElementById("change");
    if (!change) { return readAll(); }
    for (const id of (change.dataset.gone || "").split(" ")) {
      const gone = id && document.getElementById(id);
      if (gone) { gone.remove(); }
    }
    let placed = true;
    for (const part of change.querySelectorAll("[data-into]")) {
      for (const element of Array.from(part.children)) {
        placed = place(part.dataset.into, element) && placed;
      }
    }
    if (!placed) { return readAll(); }
    tick();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + state.dataset.socket);
    socket.onopen = function () { state.textContent = "실시간 연결됨"; state.dataset.connected = "1"; delay = 1000; };
    socket.onmessage = function (event) {
      const frame = JSON.parse(event.data);
      if (frame.type === "hello") { return; }
      window.boardFrames += 1;
      window.lastBoardFrame = frame;
      const entry = { id: frame.id, state: frame.state, received: Date.now(), shown: null };
      window.boardLog.push(entry);
      serially(function () { return readChange(frame); }).then(function () {
        entry.shown = Date.now();
        board.dataset.frames = String(window.boardFrames);
      });
    };
    socket.onclose = function () {
      state.textContent = "연결이 끊겼습니다. 다시 연결하는 중…";
      state.dataset.connected = "";
      setTimeout(function () { connect(); serially(readAll); }, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  function tick() {
    const now = Date.now();
    for (const span of board.querySelectorAll(".time-left")) {
      const left = Math.floor((Date.parse(span.dataset.due) - now) / 60000);
      span.textContent = left + "분";
      const row = span.closest("tr");
      if (left < 0 && row && !row.classList.contains("urgency-late")) {
        row.classList.remove("urgency-soon", "urgency-ok");
        row.classList.add("urgency-late");
      }
    }
  }

  connect();
  tick();
  setInterval(tick, 15000);
  setInterval(function () { serially(readAll); }, FULL_EVERY);
})();
