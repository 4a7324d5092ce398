// "Try a call": the admin's microphone to the agent and the agent's voice back, over one
// websocket (see telephony/browser/protocol.py for the messages). No inline scripts (CSP).
(function () {
  "use strict";
  var root = document.querySelector("[data-try-call]");
  if (!root) { return; }
  var startButton = root.querySelector("[data-start]");
  var hangupButton = root.querySelector("[data-hangup]");
  var keys = root.querySelectorAll("[data-dtmf]");
  var status = root.querySelector("[data-status]");
  var level = root.querySelector("[data-level]");
  var heardCount = root.querySelector("[data-heard-count]");
  var callId = root.querySelector("[data-call-id]");
  var transferNotice = root.querySelector("[data-transfer]");
  var ended = root.querySelector("[data-ended]");
  var callLink = root.querySelector("[data-call-link]");
  var csrfMeta = document.querySelector("meta[name=csrf-token]");

  var call = null;  // {ws, ctx, mic, player, heard, framesIn, endedBy}

  var CLOSE_TEXT = {
    "agent hung up": "The assistant ended the call.",
    "transferred": "Call ended: the assistant handed it to the front desk.",
    "caller hung up": "You hung up.",
    "call ended": "The call ended (the server is stopping).",
    "signed out": "You were signed out; the call ended.",
    "sign-in required": "You are signed out. Reload the page and sign in again.",
    "admins only": "Only admins can try calls.",
    "server is restarting": "The server is restarting. Try again in a minute.",
    "unsupported sample rate": "This browser's audio sample rate is not supported."
  };

  function setState(state, text) {
    root.setAttribute("data-state", state);
    status.textContent = text;
    status.className = "live-status " + (state === "live" ? "on" : "off");
  }

  function setControls(live) {
    startButton.disabled = live;
    hangupButton.disabled = !live;
    keys.forEach(function (key) { key.disabled = !live; });
  }

  function send(message) {
    if (call && call.ws.readyState === WebSocket.OPEN) { call.ws.send(JSON.stringify(message)); }
  }

  function stopAudio(current) {
    if (current.mic) { current.mic.getTracks().forEach(function (track) { track.stop(); }); }
    if (current.ctx && current.ctx.state !== "closed") { current.ctx.close(); }
    level.value = 0;
  }

  function onMessage(current, event) {
    if (typeof event.data !== "string") {
      current.framesIn += 1;
      root.setAttribute("data-frames-received", String(current.framesIn));
      current.player.port.postMessage({ type: "audio", pcm: event.data }, [event.data]);
      return;
    }
    var message = JSON.parse(event.data);
    if (message.type === "mark") {
      current.player.port.postMessage({ type: "mark", name: message.name });
    } else if (message.type === "clear") {
      current.player.port.postMessage({ type: "clear" });
    } else if (message.type === "ready") {
      callId.textContent = message.call_sid;
      root.setAttribute("data-call-sid", message.call_sid);
      callLink.href = message.call_url;
      setState("live", "Live: talk to the assistant");
      setControls(true);
    } else if (message.type === "transfer") {
      transferNotice.textContent = message.message;
      transferNotice.hidden = false;
    }
  }

  function onClose(current, event) {
    stopAudio(current);
    if (call === current) { call = null; }
    setControls(false);
    var text = CLOSE_TEXT[event.reason] || (current.started ? "The call ended." : "Could not connect.");
    setState("ended", text);
    ended.hidden = !current.started;
  }

  async function start() {
    setControls(true);
    hangupButton.disabled = true;
    transferNotice.hidden = true;
    ended.hidden = true;
    heardCount.textContent = "0";
    root.setAttribute("data-heard", "0");
    root.setAttribute("data-frames-received", "0");
    setState("connecting", "Asking for the microphone…");
    var current = { heard: 0, framesIn: 0, started: false };
    if (!window.isSecureContext || !navigator.mediaDevices || !window.AudioWorkletNode) {
      // Browsers give pages the microphone only over HTTPS (or on localhost).
      setControls(false);
      setState("ended", "This browser cannot use the microphone here: open the dashboard over HTTPS.");
      return;
    }
    try {
      current.mic = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true }
      });
      try {
        // The phone's own 8 kHz: the browser's resampler converts the microphone and the
        // speaker sample by sample, so the server passes frames straight to the call.
        current.ctx = new AudioContext({ sampleRate: 8000, latencyHint: "interactive" });
      } catch (e) {
        // A browser that refuses 8 kHz: its own rate, which the server converts with soxr.
        current.ctx = new AudioContext({ latencyHint: "interactive" });
      }
      await current.ctx.audioWorklet.addModule(root.getAttribute("data-worklet"));
    } catch (e) {
      if (current.mic || current.ctx) { stopAudio(current); }
      setControls(false);
      setState("ended", "The microphone is not available (" + e.name + ").");
      return;
    }
    var ctx = current.ctx;
    var capture = new AudioWorkletNode(ctx, "pcm16-capture", {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
      processorOptions: { frameSamples: Math.round(ctx.sampleRate / 50) }
    });
    current.player = new AudioWorkletNode(ctx, "pcm16-player", {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1]
    });
    ctx.createMediaStreamSource(current.mic).connect(capture);
    capture.connect(ctx.destination);  // silent: keeps the capture node running
    current.player.connect(ctx.destination);
    if (ctx.state === "suspended") { await ctx.resume(); }

    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + window.location.host + root.getAttribute("data-socket") + "?rate=" + ctx.sampleRate;
    var ws = new WebSocket(url, [root.getAttribute("data-protocol"), "csrf-" + (csrfMeta ? csrfMeta.content : "")]);
    ws.binaryType = "arraybuffer";
    current.ws = ws;
    call = current;
    setState("connecting", "Connecting…");
    ws.addEventListener("message", function (event) {
      if (!current.started && typeof event.data === "string") { current.started = true; }
      onMessage(current, event);
    });
    ws.addEventListener("close", function (event) { onClose(current, event); });
    capture.port.onmessage = function (event) {
      level.value = event.data.level;
      if (ws.readyState === WebSocket.OPEN && current.started) { ws.send(event.data.pcm); }
    };
    current.player.port.onmessage = function (event) {
      if (!event.data.played) { return; }
      current.heard += 1;
      heardCount.textContent = String(current.heard);
      root.setAttribute("data-heard", String(current.heard));
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify({ type: "mark", name: event.data.played }));
      }
    };
  }

  startButton.addEventListener("click", function () { start(); });
  hangupButton.addEventListener("click", function () {
    var current = call;
    if (!current) { return; }
    send({ type: "hangup" });
    hangupButton.disabled = true;
    // The server closes the socket; if it does not answer, close it from here.
    setTimeout(function () { if (current.ws.readyState !== WebSocket.CLOSED) { current.ws.close(1000); } }, 2000);
  });
  keys.forEach(function (key) {
    key.addEventListener("click", function () { send({ type: "dtmf", digit: key.getAttribute("data-dtmf") }); });
  });
})();
