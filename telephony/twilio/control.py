"""Call control through Twilio's REST API: warm transfer and hang-up of a live call.

The twilio SDK is blocking, so each request runs in a worker thread under two bounds: the
SDK's own HTTP timeout (ends the thread's socket wait) and an asyncio deadline (frees the
caller even if the thread lingers). Failures are returned as ``False`` and logged by error
class and Twilio error code only: Twilio's messages may quote phone numbers.

A redirect is not retried: if a first attempt landed but its answer was lost, a second one
would restart the ringing at the front desk. The caller of :meth:`warm_transfer` falls back
(say so to the caller, record a callback request) instead.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from telephony.twilio.transfer_twiml import (
    DEFAULT_RING_SECONDS,
    FrontDesk,
    absolute_base_url,
    dial_front_desk_twiml,
    transfer_result_twiml,
    whisper_twiml,
)
from voiceagent.logs import get_logger

if TYPE_CHECKING:
    from voiceagent.config import Settings

__all__ = [
    "DEFAULT_REQUEST_TIMEOUT_SECONDS",
    "TwilioCallControl",
    "transfer_result_twiml",
    "whisper_twiml",
]

log = get_logger(__name__)

DEFAULT_REQUEST_TIMEOUT_SECONDS = 5.0
# The asyncio deadline sits a little past the HTTP timeout so that the SDK normally reports
# its own, more telling error (ReadTimeout, ConnectTimeout) first; the deadline catches the
# rest (requests' timeout is per socket operation, not for the whole exchange).
_DEADLINE_GRACE_SECONDS = 1.0
# Call SIDs come from signed webhooks, but they also end up in a URL path: accept only
# their documented shape.
_CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")


class TwilioCallControl:
    """Redirects and ends live calls of one Twilio account."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        public_base_url: str,
        front_desk: str,
        api_url: str | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        ring_seconds: int = DEFAULT_RING_SECONDS,
    ) -> None:
        # Configuration errors surface at start-up, not in the middle of a caller's handoff.
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        if not 5 <= ring_seconds <= 600:
            raise ValueError("ring_seconds must be 5..600 (Twilio's <Dial timeout> range)")
        self._front_desk = FrontDesk.parse(front_desk)
        self._public_base_url = absolute_base_url(public_base_url)
        self._ring_seconds = ring_seconds
        self._timeout = request_timeout
        self._has_credentials = bool(account_sid and auth_token)
        self._client = Client(
            account_sid,
            auth_token,
            http_client=TwilioHttpClient(timeout=request_timeout),
        )
        if api_url:
            self._client.api.base_url = api_url.rstrip("/")
            # The SDK rewrites hostnames for an edge or region (also taken from TWILIO_EDGE /
            # TWILIO_REGION); on a base URL that is not Twilio's that would break the host.
            self._client.edge = None
            self._client.region = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        front_desk: str,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        ring_seconds: int = DEFAULT_RING_SECONDS,
    ) -> TwilioCallControl:
        return cls(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token_value,
            public_base_url=settings.public_base_url,
            front_desk=front_desk,
            api_url=settings.twilio_api_url,
            request_timeout=request_timeout,
            ring_seconds=ring_seconds,
        )

    @property
    def front_desk(self) -> FrontDesk:
        return self._front_desk

    def transfer_twiml(self, handoff_id: str | None, caller_message: str | None = None) -> str:
        """The TwiML :meth:`warm_transfer` sends (exposed for inspection and tests)."""
        return dial_front_desk_twiml(
            self._front_desk,
            public_base_url=self._public_base_url,
            handoff_id=handoff_id,
            caller_message=caller_message,
            ring_seconds=self._ring_seconds,
        )

    async def warm_transfer(
        self, call_sid: str, handoff_id: str | None, *, caller_message: str | None = None
    ) -> bool:
        """Redirect the live call to ring the front desk with a whisper; True once accepted.

        ``caller_message`` is spoken to the caller before the ringing starts.
        """
        document = self.transfer_twiml(handoff_id, caller_message)
        return await self._update("warm_transfer", call_sid, twiml=document)

    async def hangup(self, call_sid: str) -> bool:
        """End the live call; True once Twilio accepted it."""
        return await self._update("hangup", call_sid, status="completed")

    async def _update(self, operation: str, call_sid: str, **params: str) -> bool:
        if not _CALL_SID.fullmatch(call_sid):
            log.warning("twilio_call_update_skipped", operation=operation, error="bad_call_sid")
            return False
        if not self._has_credentials:
            log.warning("twilio_call_update_skipped", operation=operation, error="no_credentials")
            return False
        update = self._client.calls(call_sid).update  # builds a path, no I/O yet
        try:
            await asyncio.wait_for(
                asyncio.to_thread(update, **params),
                timeout=self._timeout + _DEADLINE_GRACE_SECONDS,
            )
        except TwilioRestException as exc:
            log.warning(
                "twilio_call_update_failed",
                operation=operation,
                call_sid=call_sid,
                error="TwilioRestException",
                http_status=exc.status,
                twilio_code=exc.code,
            )
            return False
        # ValueError: a reply that is not the JSON Twilio sends.
        except (TimeoutError, requests.RequestException, TwilioException, ValueError) as exc:
            log.warning(
                "twilio_call_update_failed",
                operation=operation,
                call_sid=call_sid,
                error=type(exc).__name__,
            )
            return False
        log.info("twilio_call_updated", operation=operation, call_sid=call_sid)
        return True
