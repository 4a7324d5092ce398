"""TwiML for a warm transfer, built with the twilio SDK (never by string concatenation).

Three documents make one warm transfer:

1. the redirect sent with the REST update of the live call: an optional word to the caller,
   then ``<Dial>`` to the front desk with ``answerOnBridge`` (the caller keeps hearing
   ringing until staff picks up) and an ``action`` URL that learns how the dial ended;
2. the whisper, fetched by Twilio from the ``<Number url=...>`` when staff answers and played
   to staff only, before the caller is bridged;
3. the dial result, served from the ``action`` URL: hang up after a completed conversation,
   otherwise tell the caller before hanging up (the route also records a callback request).

The routes serving (2) and (3) live with the handoff store; they use the paths and the query
parameter named here so that the URLs built into (1) always match them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit

import phonenumbers
from twilio.twiml.voice_response import Dial, VoiceResponse

WHISPER_PATH = "/twilio/transfer/whisper"
RESULT_PATH = "/twilio/transfer/result"
HANDOFF_PARAMETER = "handoff"
DEFAULT_RING_SECONDS = 20

# DialCallStatus values that mean staff and caller talked; anything else means the caller
# was not helped and must hear so (and get a callback), unknown values included.
BRIDGED_STATUSES = frozenset({"completed", "answered"})

_CLIENT_IDENTITY = re.compile(r"[A-Za-z0-9_.@-]{1,121}")

EndpointKind = Literal["number", "sip", "client"]


@dataclass(frozen=True)
class FrontDesk:
    """Where warm transfers ring: a phone number, a SIP URI or a Twilio Client identity."""

    kind: EndpointKind
    address: str  # E.164 number, full ``sip:`` URI, or the bare client identity

    @classmethod
    def parse(cls, value: str) -> FrontDesk:
        """Read the configured form: ``+1555...``, ``sip:desk@pbx.example``, ``client:desk``.

        Raises ValueError on anything else. The message never repeats the value: it is a
        phone number, and exception messages end up in logs.
        """
        text = value.strip()
        lowered = text.lower()
        if lowered.startswith("sip:"):
            if len(text) <= len("sip:") or any(c.isspace() for c in text):
                raise ValueError("front desk SIP URI is malformed")
            return cls("sip", "sip:" + text[len("sip:") :])  # scheme in Twilio's case
        if lowered.startswith("client:"):
            identity = text[len("client:") :]
            if not _CLIENT_IDENTITY.fullmatch(identity):
                raise ValueError("front desk client identity is malformed")
            return cls("client", identity)
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            raise ValueError("front desk number is not in E.164 form (+ and digits)") from None
        if not phonenumbers.is_possible_number(number):
            raise ValueError("front desk number is not a possible phone number")
        return cls(
            "number", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        )


def absolute_base_url(public_base_url: str) -> str:
    """The base URL without a trailing slash; ValueError unless absolute http(s)."""
    parts = urlsplit(public_base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("public base URL must be an absolute http(s) URL")
    return public_base_url.rstrip("/")


def handoff_url(public_base_url: str, path: str, handoff_id: str | None) -> str:
    """An absolute callback URL carrying the handoff id (Twilio signs the query string too)."""
    base = f"{absolute_base_url(public_base_url)}{path}"
    return f"{base}?{urlencode({HANDOFF_PARAMETER: handoff_id})}" if handoff_id else base


def dial_front_desk_twiml(
    front_desk: FrontDesk,
    *,
    public_base_url: str,
    handoff_id: str | None,
    caller_message: str | None = None,
    ring_seconds: int = DEFAULT_RING_SECONDS,
) -> str:
    """The redirect for the live call: optional word to the caller, then ring the front desk.

    Without a handoff id (the summary could not be stored: the database is down) staff are
    rung without a whisper rather than not at all.
    """
    whisper = handoff_url(public_base_url, WHISPER_PATH, handoff_id) if handoff_id else None
    endpoint = {"url": whisper, "method": "POST"} if whisper else {}
    response = VoiceResponse()
    if caller_message:
        response.say(caller_message)
    dial = Dial(
        answer_on_bridge=True,
        timeout=ring_seconds,
        action=handoff_url(public_base_url, RESULT_PATH, handoff_id),
        method="POST",
    )
    if front_desk.kind == "number":
        dial.number(front_desk.address, **endpoint)
    elif front_desk.kind == "sip":
        dial.sip(front_desk.address, **endpoint)
    else:
        dial.client(identity=front_desk.address, **endpoint)
    response.append(dial)
    return str(response)


def whisper_twiml(text: str, *, pause_seconds: int = 1) -> str:
    """What staff hear on pick-up, before the caller is bridged.

    The short pause lets the phone reach the ear so the first words are not lost.
    """
    response = VoiceResponse()
    if pause_seconds > 0:
        response.pause(length=pause_seconds)
    response.say(text)
    return str(response)


def transfer_result_twiml(dial_status: str, message_when_failed: str) -> str:
    """Answer to the ``<Dial action>`` callback, given Twilio's ``DialCallStatus``.

    After a bridged conversation the caller's leg simply ends; on no-answer, busy, failed or
    canceled (or anything unexpected) the caller is told first, so no one is dropped silently.
    """
    response = VoiceResponse()
    if dial_status.strip().lower() not in BRIDGED_STATUSES and message_when_failed:
        response.say(message_when_failed)
    response.hangup()
    return str(response)
