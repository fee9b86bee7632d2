// The dispatch board's live side: a WebSocket that says when something changed (then the panels are read again),
// and the time left against each promise counted down here between frames. No polling.
(function () {
  "use strict";
  const state = document.getElementById("live-state");
  const board = document.getElementById("board");
  if (!state || !board) { return; }
  let reading = null, again = false, delay = 1000;
  // The provinces' outlines come with the page only; the panels read again keep them.
  const outlines = board.querySelector("#provinces") ? board.querySelector("#provinces").innerHTML : "";
  window.boardFrames = 0;
  window.boardLog = [];  // each frame: when it arrived and when the panels showed it (bench/dispatch.py reads it)

  async function reread() {
    if (reading) { again = true; return; }
    reading = fetch(state.dataset.live, { credentials: "same-origin", cache: "no-store" });
    try {
      const answer = await reading;
      if (answer.ok) {
        board.innerHTML = await answer.text();
        const layer = board.querySelector("#provinces");
        if (layer) { layer.innerHTML = outlines; }
        tick();
      }
    } finally {
      reading = null;
      if (again) { again = false; reread(); }
    }
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
      reread().then(function () { entry.shown = Date.now(); board.dataset.frames = String(window.boardFrames); });
    };
    socket.onclose = function () {
      state.textContent = "연결이 끊겼습니다. 다시 연결하는 중…";
      state.dataset.connected = "";
      setTimeout(function () { connect(); reread(); }, delay);
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
})();
