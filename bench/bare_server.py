"""The baseline: a bare aiohttp handler answering fixed TwiML (it still parses the form, as any handler must)."""

from __future__ import annotations

import sys

from aiohttp import web

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="ko-KR" voice="Polly.Seoyeon">'
    "안녕하십니까</Say><Record /></Response>"
)


async def voice(request: web.Request) -> web.Response:
    await request.post()
    return web.Response(text=TWIML, content_type="text/xml")


if __name__ == "__main__":
    if "--uvloop" in sys.argv:
        import uvloop

        uvloop.install()
    app = web.Application()
    app.router.add_post("/twilio/voice", voice)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
