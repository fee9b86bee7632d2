// The wallboard kept live: the console's WebSocket pushes the viewer's figures every second (no polling);
// a closed socket (a gateway restarting) is opened again after a short pause.
"use strict";
(function () {
  const NONE = "—";
  const clock = (s) => s === null ? NONE : `${Math.floor(Math.round(s) / 60)}:${String(Math.round(s) % 60).padStart(2, "0")}`;
  const share = (v) => v === null ? NONE : `${(v * 100).toFixed(1)}%`;
  const live = document.getElementById("wallboard-live");

  function show(board) {
    document.getElementById("wallboard-at").textContent = board.at_kst;
    const rows = document.getElementById("wallboard-rows");
    for (const q of board.queues) {
      const row = rows.querySelector(`tr[data-queue="${CSS.escape(q.queue)}"]`);
      if (!row) { window.location.reload(); return; }  // a queue new to this viewer: the page lays it out
      const set = (field, text, cls, on) => {
        const cell = row.querySelector(`[data-field="${field}"]`);
        cell.textContent = text;
        if (cls) cell.classList.toggle(cls, on);
      };
      set("waiting", String(q.waiting), "busy", q.waiting > 0);
      set("longest_wait", clock(q.longest_wait), "late", q.longest_wait > board.service_level_seconds);
      for (const [state, count] of Object.entries(q.agents)) set(`agents.${state}`, String(count));
      set("service_level", share(q.service_level));
      set("abandonment_rate", share(q.abandonment_rate));
      set("average_handling", clock(q.average_handling));
      set("answered", `${q.answered} / ${q.abandoned}`);
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/console/wallboard/ws`);
    ws.onopen = () => { live.textContent = "실시간"; };
    ws.onmessage = (event) => {
      const board = JSON.parse(event.data);
      if (board.type === "wallboard") show(board);
    };
    ws.onclose = () => { live.textContent = "연결 끊김 · 다시 연결 중…"; setTimeout(connect, 1000); };
  }
  connect();
})();
