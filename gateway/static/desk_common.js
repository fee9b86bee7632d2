/* What the desk's scripts share (desk.js, desk_callbacks.js): calls of the API with the console session and its CSRF
   token, answered as {ok, status, body} (status 0 when the server cannot be reached), and two DOM helpers. */
(function () {
  "use strict";

  var csrf = document.getElementById("csrf-token").value;

  function text(el, value) { el.textContent = value === null || value === undefined ? "" : String(value); return el; }
  function clear(el) { while (el.firstChild) { el.removeChild(el.firstChild); } }

  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") { init.headers["X-CSRF-Token"] = csrf; }
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (answer) {
      return answer.text().then(function (raw) {
        var parsed = null;
        try { parsed = raw ? JSON.parse(raw) : null; } catch (e) { parsed = null; }
        return { ok: answer.ok, status: answer.status, body: parsed };
      });
    }, function () {
      return { ok: false, status: 0, body: { error: "서버에 연결할 수 없습니다." } };
    });
  }

  window.DeskCommon = { api: api, text: text, clear: clear };
}());
