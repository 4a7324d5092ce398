"""BrowserTransport: what the CallSession says, sent to the admin's browser.

Nothing is dialled: a transfer is announced to the page (the admin learns the agent would
hand the caller to the front desk, and why) and the test call ends there, as a real call
leaves the agent once it is transferred.
"""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from telephony.browser import protocol
from telephony.browser.audio import OutboundAudio
from voiceagent.call import Transport
from voiceagent.dialog.base import Transfer
from voiceagent.logs import get_logger

log = get_logger(__name__)

NORMAL_CLOSURE = 1000


class BrowserTransport(Transport):
    def __init__(self, websocket: WebSocket, call_sid: str, rate: int) -> None:
        self._ws = websocket
        self._call_sid = call_sid
        self._audio = OutboundAudio(rate)
        self._send_lock = asyncio.Lock()

    @property
    def open(self) -> bool:
        return self._ws.application_state is WebSocketState.CONNECTED

    async def _send(self, message: str | bytes) -> None:
        if not message or not self.open:
            return
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                if isinstance(message, bytes):
                    await self._ws.send_bytes(message)
                else:
                    await self._ws.send_text(message)

    async def send_audio(self, pcm: np.ndarray) -> None:
        await self._send(self._audio.frame(pcm))

    async def send_mark(self, name: str) -> None:
        await self._send(self._audio.end_prompt())
        await self._send(protocol.mark_message(name))

    async def clear(self) -> None:
        self._audio.drop()
        await self._send(protocol.clear_message())

    async def transfer(self, transfer: Transfer) -> bool:
        log.info("try_call_transfer", call_sid=self._call_sid, reason=transfer.reason_code)
        await self._send(protocol.transfer_message(transfer.reason_code, transfer.urgency))
        await self.close("transferred")
        return True

    async def hangup(self) -> None:
        await self._send(protocol.hangup_message())
        await self.close("agent hung up")

    async def close(self, reason: str, code: int = NORMAL_CLOSURE) -> None:
        if not self.open:
            return
        async with self._send_lock:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self._ws.close(code=code, reason=reason)
