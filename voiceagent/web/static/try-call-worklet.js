// AudioWorklet processors for "Try a call" (loaded by try-call.js with addModule: CSP allows
// only our own script files). Both run on the audio thread at the AudioContext's rate.
"use strict";

// Microphone -> 20 ms frames of 16-bit PCM, posted to the page (which sends them as they are).
class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.frameSamples;
    this.frame = new Int16Array(this.size);
    this.filled = 0;
    this.energy = 0;
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) { return true; }
    for (let i = 0; i < input.length; i++) {
      const s = Math.max(-1, Math.min(1, input[i]));
      this.energy += s * s;
      this.frame[this.filled++] = s < 0 ? s * 32768 : s * 32767;
      if (this.filled === this.size) {
        const level = Math.min(1, Math.sqrt(this.energy / this.size) * 4);
        this.port.postMessage({ pcm: this.frame.buffer, level: level }, [this.frame.buffer]);
        this.frame = new Int16Array(this.size);
        this.filled = 0;
        this.energy = 0;
      }
    }
    return true;
  }
}

// The agent's voice: a queue of PCM chunks and marks. A mark is reported once everything
// queued before it has been played; "clear" drops what is queued (and its marks).
class Pcm16Player extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.offset = 0;
    this.port.onmessage = (event) => {
      const message = event.data;
      if (message.type === "audio") {
        const pcm = new Int16Array(message.pcm);
        const samples = new Float32Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) { samples[i] = pcm[i] / 32768; }
        this.queue.push(samples);
      } else if (message.type === "mark") {
        this.queue.push({ mark: message.name });
      } else if (message.type === "clear") {
        this.queue = [];
        this.offset = 0;
      }
    };
  }

  reportMarks() {
    while (this.queue.length && this.queue[0].mark !== undefined) {
      this.port.postMessage({ played: this.queue.shift().mark });
    }
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    let written = 0;
    this.reportMarks();
    while (written < out.length && this.queue.length) {
      const head = this.queue[0];
      const n = Math.min(out.length - written, head.length - this.offset);
      out.set(head.subarray(this.offset, this.offset + n), written);
      written += n;
      this.offset += n;
      if (this.offset === head.length) {
        this.queue.shift();
        this.offset = 0;
        this.reportMarks();
      }
    }
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
registerProcessor("pcm16-player", Pcm16Player);
