"""TwiML documents, built with the twilio SDK (never by string concatenation)."""

from __future__ import annotations

from twilio.twiml.voice_response import Connect, Stream, VoiceResponse

STREAM_TOKEN_PARAMETER = "token"  # noqa: S105 - a parameter name, not a secret


def connect_stream(stream_url: str, token: str, disclosure: str | None) -> str:
    """Speak the disclosure, then open a bidirectional media stream.

    Twilio drops query strings from stream URLs, so the per-call token travels as a
    <Parameter> and comes back in the ``start`` message's customParameters.
    """
    response = VoiceResponse()
    if disclosure:
        response.say(disclosure)
    connect = Connect()
    stream = Stream(url=stream_url)
    stream.parameter(name=STREAM_TOKEN_PARAMETER, value=token)
    connect.append(stream)
    response.append(connect)
    return str(response)


def hang_up() -> str:
    """The answer to a webhook for a call that has already ended (a replay)."""
    response = VoiceResponse()
    response.hangup()
    return str(response)


def straight_to_front_desk(message: str, front_desk: str) -> str:
    """While the agent is restarting, a new call rings the front desk directly."""
    response = VoiceResponse()
    response.say(message)
    response.dial(front_desk)
    return str(response)
