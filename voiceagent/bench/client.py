"""A light scripted caller for load: Twilio's side of one call, timed, with nothing heavy
on its hot path.

Unlike :class:`voiceagent.simulate.caller.SimulatedCaller` it never decodes, transcribes or
synthesizes during the call: its lines are ready-made payloads (:mod:`voiceagent.bench.voice`),
incoming agent audio is only counted and timed, and turns follow the agent's marks and
silences (see :mod:`voiceagent.bench.scenarios`). So many calls fit in one client process
without taking the CPU the server needs.

Times are ``time.monotonic()`` (one clock for every process on the machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from telephony.twilio.signature import SIGNATURE_HEADER, SignatureChecker
from voiceagent.bench.scenarios import BargeIn, BenchScenario, Hangup, Listen, Noise, Pause, Say
from voiceagent.bench.voice import CallerVoice, Clip

FRAME_S = 0.02
QUIET_S = 0.6  # no agent audio this long after a mark: the agent has finished its turn
CLEAR_WAIT_S = 2.0  # after a barge-in line ends, how long a `clear` may still take
HANGUP_WAIT_S = 5.0  # after the script, how long the agent may take to hang up itself
_MEDIA_PREFIX = '{"event": "media"'  # the server's own formatting (telephony.twilio.protocol)


class CallFailed(Exception):
    """The call did not go as scripted (reported as an error, never raised past the run)."""


@dataclass
class Turn:
    """One caller line and what the agent did about it."""

    kind: Literal["say", "barge_in"]
    step: int
    speech_started_at: float = 0.0  # first voiced frame sent
    speech_ended_at: float = 0.0  # last voiced frame sent
    responded_at: float | None = None  # first agent frame after the line
    clear_at: float | None = None  # barge-in only

    @property
    def response_gap_ms(self) -> float | None:
        if self.responded_at is None:
            return None
        return (self.responded_at - self.speech_ended_at) * 1000

    @property
    def barge_in_ms(self) -> float | None:
        if self.clear_at is None or self.kind != "barge_in":
            return None
        return (self.clear_at - self.speech_started_at) * 1000


@dataclass
class CallResult:
    call_sid: str
    scenario: str
    started_at: float = 0.0  # `start` sent
    ended_at: float = 0.0
    greeting_ms: float | None = None
    turns: list[Turn] = field(default_factory=list)
    frames_received: int = 0
    late_frames: int = 0
    prompts: int = 0
    clears: int = 0
    false_clears: int = 0  # `clear` while the caller made only noise or kept quiet
    overlap_clears: int = 0  # `clear` while the caller said a line it thought was its turn
    noises: int = 0
    sentence_stalls_ms: list[float] = field(default_factory=list)
    late_events: list[tuple[float, float]] = field(default_factory=list)  # (previous, late)
    send_late_max_ms: float = 0.0  # our own pacing (a busy client shows here)
    closed_by_server: bool = False
    error: str | None = None
    # Filled in from the server's database after the run.
    intent: str | None = None
    outcome: str | None = None
    verified: bool | None = None
    outcome_ok: bool | None = None
    server_gaps_ms: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.outcome_ok is not False


@dataclass
class CallTarget:
    """Where calls go: the server's base URL and the Twilio account it trusts."""

    url: str
    auth_token: str
    account_sid: str
    clinic_number: str = "+15557654321"


@dataclass
class _Out:
    payload: str
    marker: Literal["first", "last", "both", "end", ""] = ""
    done: asyncio.Future[None] | None = None


class BenchCall:
    """One call through the real webhook and websocket, scripted by a :class:`BenchScenario`."""

    def __init__(
        self,
        target: CallTarget,
        scenario: BenchScenario,
        voice: CallerVoice,
        http: httpx.AsyncClient,
        *,
        quiet_s: float = QUIET_S,
    ) -> None:
        self._target = target
        self._scenario = scenario
        self._voice = voice
        self._http = http
        self._quiet_s = quiet_s
        self._signer = SignatureChecker(target.auth_token, target.url.rstrip("/"))
        self.result = CallResult(call_sid="CA" + secrets.token_hex(16), scenario=scenario.name)
        self._stream_sid = "MZ" + secrets.token_hex(16)
        self._ws: ClientConnection | None = None
        self._out: deque[_Out] = deque()
        self._background = voice.background(scenario.caller.noise_dbfs)
        self._closed = asyncio.Event()
        self._stop_sent = False
        self._sequence = 0
        # Agent audio as our "speaker" plays it.
        self._in_prompt = False
        self._play_end = 0.0
        self._last_agent_frame = 0.0
        self._last_mark_at: float | None = None
        self._agent_turn_started: float | None = None
        self._responded = asyncio.Event()  # the greeting, then each answer
        self._awaiting: Turn | None = None
        self._barging: Turn | None = None
        self._pending_speech: Turn | None = None
        self._playing: str | None = None  # what the caller is sending: say, barge_in, noise

    # --- the call ---------------------------------------------------------------------------
    async def run(self, timeout_s: float = 300.0) -> CallResult:
        result = self.result
        try:
            await asyncio.wait_for(self._call(), timeout_s)
        except TimeoutError:
            result.error = f"call exceeded {timeout_s:.0f} s"
        except CallFailed as exc:
            result.error = str(exc)
        except (OSError, ConnectionClosed, InvalidStatus, httpx.HTTPError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        result.ended_at = time.monotonic()
        return result

    async def _call(self) -> None:
        stream_url, token = await self._webhook()
        headers = {SIGNATURE_HEADER: self._signer.sign(stream_url, {})}
        async with connect(stream_url, additional_headers=headers, max_size=2**20) as ws:
            self._ws = ws
            await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            await self._send(self._start_message(token))
            self.result.started_at = time.monotonic()
            tasks = [asyncio.create_task(self._sender()), asyncio.create_task(self._receiver())]
            try:
                await self._steps()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closed.wait(), HANGUP_WAIT_S)
            finally:
                if not self._closed.is_set():
                    await self._hang_up()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _webhook(self) -> tuple[str, str]:
        url = f"{self._target.url.rstrip('/')}/twilio/voice"
        form = {
            "CallSid": self.result.call_sid,
            "AccountSid": self._target.account_sid,
            "From": self._scenario.caller.from_,
            "To": self._target.clinic_number,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        headers = {SIGNATURE_HEADER: self._signer.sign(url, form)}
        response = await self._http.post(url, data=form, headers=headers)
        if response.status_code != 200:
            raise CallFailed(f"voice webhook answered {response.status_code}")
        root = ET.fromstring(response.text)  # noqa: S314 - our own server's TwiML
        stream = root.find("Connect/Stream")
        if stream is None:
            raise CallFailed("TwiML has no <Connect><Stream>")
        params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
        return stream.get("url", ""), params.get("token") or ""

    def _start_message(self, token: str) -> dict[str, object]:
        return {
            "event": "start",
            "start": {
                "streamSid": self._stream_sid,
                "accountSid": self._target.account_sid,
                "callSid": self.result.call_sid,
                "tracks": ["inbound"],
                "customParameters": {"token": token},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }

    async def _send(self, message: dict[str, object]) -> None:
        self._sequence += 1
        message["sequenceNumber"] = str(self._sequence)
        if message.get("event") != "connected":
            message["streamSid"] = self._stream_sid
        await self._send_raw(json.dumps(message))

    async def _send_raw(self, text: str) -> None:
        assert self._ws is not None
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(text)

    async def _hang_up(self) -> None:
        self._stop_sent = True
        await self._send({"event": "stop", "stop": {"callSid": self.result.call_sid}})
        self._closed.set()
        assert self._ws is not None
        await self._ws.close()

    # --- audio out: a frame every 20 ms, speech or background ---------------------------------
    async def _sender(self) -> None:
        chunk = 0
        background = self._background
        next_at = time.monotonic()
        prefix = '{"event": "media", "streamSid": "' + self._stream_sid + '", "sequenceNumber": "'
        while not self._closed.is_set():
            item = self._out.popleft() if self._out else None
            payload = item.payload if item else background[chunk % len(background)]
            chunk += 1
            self._sequence += 1
            await self._send_raw(
                f'{prefix}{self._sequence}", "media": {{"track": "inbound", "chunk": "{chunk}", '
                f'"timestamp": "{chunk * 20}", "payload": "{payload}"}}}}'
            )
            now = time.monotonic()
            late_ms = (now - next_at) * 1000
            if late_ms > self.result.send_late_max_ms:
                self.result.send_late_max_ms = late_ms
            if item is not None and item.marker:
                self._on_marker(item, now)
            next_at += FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    def _on_marker(self, item: _Out, now: float) -> None:
        turn = self._pending_speech
        if turn is not None and item.marker in ("first", "both"):
            turn.speech_started_at = now
        if turn is not None and item.marker in ("last", "both"):
            turn.speech_ended_at = now
            self._awaiting = turn  # the agent's next audio answers this line
            self._responded = asyncio.Event()
        if item.done is not None and not item.done.done():
            item.done.set_result(None)

    async def _play(self, clip: Clip, turn: Turn | None = None) -> None:
        """Queue ``clip`` and wait until its last frame has gone out."""
        self._pending_speech = turn
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        last = len(clip.payloads) - 1
        for index, payload in enumerate(clip.payloads):
            marker: Literal["first", "last", "both", "end", ""] = ""
            if turn is not None and index == clip.first_voiced:
                marker = "both" if index == clip.last_voiced else "first"
            elif turn is not None and index == clip.last_voiced:
                marker = "last"
            elif index == last:
                marker = "end"
            self._out.append(_Out(payload, marker, done if index == last else None))
        self._playing = turn.kind if turn is not None else "noise"
        try:
            await self._until(done, 60.0, "the caller's line to go out")
        finally:
            self._playing = None

    # --- audio in: counted and timed, never decoded -----------------------------------------
    async def _receiver(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                now = time.monotonic()
                if isinstance(raw, str) and raw.startswith(_MEDIA_PREFIX):
                    self._on_agent_frame(now)
                    continue
                message = json.loads(raw)
                event = message.get("event")
                if event == "media":
                    self._on_agent_frame(now)
                elif event == "mark":
                    self._on_mark(str(message["mark"]["name"]), now)
                elif event == "clear":
                    self._on_clear(now)
        except ConnectionClosed:
            pass
        finally:
            if not self._stop_sent:
                self.result.closed_by_server = True
            self._closed.set()

    def _on_agent_frame(self, now: float) -> None:
        result = self.result
        result.frames_received += 1
        if not self._in_prompt:
            self._in_prompt = True
            result.prompts += 1
            if result.greeting_ms is None:
                result.greeting_ms = (now - result.started_at) * 1000
                self._start_agent_turn(now)
            elif self._awaiting is not None:
                self._awaiting.responded_at = now
                self._awaiting = None
                self._start_agent_turn(now)
            elif self._last_mark_at is not None and now - self._play_end < 5.0:
                # The next sentence of the same answer: did it keep the caller waiting?
                stall = (now - self._play_end) * 1000
                if stall > FRAME_S * 1000:
                    result.sentence_stalls_ms.append(stall)
            if self._agent_turn_started is None or now > self._play_end + self._quiet_s:
                self._agent_turn_started = now  # the agent spoke up by itself (a reprompt)
        elif now > self._play_end + FRAME_S:
            result.late_frames += 1  # our speaker ran dry inside a prompt
            result.late_events.append((self._last_agent_frame, now))
        self._play_end = max(self._play_end, now) + FRAME_S
        self._last_agent_frame = now

    def _start_agent_turn(self, now: float) -> None:
        self._agent_turn_started = now
        self._responded.set()

    def _on_mark(self, name: str, now: float) -> None:
        self._in_prompt = False
        self._last_mark_at = now
        # Twilio echoes a mark when playback reaches it.
        delay = max(0.0, self._play_end - now)
        message = {"event": "mark", "mark": {"name": name}}
        asyncio.get_running_loop().call_later(
            delay, lambda: asyncio.ensure_future(self._send(dict(message)))
        )

    def _on_clear(self, now: float) -> None:
        self.result.clears += 1
        self._play_end = now
        self._in_prompt = False
        if self._barging is not None and self._barging.clear_at is None:
            self._barging.clear_at = now
        elif self._playing == "say":
            self.result.overlap_clears += 1
        else:
            self.result.false_clears += 1

    # --- the script ---------------------------------------------------------------------------
    async def _steps(self) -> None:
        caller = self._scenario.caller
        for index, step in enumerate(self._scenario.steps):
            if self._closed.is_set():
                raise CallFailed(f"the call ended before step {index + 1} ({_kind(step)})")
            if isinstance(step, Listen):
                await self._listen(step.listen, index)
            elif isinstance(step, Say):
                clip = self._voice.line(step.say, step.speed or caller.speed, caller.noise_dbfs)
                turn = Turn("say", index)
                self.result.turns.append(turn)
                await self._play(clip, turn)
            elif isinstance(step, BargeIn):
                await self._barge_in(step, index)
            elif isinstance(step, Noise):
                await self._agent_talking_for(step.after, index)
                self.result.noises += 1
                await self._play(self._voice.sound(step.noise, caller.noise_dbfs))
            elif isinstance(step, Pause):
                await asyncio.sleep(step.pause)
            elif isinstance(step, Hangup):
                await self._hang_up()
                return

    async def _listen(self, timeout_s: float, index: int) -> None:
        """The agent answers (or greets), then finishes: mark, played out, quiet."""
        deadline = time.monotonic() + timeout_s
        try:
            await asyncio.wait_for(self._responded.wait(), timeout_s)
        except TimeoutError:
            if self._closed.is_set():
                raise CallFailed(f"the server ended the call at step {index + 1}") from None
            raise CallFailed(f"no answer within {timeout_s:.0f} s at step {index + 1}") from None
        while not self._closed.is_set():
            now = time.monotonic()
            if (
                not self._in_prompt
                and now >= self._play_end
                and now - self._last_agent_frame >= self._quiet_s
            ):
                return
            if now > deadline + 60:
                raise CallFailed(f"the agent kept talking at step {index + 1}")
            await asyncio.sleep(FRAME_S)

    async def _agent_talking_for(self, seconds: float, index: int) -> None:
        deadline = time.monotonic() + 30.0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._responded.wait(), 30.0)
        while time.monotonic() < deadline and not self._closed.is_set():
            now = time.monotonic()
            talking = self._in_prompt or now < self._play_end
            started = self._agent_turn_started
            if talking and started is not None and now - started >= seconds:
                return
            await asyncio.sleep(0.01)
        raise CallFailed(f"the agent did not talk for {seconds} s at step {index + 1}")

    async def _barge_in(self, step: BargeIn, index: int) -> None:
        await self._agent_talking_for(step.after, index)
        clip = self._voice.line(step.barge_in, 1.0, self._scenario.caller.noise_dbfs)
        turn = Turn("barge_in", index)
        self.result.turns.append(turn)
        self._barging = turn
        try:
            await self._play(clip, turn)
            deadline = time.monotonic() + CLEAR_WAIT_S
            while turn.clear_at is None and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            self._barging = None
        if turn.clear_at is None:
            raise CallFailed(f"talking over the agent did not stop it at step {index + 1}")

    async def _until(self, future: asyncio.Future[None], timeout_s: float, what: str) -> None:
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({future, closed}, timeout=timeout_s, return_when="FIRST_COMPLETED")
        finally:
            closed.cancel()
        if not future.done():
            if self._closed.is_set():
                raise CallFailed(f"the call ended while waiting for {what}")
            raise CallFailed(f"timed out waiting for {what}")


def _kind(step: object) -> str:
    return type(step).__name__.lower()
