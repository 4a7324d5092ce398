"""A scripted caller that plays Twilio's part of a call, over real HTTP and a real websocket.

It posts the signed voice webhook, follows the TwiML to the media stream, sends 20 ms
mu-law frames in real time (silence or background noise between its lines), plays the
agent's audio out against its own clock (echoing marks when playback reaches them, as
Twilio does), transcribes what the agent said, and times every turn.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np
from rapidfuzz import fuzz
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from telephony.twilio.signature import SIGNATURE_HEADER, SignatureChecker
from voiceagent.runtime import SpeechServices
from voiceagent.simulate import sounds
from voiceagent.simulate.scenario import (
    BargeIn,
    Dtmf,
    ExpectEnd,
    ExpectNoClear,
    Hangup,
    Inject,
    Noise,
    Pause,
    Say,
    Scenario,
    WaitFor,
)
from voiceagent.speech.codec import ulaw_decode, ulaw_encode

FRAME_SECONDS = 0.02
QUIET_AFTER_SECONDS = 0.5  # no agent audio for this long (and playback done) means quiet


class ScenarioFailed(AssertionError):
    """The agent did not do what the scenario expected."""


@dataclass
class AgentPrompt:
    """Agent audio between two marks (one sentence, as the server sends them)."""

    started_at: float
    frames: list[np.ndarray] = field(default_factory=list)
    mark: str | None = None
    cut_short: bool = False
    text: str | None = None
    transcribed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class TurnTiming:
    caller_text: str
    speech_ended_at: float
    response_gap_ms: int | None = None


@dataclass
class CallReport:
    call_sid: str
    disclosure: str | None = None
    stream_url: str | None = None
    greeting_ms: int | None = None
    lines: list[tuple[float, str, str]] = field(default_factory=list)
    turns: list[TurnTiming] = field(default_factory=list)
    clears: list[float] = field(default_factory=list)
    barge_in_ms: list[int] = field(default_factory=list)
    prompts: list[AgentPrompt] = field(default_factory=list)
    frames_received: int = 0
    late_frames: int = 0
    close_code: int | None = None
    webhook_status: int | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def agent_text(self) -> str:
        return " ".join(p.text or "" for p in self.prompts).strip()


@dataclass(frozen=True)
class _OutFrame:
    pcm: np.ndarray
    voiced: bool


class SimulatedCaller:
    def __init__(
        self,
        base_url: str,
        *,
        auth_token: str,
        account_sid: str,
        speech: SpeechServices,
        clinic_number: str = "+15557654321",
        transcribe_agent: bool = True,
        echo: Callable[[str], None] | None = None,
        seed: int | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._signer = SignatureChecker(auth_token, self._base)
        self._account_sid = account_sid
        self._speech = speech
        self._clinic_number = clinic_number
        self._transcribe_agent = transcribe_agent
        self._echo = echo
        self._rng = np.random.default_rng(seed)

    # --- the whole call -----------------------------------------------------------------
    async def run(self, scenario: Scenario, call_sid: str | None = None) -> CallReport:
        call_sid = call_sid or "CA" + secrets.token_hex(16)
        report = CallReport(call_sid=call_sid)
        self._report = report
        twiml = await self._post_voice_webhook(scenario, call_sid)
        if twiml is None:
            return report
        stream_url, token = self._parse_twiml(twiml)
        headers = {SIGNATURE_HEADER: self._signer.sign(stream_url, {})}
        async with connect(stream_url, additional_headers=headers, max_size=2**20) as ws:
            call = _LiveCall(self, ws, report, scenario, token)
            await call.run()
        return report

    async def _post_voice_webhook(self, scenario: Scenario, call_sid: str) -> str | None:
        url = f"{self._base}/twilio/voice"
        form = {
            "CallSid": call_sid,
            "AccountSid": self._account_sid,
            "From": scenario.caller.from_,
            "To": scenario.caller.to or self._clinic_number,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        headers = {SIGNATURE_HEADER: self._signer.sign(url, form)}
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(url, data=form, headers=headers)
        self._report.webhook_status = response.status_code
        if response.status_code != 200:
            self.say_line("system", f"voice webhook answered {response.status_code}")
            return None
        return response.text

    def _parse_twiml(self, document: str) -> tuple[str, str]:
        root = ET.fromstring(document)  # noqa: S314 - our own server's TwiML, in tests
        say = root.find("Say")
        if say is not None and say.text:
            self._report.disclosure = say.text
            self.say_line("twilio", f"<Say> {say.text}")
        stream = root.find("Connect/Stream")
        if stream is None:
            raise ScenarioFailed("TwiML has no <Connect><Stream>")
        params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
        self._report.stream_url = stream.get("url")
        return stream.get("url", ""), params.get("token") or ""

    def say_line(self, speaker: str, text: str) -> None:
        at = time.monotonic() - self._report.started_at
        self._report.lines.append((at, speaker, text))
        if self._echo is not None:
            self._echo(f"[{at:6.2f}s] {speaker.upper():>7}: {text}")


class _LiveCall:
    """One media stream from `connected` to `stop`."""

    def __init__(
        self,
        caller: SimulatedCaller,
        ws: ClientConnection,
        report: CallReport,
        scenario: Scenario,
        token: str,
    ) -> None:
        self._caller = caller
        self._ws = ws
        self._report = report
        self._scenario = scenario
        self._token = token
        self._stream_sid = "MZ" + secrets.token_hex(16)
        self._sequence = 0
        self._chunk = 0
        self._outgoing: deque[_OutFrame] = deque()
        self._last_voiced_sent = 0.0
        self._first_voiced_sent: float | None = None
        self._play_end = 0.0  # when our "speaker" finishes what the agent sent
        self._last_agent_frame = 0.0
        self._current: AgentPrompt | None = None
        self._awaiting_response: TurnTiming | None = None
        self._closed = asyncio.Event()
        self._start_sent_at = 0.0
        self._next_prompt_index = 0  # prompts before this were consumed by a wait_for
        self._noise_dbfs = scenario.caller.noise_dbfs
        self._transcriptions: set[asyncio.Task[None]] = set()

    # --- protocol out -------------------------------------------------------------------
    async def _send(self, message: dict[str, object]) -> None:
        self._sequence += 1
        message["sequenceNumber"] = str(self._sequence)
        if message.get("event") != "connected":
            message["streamSid"] = self._stream_sid
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps(message))

    async def run(self) -> None:
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        self._start_sent_at = time.monotonic()
        await self._send(
            {
                "event": "start",
                "start": {
                    "streamSid": self._stream_sid,
                    "accountSid": self._caller._account_sid,
                    "callSid": self._report.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": {"token": self._token},
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )
        tasks = [asyncio.create_task(self._send_audio()), asyncio.create_task(self._receive())]
        try:
            await self._run_steps()
        finally:
            if not self._closed.is_set():
                await self._send({"event": "stop", "stop": {"callSid": self._report.call_sid}})
                await self._ws.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*self._transcriptions, return_exceptions=True)

    async def _send_audio(self) -> None:
        """Twilio sends media continuously, speech or not, every 20 ms."""
        next_at = time.monotonic()
        silence = np.zeros(sounds.FRAME, dtype=np.float32)
        while not self._closed.is_set():
            frame = self._outgoing.popleft() if self._outgoing else None
            pcm = frame.pcm.astype(np.float32) if frame else silence
            if self._noise_dbfs is not None:
                pcm = pcm + sounds.background_noise(sounds.FRAME, self._noise_dbfs, self._rng)
            self._chunk += 1
            payload = ulaw_encode(np.clip(pcm, -32768, 32767).astype(np.int16))
            await self._send(
                {
                    "event": "media",
                    "media": {
                        "track": "inbound",
                        "chunk": str(self._chunk),
                        "timestamp": str(self._chunk * 20),
                        "payload": _b64(payload),
                    },
                }
            )
            if frame is not None and frame.voiced:
                now = time.monotonic()
                self._last_voiced_sent = now
                if self._first_voiced_sent is None:
                    self._first_voiced_sent = now
            next_at += FRAME_SECONDS
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    @property
    def _rng(self) -> np.random.Generator:
        return self._caller._rng

    # --- protocol in --------------------------------------------------------------------
    async def _receive(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                event = message.get("event")
                if event == "media":
                    self._on_agent_frame(ulaw_decode(_unb64(message["media"]["payload"])))
                elif event == "mark":
                    self._on_mark(message["mark"]["name"])
                elif event == "clear":
                    self._on_clear()
        except ConnectionClosed as closed:
            self._report.close_code = closed.rcvd.code if closed.rcvd else None
        finally:
            self._report.close_code = self._report.close_code or (
                self._ws.close_code if self._ws.close_code is not None else None
            )
            self._closed.set()

    def _on_agent_frame(self, pcm: np.ndarray) -> None:
        now = time.monotonic()
        report = self._report
        report.frames_received += 1
        if self._current is None:
            self._current = AgentPrompt(started_at=now)
            report.prompts.append(self._current)
            if report.greeting_ms is None:
                report.greeting_ms = int((now - self._start_sent_at) * 1000)
            if self._awaiting_response is not None:
                turn = self._awaiting_response
                turn.response_gap_ms = int((now - turn.speech_ended_at) * 1000)
                self._awaiting_response = None
                self._caller.say_line("timing", f"response gap {turn.response_gap_ms} ms")
        elif now > self._play_end + FRAME_SECONDS:
            report.late_frames += 1  # our speaker ran dry inside a prompt
        self._current.frames.append(pcm)
        self._play_end = max(self._play_end, now) + FRAME_SECONDS
        self._last_agent_frame = now

    def _on_mark(self, name: str) -> None:
        prompt = self._current
        if prompt is not None:
            prompt.mark = name
            self._current = None
            self._transcribe(prompt)
        # Twilio echoes a mark when playback reaches it.
        delay = max(0.0, self._play_end - time.monotonic())
        asyncio.get_running_loop().call_later(
            delay,
            lambda: asyncio.ensure_future(self._send({"event": "mark", "mark": {"name": name}})),
        )

    def _on_clear(self) -> None:
        now = time.monotonic()
        self._report.clears.append(now)
        self._play_end = now
        if self._first_voiced_sent is not None and self._barging_in:
            latency = int((now - self._first_voiced_sent) * 1000)
            self._report.barge_in_ms.append(latency)
            self._caller.say_line("timing", f"clear {latency} ms after the caller started")
        if self._current is not None:
            self._current.cut_short = True
            self._transcribe(self._current)
            self._current = None

    _barging_in = False

    def _transcribe(self, prompt: AgentPrompt) -> None:
        if not self._caller._transcribe_agent or not prompt.frames:
            prompt.transcribed.set()
            return

        async def work() -> None:
            speech = self._caller._speech
            audio = np.concatenate(prompt.frames)
            result = await speech.pool.run(speech.recognizer.transcribe, audio, 8000)
            prompt.text = result.text.strip()
            suffix = " [cut short]" if prompt.cut_short else ""
            self._caller.say_line("agent", f"{prompt.text}{suffix}")
            prompt.transcribed.set()

        task = asyncio.create_task(work())
        self._transcriptions.add(task)
        task.add_done_callback(self._transcriptions.discard)

    # --- steps --------------------------------------------------------------------------
    async def _run_steps(self) -> None:
        for step in self._scenario.steps:
            if self._closed.is_set() and not isinstance(step, Hangup | ExpectEnd):
                raise ScenarioFailed(f"the call ended before step {step!r}")
            match step:
                case WaitFor():
                    await self._wait_for(step)
                case Say():
                    await self._say(step.say, step.speed or self._scenario.caller.speed)
                case Dtmf():
                    await self._dtmf(step)
                case Pause():
                    await asyncio.sleep(step.pause)
                case BargeIn():
                    await self._barge_in(step)
                case Noise():
                    await self._noise(step)
                case ExpectNoClear():
                    await self._expect_no_clear(step.expect_no_clear)
                case Inject():
                    await self._inject(step)
                case Hangup():
                    await self._hangup()
                    return
                case ExpectEnd():
                    await self._expect_end(step.expect_end)
                    return

    async def _wait_for(self, step: WaitFor) -> None:
        deadline = time.monotonic() + step.timeout
        while True:
            prompts = self._report.prompts[self._next_prompt_index :]
            for prompt in prompts:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        prompt.transcribed.wait(), max(0.0, deadline - time.monotonic())
                    )
            heard = " ".join(p.text or "" for p in prompts if p.transcribed.is_set())
            if heard_as(step.wait_for, _normalise(heard)):
                self._next_prompt_index = len(self._report.prompts)
                break
            if time.monotonic() > deadline or self._closed.is_set():
                raise ScenarioFailed(
                    f"waited {step.timeout:.0f}s for the agent to say /{step.wait_for}/; "
                    f"it said: {heard!r}"
                )
            await asyncio.sleep(0.05)
        if step.until_quiet:
            await self._until_quiet(deadline)

    async def _until_quiet(self, deadline: float) -> None:
        while time.monotonic() < deadline and not self._closed.is_set():
            now = time.monotonic()
            if (
                self._current is None
                and now > self._play_end
                and (now - self._last_agent_frame > QUIET_AFTER_SECONDS)
            ):
                return
            await asyncio.sleep(0.02)

    async def _speak(self, pcm: np.ndarray) -> None:
        """Queue audio behind whatever is being sent and wait until it has all gone out."""
        frames = sounds.to_frames(pcm)
        flags = sounds.voiced_flags(frames)
        self._first_voiced_sent = None
        for frame, voiced in zip(frames, flags, strict=True):
            self._outgoing.append(_OutFrame(frame, voiced))
        while self._outgoing and not self._closed.is_set():
            await asyncio.sleep(FRAME_SECONDS)

    async def _say(self, text: str, speed: float) -> None:
        speech = self._caller._speech
        pcm = await speech.pool.run(sounds.speech, speech.synthesizer, text, speed)
        self._caller.say_line("caller", text)
        await self._speak(pcm)
        turn = TurnTiming(caller_text=text, speech_ended_at=self._last_voiced_sent)
        self._report.turns.append(turn)
        self._awaiting_response = turn

    async def _dtmf(self, step: Dtmf) -> None:
        self._caller.say_line("caller", f"(presses {step.dtmf})")
        for digit in step.dtmf:
            await self._send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": digit}})
            await asyncio.sleep(step.gap)
        turn = TurnTiming(caller_text=f"DTMF {step.dtmf}", speech_ended_at=time.monotonic())
        self._report.turns.append(turn)
        self._awaiting_response = turn

    async def _agent_talking_for(self, seconds: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._closed.is_set():
            current = self._current
            if current is not None and time.monotonic() - current.started_at >= seconds:
                return
            await asyncio.sleep(0.01)
        raise ScenarioFailed(f"the agent did not talk for {seconds}s to be interrupted")

    async def _barge_in(self, step: BargeIn) -> None:
        await self._agent_talking_for(step.after, step.timeout)
        speech = self._caller._speech
        pcm = await speech.pool.run(sounds.speech, speech.synthesizer, step.barge_in, 1.0)
        clears_before = len(self._report.clears)
        self._caller.say_line("caller", f"{step.barge_in} (talking over the agent)")
        self._barging_in = True
        try:
            await self._speak(pcm)
            deadline = time.monotonic() + 2.0
            while len(self._report.clears) == clears_before and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            self._barging_in = False
        turn = TurnTiming(caller_text=step.barge_in, speech_ended_at=self._last_voiced_sent)
        self._report.turns.append(turn)
        self._awaiting_response = turn

    async def _noise(self, step: Noise) -> None:
        await self._agent_talking_for(step.after, step.timeout)
        speech = self._caller._speech
        if step.noise == "cough":
            pcm = sounds.cough(self._rng)
        elif step.noise == "click":
            pcm = sounds.click()
        else:
            pcm = await speech.pool.run(sounds.mhm, speech.synthesizer)
        self._caller.say_line("caller", f"({step.noise})")
        await self._speak(pcm)

    async def _expect_no_clear(self, seconds: float) -> None:
        clears_before = len(self._report.clears)
        await asyncio.sleep(seconds)
        if len(self._report.clears) != clears_before:
            raise ScenarioFailed(f"the agent stopped talking (clear) within {seconds}s")

    async def _expect_end(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closed.wait(), seconds)
        except TimeoutError:
            raise ScenarioFailed(f"the agent did not end the call within {seconds:.0f}s") from None

    async def _inject(self, step: Inject) -> None:
        self._caller.say_line("caller", f"(sends a bad message: {step.inject})")
        if step.inject == "malformed_json":
            raw = '{"event": "media", "media": {"payload": '
        elif step.inject == "unknown_event":
            raw = json.dumps({"event": "party", "streamSid": self._stream_sid})
        elif step.inject == "bad_base64":
            raw = json.dumps({"event": "media", "media": {"payload": "%%%not base64%%%"}})
        elif step.inject == "oversized":
            padding = "A" * (80 * 1024)
            raw = json.dumps({"event": "media", "media": {"payload": padding}})
        elif step.inject == "invalid_fields":
            raw = json.dumps({"event": "mark", "mark": {"title": "no name"}})
        else:  # second_start: a replayed start must not open a second session
            raw = json.dumps(
                {
                    "event": "start",
                    "start": {
                        "streamSid": "MZx",
                        "accountSid": "ACx",
                        "callSid": "CAx",
                        "customParameters": {},
                    },
                }
            )
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(raw)

    async def _hangup(self) -> None:
        self._caller.say_line("caller", "(hangs up)")
        await self._send({"event": "stop", "stop": {"callSid": self._report.call_sid}})
        self._closed.set()
        await self._ws.close()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("’", "'"))


_LITERAL = re.compile(r"[\w\s',.?!-]+")
# rapidfuzz partial ratio: "what day were time" (81) still hears "what day or time".
FUZZY_MATCH = 80


def heard_as(pattern: str, heard: str) -> bool:
    """Whether ``heard`` (an ASR transcript) says what ``pattern`` describes.

    A regular expression match counts; failing that, a pattern made of literal words
    (pieces joined by ``.*``) matches when each piece is found, in order, with small
    differences allowed, as a person listening would.
    """
    if re.search(pattern, heard, re.IGNORECASE):
        return True
    pieces = [piece.strip() for piece in pattern.lower().split(".*")]
    if not all(_LITERAL.fullmatch(piece) for piece in pieces if piece):
        return False
    position = 0
    for piece in filter(None, pieces):
        alignment = fuzz.partial_ratio_alignment(piece, heard[position:])
        if alignment is None or alignment.score < FUZZY_MATCH:
            return False
        position += alignment.dest_end
    return True
