// Foley-VAE Studio AudioWorklet: cuts the input into blocks for the server and plays the blocks that come back.
//
// Input side: 128-frame render quanta are copied into a block of `blockSize` frames (channel-planar); a full
// block is posted to the main thread (which sends it on the WebSocket) with its sequence number, the context
// time of its first sample and a "recording" flag. Output side: processed blocks arrive from the main thread and
// go into a ring buffer; playback starts once `prefill` frames are queued, and an underrun plays silence (and
// is counted) instead of glitching on stale data. The round trip per block (sent -> back in this thread) is
// measured here with the context clock, so main-thread jank is included like in real use.
//
// Latency recovery: after a stall (main thread, network, server) the late blocks come back in a burst and would
// all queue up, so the output would stay that much later for the rest of the session (up to the ring's size,
// hundreds of ms). Once RECOVER_S pass without an underrun, the lowest queue level seen in that time, less the
// level a healthy stream dips to (prefill - blockSize), is surplus: it is spliced out one render quantum at a
// time, each a crossfade from the late audio into the audio one quantum further on.
const RECOVER_S = 2.0;

class FoleyStream extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.channels = o.channels || 1;
    this.blockSize = o.blockSize || 1024;
    this.prefill = o.prefill != null ? o.prefill : this.blockSize;
    this.active = false;
    this.recording = false;
    this.seq = 0;
    this.fill = 0;
    this.block = this.newBlock();
    this.blockStart = 0;
    const cap = Math.max(8 * this.blockSize, 16384);
    this.ring = [];
    for (let c = 0; c < this.channels; c++) this.ring.push(new Float32Array(cap));
    this.cap = cap;
    this.readPos = 0;
    this.queued = 0;
    this.playing = false;
    this.underruns = 0;
    this.spliced = 0; // frames spliced out to bring the latency back
    this.spliceLeft = 0; // frames still to splice out
    this.calmFrames = 0; // frames played since the last underrun (or since the window restarted)
    this.minQueued = Infinity; // lowest queue level in the current calm window
    this.sentAt = new Map();
    this.rtts = [];
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  newBlock() {
    return new Float32Array(this.channels * this.blockSize);
  }

  onMessage(m) {
    if (m.type === "out") {
      const sent = this.sentAt.get(m.seq);
      if (sent !== undefined) {
        this.sentAt.delete(m.seq);
        // back in the worklet: the round trip of this block, context clock, ms
        this.rtts.push({ seq: m.seq, rtt: (currentTime - sent) * 1000, queued: this.queued });
        if (this.rtts.length >= 16) {
          this.port.postMessage({ type: "rtt", items: this.rtts, underruns: this.underruns, spliced: this.spliced });
          this.rtts = [];
        }
      }
      this.push(m.data);
    } else if (m.type === "active") {
      this.active = m.on;
      if (!m.on) {
        this.fill = 0;
        this.queued = 0;
        this.playing = false;
        this.sentAt.clear();
        this.restartWindow();
      }
    } else if (m.type === "record") {
      this.recording = m.on;
    } else if (m.type === "prefill") {
      this.prefill = m.frames;
    }
  }

  restartWindow() {
    this.calmFrames = 0;
    this.minQueued = Infinity;
    this.spliceLeft = 0;
  }

  // once calm for RECOVER_S: how many frames of the queue the stream has not needed (whole quanta)
  checkSurplus(frames) {
    if (!this.playing) return;
    this.calmFrames += frames;
    if (this.queued < this.minQueued) this.minQueued = this.queued;
    if (this.calmFrames < RECOVER_S * sampleRate) return;
    const surplus = this.minQueued - Math.max(0, this.prefill - this.blockSize);
    this.restartWindow();
    if (surplus >= frames) this.spliceLeft = surplus - (surplus % frames);
  }

  push(data) {
    const n = data.length / this.channels;
    if (this.queued + n > this.cap) {
      // the server ran ahead (a stall cleared at once): drop the oldest audio rather than grow the delay
      const drop = this.queued + n - this.cap;
      this.readPos = (this.readPos + drop) % this.cap;
      this.queued -= drop;
    }
    let w = (this.readPos + this.queued) % this.cap;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < this.channels; c++) this.ring[c][w] = data[c * n + i];
      w = w + 1 === this.cap ? 0 : w + 1;
    }
    this.queued += n;
  }

  process(inputs, outputs) {
    const input = inputs[0];
    const output = outputs[0];
    const frames = output[0] ? output[0].length : 128;
    if (this.active) {
      // input -> block
      for (let i = 0; i < frames; i++) {
        if (this.fill === 0) this.blockStart = currentTime + i / sampleRate;
        for (let c = 0; c < this.channels; c++) {
          const src = input && input.length ? input[Math.min(c, input.length - 1)] : null;
          this.block[c * this.blockSize + this.fill] = src ? src[i] : 0;
        }
        this.fill++;
        if (this.fill === this.blockSize) {
          const seq = this.seq++;
          this.sentAt.set(seq, currentTime);
          if (this.sentAt.size > 256) this.sentAt.delete(this.sentAt.keys().next().value);
          this.port.postMessage(
            { type: "block", seq, t: this.blockStart * 1000, rec: this.recording, data: this.block },
            [this.block.buffer],
          );
          this.block = this.newBlock();
          this.fill = 0;
        }
      }
    }
    // ring -> output
    if (!this.playing && this.queued >= Math.max(1, this.prefill)) this.playing = true;
    if (this.playing && this.spliceLeft >= frames && this.queued >= 2 * frames) {
      // splice one quantum out: crossfade from the next `frames` queued into the `frames` after them
      for (let i = 0; i < frames; i++) {
        const r = (i + 1) / frames;
        const a = (this.readPos + i) % this.cap;
        const b = (this.readPos + frames + i) % this.cap;
        for (let c = 0; c < output.length; c++) {
          const ch = this.ring[Math.min(c, this.channels - 1)];
          output[c][i] = ch[a] + r * (ch[b] - ch[a]);
        }
      }
      this.readPos = (this.readPos + 2 * frames) % this.cap;
      this.queued -= 2 * frames;
      this.spliceLeft -= frames;
      this.spliced += frames;
      return true;
    }
    for (let i = 0; i < frames; i++) {
      if (this.playing && this.queued > 0) {
        for (let c = 0; c < output.length; c++) output[c][i] = this.ring[Math.min(c, this.channels - 1)][this.readPos];
        this.readPos = this.readPos + 1 === this.cap ? 0 : this.readPos + 1;
        this.queued--;
      } else {
        for (let c = 0; c < output.length; c++) output[c][i] = 0;
        if (this.playing && this.active) {
          this.underruns++;
          this.playing = false; // rebuffer to the prefill level
          this.restartWindow();
        }
      }
    }
    this.checkSurplus(frames);
    return true;
  }
}

registerProcessor("foley-stream", FoleyStream);
