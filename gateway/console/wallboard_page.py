"""The wallboard page of the console (/console/wallboard): the viewer's board as first read, then kept live by
`static/wallboard.js` over the console's WebSocket (/console/wallboard/ws, `gateway.wallboard`)."""

from __future__ import annotations

from aiohttp import web

from gateway import labels, wallboard
from gateway.console.render import render


def clock_text(seconds: float | None) -> str:
    """Seconds as the board shows them: "1:05" ("—" for none)."""
    if seconds is None:
        return labels.NOTHING_ON_BOARD
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def share_text(share: float | None) -> str:
    """A share as a percentage: "85.0%" ("—" for none)."""
    return labels.NOTHING_ON_BOARD if share is None else f"{share * 100:.1f}%"


async def wallboard_page(request: web.Request) -> web.Response:
    """GET /console/wallboard"""
    board = await wallboard.board_of(request)
    at = wallboard.frame_time(board)
    context = {"board": board, "at_kst": at, "clock": clock_text, "share": share_text, "states": labels.AGENT_STATES}
    return render(request, "wallboard.html", context)


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    app.router.add_get("/wallboard", wallboard_page)
    app.router.add_get("/wallboard/ws", wallboard.wallboard_socket)
