"""HTML of the console pages. Every value goes through `e()` (escaping); no script is needed."""

from __future__ import annotations

from html import escape
from typing import Any

from aiohttp import web

TYPE_LABELS = {
    "report": "사고 신고",
    "inquiry": "상담",
    "complaint": "불만·민원",
    "notification": "통보",
    "dispatch": "출동 요청",
}
URGENCY_LABELS = {"high": "긴급", "normal": "보통", "low": "낮음"}
STATE_LABELS = {"open": "대기", "taken": "처리 중", "closed": "종결"}
ACTION_LABELS = {
    "routed": "배정",
    "taken": "담당",
    "escalated": "기한 초과 상향",
    "forwarded": "상위 센터 이관",
    "corrected": "분류 수정",
    "confirmed": "분류 확인",
    "change_applied": "변경 반영",
    "change_rejected": "변경 거부",
    "closed": "종결",
    "released": "담당 해제",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; media-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STYLE = """
body{font-family:'Noto Sans KR',sans-serif;margin:0;background:#f5f6f8;color:#222}
header{background:#123;color:#fff;padding:.6em 1em;display:flex;gap:1em;align-items:center}
header a{color:#fff} header form{margin-left:auto} main{padding:1em;max-width:1100px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ccd;padding:.35em .5em;text-align:left}
.urgent{color:#b00;font-weight:bold} .box{background:#fff;border:1px solid #ccd;padding:.8em;margin:.8em 0}
.error{color:#b00} .note{color:#555} label{margin-right:.8em} textarea{width:100%}
"""


def e(value: Any) -> str:
    """Escaped text of a value ('' for None)."""
    return "" if value is None else escape(str(value), quote=True)


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{e(token)}">'


def page(title: str, body: str, *, user: Any = None, csrf: str | None = None, status: int = 200) -> web.Response:
    """A whole console page with the security headers."""
    bar = ""
    if user is not None:
        role = str(getattr(user, "role", ""))
        links = '<a href="/console/queue">검토 대기열</a>'
        if role == "admin":
            links += '<a href="/console/admin/org-units">조직 관리</a><a href="/console/admin/staff">직원 관리</a>'
        if role in ("admin", "executive"):
            links += '<a href="/console/audit">감사 기록</a>'
        if role in ("account_manager", "center_manager", "executive", "admin"):
            links += '<a href="/console/tasks" id="tasks-link">서비스 업무</a>'
        bar = (
            f"<header><strong>핫라인 검토 콘솔</strong>{links}"
            f'<span id="whoami">{e(user.full_name)} ({e(user.username)})</span>'
            f'<form method="post" action="/console/logout">{csrf_field(csrf or "")}'
            f'<button type="submit" id="logout">로그아웃</button></form></header>'
        )
    html = (
        f'<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>{e(title)}</title>'
        f"<style>{STYLE}</style></head><body>{bar}<main><h1>{e(title)}</h1>{body}</main></body></html>"
    )
    return web.Response(text=html, content_type="text/html", status=status, headers=SECURITY_HEADERS)


def login_body(csrf: str, error: str | None = None, username: str = "") -> str:
    err = f'<p class="error" id="login-error">{e(error)}</p>' if error else ""
    return (
        f'{err}<form method="post" action="/console/login" class="box">{csrf_field(csrf)}'
        f'<p><label>아이디 <input name="username" id="username" value="{e(username)}" autocomplete="username" required>'
        f'</label></p><p><label>비밀번호 <input type="password" name="password" id="password" '
        f'autocomplete="current-password" required></label></p>'
        f'<button type="submit" id="login">로그인</button></form>'
    )


def options(values: dict[str, str], selected: str | None, *, blank: bool = True) -> str:
    opts = ['<option value="">전체</option>'] if blank else []
    for value, label in values.items():
        sel = " selected" if value == selected else ""
        opts.append(f'<option value="{e(value)}"{sel}>{e(label)}</option>')
    return "".join(opts)
