"""Routes of the browser softphone: the admins' "Try a call" page and its websocket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import Response

from telephony.browser import protocol
from telephony.browser.softphone import serve_try_call
from voiceagent.web.auth import AdminUser
from voiceagent.web.state import WebState, web_state

PAGE_PATH = "/staff/admin/try-call"
SOCKET_PATH = "/staff/admin/try-call/ws"

router = APIRouter(include_in_schema=False)


@router.get(PAGE_PATH)
def try_call_page(
    request: Request, principal: AdminUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    return web.page(
        request,
        "admin/try_call.html",
        principal,
        socket_path=SOCKET_PATH,
        subprotocol=protocol.SUBPROTOCOL,
        disclosure=web.settings.disclosure,
    )


@router.websocket(SOCKET_PATH)
async def try_call_socket(websocket: WebSocket) -> None:
    await serve_try_call(websocket, websocket.app.state.runtime, websocket.app.state.web)
