// Foley-VAE Studio page. Plain JS, no dependencies. State the tests read is on window.studio.
"use strict";

const TOKEN = document.querySelector('meta[name="studio-token"]').content;
const $ = (id) => document.getElementById(id);
// This tab's id: the server keeps one model per tab (studio/tabs.py); sessionStorage keeps it across reloads.
const TAB = (() => {
  const fresh = () => "tab-" + Math.random().toString(36).slice(2, 12);
  try {
    const t = sessionStorage.getItem("foleyvae-tab") || fresh();
    sessionStorage.setItem("foleyvae-tab", t);
    return t;
  } catch (e) {
    return fresh();
  }
})();

const studio = {
  model: null,
  samples: [],
  takes: [],
  connected: false,
  running: null, // "sample" | "mic" | null
  stats: null,
  meters: { in: 0, out: 0 },
  outRms: [], // [{t, rms}] from the server's stats
  rtts: [], // round trips measured in the worklet (ms)
  queued: [], // the worklet's output queue (frames) as each block came back: the wait before it plays
  underruns: 0,
  spliced: 0, // frames the worklet spliced out to bring the latency back after stalls
  blocksBack: 0,
  errors: [],
  controls: null,
  lastTake: null,
  latencyMs: null,
};
window.studio = studio;

// ----------------------------------------------------------------------------------------------- http
async function api(path, opts = {}) {
  const headers = Object.assign({ "X-Studio-Token": TOKEN, "X-Studio-Tab": TAB }, opts.headers || {});
  const r = await fetch(path, Object.assign({}, opts, { headers }));
  if (!r.ok) {
    let msg = r.status + " " + r.statusText;
    try {
      msg = (await r.json()).error || msg;
    } catch (e) { /* not json */ }
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return r;
}
const getJSON = async (p) => (await api(p)).json();
const postJSON = async (p, body) =>
  (await api(p, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } })).json();
const url = (p) => p + (p.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);

function showError(msg) {
  studio.errors.push(String(msg));
  const el = $("errors");
  el.textContent = String(msg);
  el.classList.add("show");
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => el.classList.remove("show"), 6000);
}
const guard = (fn) => async (...a) => {
  try {
    return await fn(...a);
  } catch (e) {
    showError(e.message || e);
  }
};

// ------------------------------------------------------------------------------------------ controls
function neutralControls(k) {
  return {
    bias: new Array(k).fill(0),
    scale: new Array(k).fill(1),
    temperature: 0,
    dry_wet: 1,
    input_gain_db: 0,
    freeze: false,
    limiter: true,
    towards: null,
  };
}

function buildControls() {
  const m = studio.model;
  const dims = $("dims");
  dims.innerHTML = "";
  if (!m) return;
  const k = m.latent_size;
  studio.controls = neutralControls(k);
  // a material-conditioned model's last channels are its material weights: the Materials controls set them
  const nMat = (m.material_channels || []).length;
  const shown = Math.min(k - nMat, 16);
  const { bias, scale } = studio.spec; // slider ranges from the control spec
  dims.insertAdjacentHTML(
    "beforeend",
    '<div class="dim dim-head"><span>dim (var.)</span><span>bias (std)</span><span>scale</span></div>',
  );
  for (let d = 0; d < shown; d++) {
    const ev = m.explained && m.explained[d] != null ? ` ${(100 * m.explained[d]).toFixed(1)}%` : "";
    const row = document.createElement("div");
    row.className = "dim";
    row.innerHTML =
      `<span class="dim-label" title="PCA dim ${d}: share of the latent variance">d${d}${ev}</span>` +
      `<input type="range" class="bias" data-dim="${d}" min="${bias.ui_range[0]}" max="${bias.ui_range[1]}" step="${bias.step}" value="${bias.default}" aria-label="bias d${d}" title="bias (${bias.ui_unit})">` +
      `<input type="range" class="scale" data-dim="${d}" min="${scale.ui_range[0]}" max="${scale.ui_range[1]}" step="${scale.step}" value="${scale.default}" aria-label="scale d${d}" title="scale">`;
    dims.appendChild(row);
  }
  if (k - nMat > shown) dims.insertAdjacentHTML("beforeend", `<p class="small">${k - nMat - shown} more dims: neutral</p>`);
  if (nMat) dims.insertAdjacentHTML("beforeend", `<p class="small">${nMat} material channels (${m.material_channels.join(", ")}): set by Materials</p>`);
  dims.querySelectorAll("input.bias").forEach((el) =>
    el.addEventListener("input", () => {
      studio.controls.bias[+el.dataset.dim] = +el.value;
      sendControls();
      drawXY();
    }),
  );
  dims.querySelectorAll("input.scale").forEach((el) =>
    el.addEventListener("input", () => {
      studio.controls.scale[+el.dataset.dim] = +el.value;
      sendControls();
    }),
  );
  const mats = $("materials");
  mats.innerHTML = "";
  const bSel = $("material-b");
  bSel.innerHTML = '<option value="">(none)</option>';
  // grouped by category with short names (session.material_groups): "wood" gathers footsteps/wood, impacts/wood
  const groups = m.material_groups || [{ group: "materials", items: (m.materials || []).map((v) => ({ value: v, label: v, title: v })) }];
  for (const g of groups) {
    const box = document.createElement("div");
    box.className = "mat-group";
    const head = document.createElement("span");
    head.className = "mat-group-name small";
    head.textContent = g.group;
    box.appendChild(head);
    for (const it of g.items) {
      const label = it.value;
      const b = document.createElement("button");
      b.textContent = it.label;
      b.title = `steer toward ${it.label} (${it.title}); click again: off`;
      b.dataset.label = label;
      b.className = "material";
      b.addEventListener("click", () => {
        const on = studio.material.a !== label;
        studio.material.a = on ? label : null;
        updateMaterial();
      });
      box.appendChild(b);
      const o = document.createElement("option");
      o.value = label;
      o.textContent = g.group === "materials" ? it.label : `${g.group}: ${it.label}`;
      bSel.appendChild(o);
    }
    mats.appendChild(box);
  }
  studio.material = { a: null, b: "", blend: +$("material-blend").value };
  if (!(m.materials || []).length) mats.innerHTML = '<span class="small">this model has no material labels</span>';
  syncControlInputs();
}

// The material pad: material A (buttons), optional material B and the A <-> B blend, and the amount. It sends
// towards = {label: "a" or "a:wa,b:wb", amount}; the server resolves names and blends (inference.materials).
function materialSpec() {
  const { a, b, blend } = studio.material;
  if (!a) return null;
  if (!b || b === a || blend <= 0) return a;
  if (blend >= 1) return b;
  return `${a}:${(1 - blend).toFixed(2)},${b}:${blend.toFixed(2)}`;
}

function updateMaterial() {
  const spec = materialSpec();
  studio.controls.towards = spec ? { label: spec, amount: +$("towards-amount").value } : null;
  showMaterial();
  sendControls();
}

function showMaterial() {
  const t = studio.controls && studio.controls.towards;
  document
    .querySelectorAll("#materials button")
    .forEach((x) => x.classList.toggle("on", !!studio.material && x.dataset.label === studio.material.a));
  const said = (spec) =>
    spec.includes(",") ? spec.split(",").map((x) => `${Math.round(100 * x.split(":")[1])} % ${x.split(":")[0]}`).join(" + ") : spec;
  $("material-now").textContent = t ? `material: ${said(t.label)}, amount ${t.amount}` : "material: off";
}

function materialFromSpec(spec) {
  // "wood" or "wood:0.6,metal:0.4" -> the pad's {a, b, blend}
  if (!spec) return { a: null, b: "", blend: +$("material-blend").value };
  const terms = spec.split(",").map((t) => t.split(":"));
  if (terms.length === 1) return { a: terms[0][0], b: "", blend: +$("material-blend").value };
  const wa = +terms[0][1], wb = +terms[1][1];
  return { a: terms[0][0], b: terms[1][0], blend: wb / (wa + wb) };
}

function syncControlInputs() {
  const c = studio.controls;
  if (!c) return;
  document.querySelectorAll("#dims input.bias").forEach((el) => (el.value = c.bias[+el.dataset.dim] || 0));
  document.querySelectorAll("#dims input.scale").forEach((el) => (el.value = c.scale[+el.dataset.dim] ?? 1));
  setSlider("temperature", c.temperature);
  setSlider("dry-wet", c.dry_wet);
  setSlider("input-gain-db", c.input_gain_db);
  $("freeze").checked = c.freeze;
  $("limiter").checked = c.limiter;
  if (c.towards) setSlider("towards-amount", c.towards.amount);
  studio.material = materialFromSpec(c.towards && c.towards.label);
  $("material-b").value = studio.material.b;
  setSlider("material-blend", studio.material.blend);
  showMaterial();
  drawXY();
}

function setSlider(id, v) {
  const el = $(id);
  el.value = v;
  el.nextElementSibling.textContent = (+v).toFixed(2).replace(/\.?0+$/, "") || "0";
}

function bindSlider(id, key, transform = (v) => v) {
  const el = $(id);
  el.addEventListener("input", () => {
    el.nextElementSibling.textContent = el.value;
    if (studio.controls) {
      key(transform(+el.value));
      sendControls();
    }
  });
}

let controlTimer = null;
function sendControls() {
  // throttled: at most one control message per 30 ms, always the latest state
  if (controlTimer) return;
  controlTimer = setTimeout(() => {
    controlTimer = null;
    if (ws && ws.readyState === 1 && studio.controls && liveReady) {
      ws.send(JSON.stringify(Object.assign({ type: "controls" }, studio.controls)));
    }
  }, 30);
}

// ------------------------------------------------------------------------------------------ xy pad
function drawXY() {
  const cv = $("xy");
  const g = cv.getContext("2d");
  const W = cv.width, H = cv.height;
  g.fillStyle = "#11151c";
  g.fillRect(0, 0, W, H);
  g.strokeStyle = "#2a3140";
  g.beginPath();
  g.moveTo(W / 2, 0); g.lineTo(W / 2, H); g.moveTo(0, H / 2); g.lineTo(W, H / 2);
  g.stroke();
  const toX = (v) => W / 2 + (v / 3) * (W / 2);
  const toY = (v) => H / 2 - (v / 3) * (H / 2);
  // live latent trail (dims 0, 1 in std units)
  const tr = latentTrail;
  for (let i = 1; i < tr.length; i++) {
    g.strokeStyle = `rgba(90, 200, 250, ${i / tr.length})`;
    g.beginPath();
    g.moveTo(toX(clamp(tr[i - 1][0])), toY(clamp(tr[i - 1][1] ?? 0)));
    g.lineTo(toX(clamp(tr[i][0])), toY(clamp(tr[i][1] ?? 0)));
    g.stroke();
  }
  if (studio.controls) {
    const x = toX(studio.controls.bias[0] || 0), y = toY(studio.controls.bias[1] || 0);
    g.fillStyle = "#ffb347";
    g.beginPath();
    g.arc(x, y, 7, 0, 2 * Math.PI);
    g.fill();
  }
  g.fillStyle = "#7f8aa3";
  g.font = "10px sans-serif";
  g.fillText("d0 bias \u2192", W - 62, H / 2 - 4);
  g.fillText("d1 bias \u2191", W / 2 + 4, 11);
}
const clamp = (v) => Math.max(-3, Math.min(3, v));
const latentTrail = [];
function xyPointer(e) {
  if (!studio.controls || !(e.buttons & 1)) return;
  const r = $("xy").getBoundingClientRect();
  const bx = clamp(((e.clientX - r.left) / r.width - 0.5) * 6);
  const by = clamp(-((e.clientY - r.top) / r.height - 0.5) * 6);
  studio.controls.bias[0] = +bx.toFixed(2);
  if (studio.controls.bias.length > 1) studio.controls.bias[1] = +by.toFixed(2);
  syncControlInputs();
  sendControls();
}

// ------------------------------------------------------------------------------------------ audio
let ctx = null, node = null, source = null, micStream = null, ws = null, liveReady = false;
let anIn = null, anOut = null, recording = false, recordVideoStart = 0, pendingRecordMeta = null;

function blockSize() {
  return +$("block-size").value;
}

async function ensureAudio() {
  const m = studio.model;
  if (!m) throw new Error("pick a model first");
  if (ctx && ctx.sampleRate === m.sample_rate && node && node.blockSize === blockSize()) {
    if (ctx.state === "suspended") await ctx.resume();
    if (!liveReady) await openSocket(node.blockSize); // another tab took the stream, or the server restarted
    return;
  }
  await teardownAudio();
  ctx = new AudioContext({ sampleRate: m.sample_rate, latencyHint: "interactive" });
  await ctx.audioWorklet.addModule(url("/static/worklet.js"));
  const bs = blockSize();
  node = new AudioWorkletNode(ctx, "foley-stream", {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [Math.max(1, m.channels)],
    processorOptions: { channels: m.channels, blockSize: bs, prefill: +$("prefill").value * bs },
  });
  node.blockSize = bs;
  anIn = ctx.createAnalyser();
  anOut = ctx.createAnalyser();
  for (const a of [anIn, anOut]) {
    a.fftSize = 2048;
    a.smoothingTimeConstant = 0;
  }
  node.connect(anOut);
  node.connect(ctx.destination);
  node.port.onmessage = (e) => onWorklet(e.data);
  await openSocket(bs);
}

async function teardownAudio() {
  stopSource();
  liveReady = false; // the socket stays open (session.js): the next start opens a new stream on it
  if (ctx) await ctx.close();
  ctx = null;
  node = null;
  setStatus(ws && ws.readyState === 1 ? "connected" : "offline");
}

// openSocket(bs) and the socket's messages: static/session.js (one socket per tab, reconnected with backoff).

const HEADER = 16;
function onWorklet(m) {
  if (m.type === "block") {
    if (!ws || ws.readyState !== 1 || !liveReady) return;
    let flags = m.rec ? 1 : 0;
    // recording from picture (transport.js): the first block of each take, a loop pass included, carries its
    // picture time; a new pass also flags the block (2: FLAG_SPLIT) so the server starts a new take there
    const pic = studio.transport ? studio.transport.onBlock(m.t / 1000, m.rec) : null;
    if (pic) {
      ws.send(JSON.stringify({ type: "record", on: true, video_time: pic.video_time, source: studio.running || "live" }));
      if (pic.split) flags |= 2;
    } else if (m.rec && pendingRecordMeta) {
      // first recorded block: tell the server where in the picture this take starts
      const meta = pendingRecordMeta;
      pendingRecordMeta = null;
      const offset = ctx ? m.t / 1000 - meta.ctxTime : 0;
      ws.send(JSON.stringify({ type: "record", on: true, video_time: Math.max(0, meta.videoTime + offset), source: studio.running || "live" }));
    }
    const buf = new ArrayBuffer(HEADER + m.data.byteLength);
    const dv = new DataView(buf);
    dv.setUint32(0, m.seq, true);
    dv.setUint32(4, flags, true);
    dv.setFloat64(8, m.t, true);
    new Float32Array(buf, HEADER).set(m.data);
    ws.send(buf);
  } else if (m.type === "rtt") {
    for (const it of m.items) {
      studio.rtts.push(it.rtt);
      studio.queued.push(it.queued); // output frames queued ahead of the block when it came back
    }
    if (studio.rtts.length > 2000) studio.rtts.splice(0, studio.rtts.length - 2000);
    if (studio.queued.length > 2000) studio.queued.splice(0, studio.queued.length - 2000);
    studio.underruns = m.underruns;
    studio.spliced = m.spliced;
    updateLatency();
  }
}

function onAudioBack(buf) {
  const dv = new DataView(buf);
  const seq = dv.getUint32(0, true);
  const data = new Float32Array(buf.slice(HEADER));
  studio.blocksBack++;
  if (node) node.port.postMessage({ type: "out", seq, data }, [data.buffer]);
}

function onStats(s) {
  studio.stats = s;
  studio.outRms.push({ t: performance.now(), rms: s.out_rms, in: s.in_rms });
  if (studio.outRms.length > 4000) studio.outRms.splice(0, 1000);
  if (s.latent && s.latent.length) {
    latentTrail.push(s.latent);
    if (latentTrail.length > 120) latentTrail.shift();
    latentHistory.push(s.latent);
    if (latentHistory.length > 640) latentHistory.shift();
  }
}

function median(a) {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

function updateLatency() {
  if (!ctx) return;
  const bsMs = (1000 * blockSize()) / ctx.sampleRate;
  const rtt = median(studio.rtts.slice(-64));
  // measured, not assumed: the wait in the output queue is what the safety buffer, and any stall, left there
  const queueMs = (1000 * median(studio.queued.slice(-64))) / ctx.sampleRate;
  const total = bsMs + rtt + queueMs + (studio.latencyMs || 0);
  $("latency").textContent = `latency ~${total.toFixed(0)} ms (block ${bsMs.toFixed(1)} + net ${rtt.toFixed(1)} + queue ${queueMs.toFixed(1)} + model ${(studio.latencyMs || 0).toFixed(1)})`;
  $("latency").title = `underruns: ${studio.underruns}; spliced out after stalls: ${studio.spliced} frames`;
}

function setStatus(s) {
  $("status").textContent = s;
  const kind = s === "live" ? "ok" : /reconnect|taken|refused|offline|disconnected/.test(s) ? "warn" : "";
  $("status").className = "pill " + kind;
}

function stopSource() {
  if (recording) toggleRecord();
  if (source) {
    try {
      source.stop && source.stop();
    } catch (e) { /* already stopped */ }
    source.disconnect();
    source = null;
  }
  if (micStream) {
    micStream.getTracks().forEach((t) => t.stop());
    micStream = null;
  }
  if (node) node.port.postMessage({ type: "active", on: false });
  studio.running = null;
  $("play-sample").classList.remove("on");
  $("mic").classList.remove("on");
  if (liveReady) setStatus("stopped"); // the pill says so at once, not "live" until the next event
}

const decoded = new Map();
async function playSample() {
  const id = $("sample-select").value;
  if (!id) throw new Error("no sample selected");
  await ensureAudio();
  stopSource();
  const key = id + "@" + ctx.sampleRate;
  if (!decoded.has(key)) {
    const bytes = await (await api(`/api/samples/${encodeURIComponent(id)}.wav`)).arrayBuffer();
    decoded.set(key, await ctx.decodeAudioData(bytes));
  }
  const src = ctx.createBufferSource();
  src.buffer = decoded.get(key);
  src.loop = $("loop").checked;
  src.connect(node);
  src.connect(anIn);
  src.onended = () => {
    if (source === src) {
      // let the last blocks come back before stopping the stream
      setTimeout(() => source === src && stopSource(), 300);
    }
  };
  node.port.postMessage({ type: "active", on: true });
  src.start();
  source = src;
  studio.running = "sample";
  setStatus("live");
  $("play-sample").classList.add("on");
}

async function startMic() {
  await ensureAudio();
  stopSource();
  micStream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
  });
  const src = ctx.createMediaStreamSource(micStream);
  src.connect(node);
  src.connect(anIn);
  node.port.postMessage({ type: "active", on: true });
  source = src;
  studio.running = "mic";
  setStatus("live");
  $("mic").classList.add("on");
}

// ------------------------------------------------------------------------------------------ takes
function toggleRecord() {
  const video = $("video");
  if (!recording) {
    if (!studio.running) return showError("start a sample or the microphone first");
    recording = true;
    const sync = $("sync-video").checked && video.src && studio.transport;
    const go = () => recording && node && node.port.postMessage({ type: "record", on: true });
    pendingRecordMeta = sync ? null : { ctxTime: ctx.currentTime, videoTime: 0 };
    if (studio.transport) studio.transport.syncing = false; // set again once the picture plays (sync only)
    // from picture: the flag goes on once the picture plays from the take's start (transport.js stamps the blocks)
    if (sync) studio.transport.recordFromPicture().then(go, (e) => (showError(e.message || e), go()));
    else go();
    $("record").classList.add("on");
    $("record").textContent = "\u25A0 Stop recording";
  } else {
    recording = false;
    if (node) node.port.postMessage({ type: "record", on: false });
    // frames already in flight carry the flag; the server closes the take at the first unflagged frame
    setTimeout(() => ws && ws.readyState === 1 && ws.send(JSON.stringify({ type: "record", on: false })), 400);
    if (!video.paused) video.pause();
    $("record").classList.remove("on");
    $("record").textContent = "\u25CF Record";
  }
}

function onTake(t) {
  studio.lastTake = t;
  if (t.stopped === "length limit") {
    // the server closed the take at its length cap (it is held in memory while recording)
    if (recording) toggleRecord();
    showError(`recording stopped: takes are limited to ${t.max_seconds} s (foleyvae studio --max-take-seconds)`);
  }
  refreshTakes();
}

async function refreshTakes() {
  studio.takes = await getJSON("/api/takes");
  const ul = $("takes");
  ul.innerHTML = "";
  for (const t of [...studio.takes].reverse()) {
    const li = document.createElement("li");
    li.dataset.id = t.id;
    const wet = url(`/api/takes/${t.id}/wet.wav`);
    const dry = url(`/api/takes/${t.id}/dry.wav`);
    const vt = t.video_time ? ` @ ${(+t.video_time).toFixed(2)} s` : "";
    li.innerHTML =
      `<div class="take-head"><b>${t.id}</b> <span class="small">${t.duration.toFixed(2)} s${vt}</span></div>` +
      `<audio controls preload="none" src="${wet}"></audio>` +
      `<div class="row small"><a href="${wet}" download="${t.id}-wet.wav" class="dl-wet">wet.wav</a>` +
      (t.has_dry ? ` <a href="${dry}" download="${t.id}-dry.wav" class="dl-dry">dry.wav</a>` : "") +
      (t.kind === "take" ? ` <button class="mux" data-id="${t.id}">video + take</button>` : "") +
      `</div>`;
    if (studio.transport) studio.transport.decorateTake(li, t);
    ul.appendChild(li);
  }
  ul.querySelectorAll("button.mux").forEach((b) => b.addEventListener("click", guard(() => muxTake(b.dataset.id, b))));
}

let videoFile = null;
async function muxTake(id, button) {
  if (!videoFile) throw new Error("load a video in 'Perform to picture' first");
  if (!studio.capabilities.ffmpeg) throw new Error("ffmpeg is not installed on the studio machine: download the WAV instead");
  button.disabled = true;
  button.textContent = "muxing...";
  try {
    const r = await api(`/api/takes/${id}/mux?name=${encodeURIComponent(videoFile.name)}`, {
      method: "POST",
      body: videoFile,
      headers: { "Content-Type": videoFile.type || "application/octet-stream" },
    });
    const blob = await r.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    const ext = videoFile.name.includes(".") ? videoFile.name.slice(videoFile.name.lastIndexOf(".")) : ".mp4";
    a.download = `${id}${ext}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    button.disabled = false;
    button.textContent = "video + take";
  }
}

// ------------------------------------------------------------------------------------------ drawing
const latentHistory = [];
const scroll = {};
function drawScope() {
  requestAnimationFrame(drawScope);
  for (const [an, key] of [[anIn, "in"], [anOut, "out"]]) {
    if (!an) continue;
    const td = new Float32Array(an.fftSize);
    an.getFloatTimeDomainData(td);
    let sum = 0, peak = 0;
    for (const v of td) {
      sum += v * v;
      peak = Math.max(peak, Math.abs(v));
    }
    const rms = Math.sqrt(sum / td.length);
    studio.meters[key] = rms;
    const db = 20 * Math.log10(rms + 1e-9);
    $(`meter-${key}`).style.width = `${Math.max(0, Math.min(100, (db + 60) * (100 / 60)))}%`;
    $(`meter-${key}`).classList.toggle("hot", peak > 0.98);
    $(`meter-${key}-db`).textContent = db < -90 ? "-inf" : db.toFixed(0) + " dB";
    scrollWave(`wave-${key}`, td);
    const fd = new Float32Array(an.frequencyBinCount);
    an.getFloatFrequencyData(fd);
    scrollSpec(`spec-${key}`, fd);
  }
  drawLatent();
  if (latentTrail.length) drawXY();
}

function shiftCanvas(cv, g, px) {
  g.drawImage(cv, -px, 0);
}

function scrollWave(id, td) {
  const cv = $(id), g = cv.getContext("2d");
  const W = cv.width, H = cv.height;
  shiftCanvas(cv, g, 2);
  g.fillStyle = "#0d1117";
  g.fillRect(W - 2, 0, 2, H);
  let mn = 0, mx = 0;
  for (const v of td) {
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  g.fillStyle = id.endsWith("in") ? "#8fd18f" : "#5ac8fa";
  const y0 = H / 2 - (mx * H) / 2, y1 = H / 2 - (mn * H) / 2;
  g.fillRect(W - 2, Math.max(0, y0), 2, Math.max(1, y1 - y0));
}

function scrollSpec(id, fd) {
  const cv = $(id), g = cv.getContext("2d");
  const W = cv.width, H = cv.height;
  shiftCanvas(cv, g, 2);
  const n = fd.length;
  for (let y = 0; y < H; y++) {
    // log-frequency rows: 30 Hz .. Nyquist
    const frac = 1 - y / H;
    const bin = Math.min(n - 1, Math.floor(Math.pow(n, frac)));
    const db = fd[bin];
    const v = Math.max(0, Math.min(1, (db + 100) / 80));
    g.fillStyle = `hsl(${240 - 200 * v}, 80%, ${10 + 50 * v}%)`;
    g.fillRect(W - 2, y, 2, 1);
  }
}

function drawLatent() {
  const cv = $("latent-plot"), g = cv.getContext("2d");
  const W = cv.width, H = cv.height;
  g.fillStyle = "#0d1117";
  g.fillRect(0, 0, W, H);
  const colors = ["#ffb347", "#5ac8fa", "#8fd18f", "#e07be0"];
  const n = latentHistory.length;
  for (let d = 0; d < 4; d++) {
    g.strokeStyle = colors[d];
    g.beginPath();
    for (let i = 0; i < n; i++) {
      const v = latentHistory[i][d];
      if (v === undefined) break;
      const x = W - n + i, y = H / 2 - (clamp(v) / 3) * (H / 2 - 2);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    }
    g.stroke();
  }
}

// ------------------------------------------------------------------------------------------ panels
function renderCard(m) {
  const dl = $("card");
  if (!m) {
    dl.innerHTML = "<dt>model</dt><dd>none: train and export one, or pick the demo</dd>";
    return;
  }
  const lic = m.licences ? (typeof m.licences === "string" ? m.licences : Object.entries(m.licences).map(([k, v]) => `${k}: ${v}`).join("; ")) : "not stated";
  const data = m.training_data ? (typeof m.training_data === "string" ? m.training_data : JSON.stringify(m.training_data)) : "not stated";
  const rows = [
    ["name", m.name],
    ["sample rate", `${m.sample_rate} Hz, ${m.channels} ch`],
    ["model latency", `${m.latency_ms} ms (${m.delay_samples} samples)`],
    ["latent", `${m.latent_size} dims, hop ${m.hop_length}`],
    ["materials", (m.material_groups || []).map((g) => `${g.group}: ${g.items.map((i) => i.label).join(", ")}`).join("; ") || "-"],
    ["training data", data],
    ["licences", lic],
  ];
  if (m.description) rows.push(["about", m.description]);
  $("card-md").innerHTML = m.card_html || ""; // rendered and escaped by the server (studio/markdown.py)
  $("card-md-box").hidden = !m.card_html;
  dl.innerHTML = "";
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
}

function fillSelect(sel, items, label = (x) => x.name, value = (x) => x.id) {
  const keep = sel.value;
  sel.innerHTML = "";
  for (const it of items) {
    const o = document.createElement("option");
    o.value = value(it);
    o.textContent = label(it);
    sel.appendChild(o);
  }
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

function renderSamples() {
  const lab = (s) => (s.source === "upload" ? "\u2191 " : "") + s.name;
  fillSelect($("sample-select"), studio.samples, lab);
  fillSelect($("mix-a"), studio.samples, lab);
  fillSelect($("mix-b"), studio.samples, lab);
  if ($("mix-b").selectedIndex === 0 && studio.samples.length > 1) $("mix-b").selectedIndex = 1;
}

// Sliders tagged data-control="NAME" take their range, step and default from the server's control spec
// (inference/control_spec.py), so the page never accepts a value the engine would refuse.
function applyControlSpec(spec) {
  studio.spec = Object.fromEntries(spec.map((c) => [c.name, c]));
  document.querySelectorAll("input[data-control]").forEach((el) => {
    const c = studio.spec[el.dataset.control];
    if (!c) throw new Error("the page names a control the spec does not define: " + el.dataset.control);
    [el.min, el.max] = c.ui_range;
    el.step = c.step;
    el.title = `${c.help} (${c.ui_range[0]}..${c.ui_range[1]}${c.unit ? " " + c.unit : ""})`;
    setSlider(el.id, c.default);
  });
}

async function loadState() {
  const s = await getJSON("/api/state");
  applyControlSpec(s.controls);
  studio.capabilities = s.capabilities;
  fillSelect($("model-select"), s.models, (m) => `${m.name} \u2014 ${m.source}`);
  studio.samples = s.samples;
  renderSamples();
  fillSelect($("preset-select"), s.presets, (x) => x, (x) => x);
  $("block-size").value = String(s.default_block_size);
  setModel(s.model);
  await refreshTakes();
}

function setModel(m) {
  studio.model = m;
  if (m) $("model-select").value = m.id;
  renderCard(m);
  buildControls();
  latentTrail.length = 0;
  latentHistory.length = 0;
}

async function upload(file) {
  if (!file) return;
  const r = await api(`/api/upload?name=${encodeURIComponent(file.name)}`, {
    method: "POST",
    body: file,
    headers: { "Content-Type": file.type && file.type.startsWith("audio/") ? file.type : "application/octet-stream" },
  });
  const s = await r.json();
  studio.samples = await getJSON("/api/samples");
  renderSamples();
  $("sample-select").value = s.id;
}

function download(name, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function applyPreset(preset) {
  const { midi, ...p } = preset; // a preset's MIDI mapping (midi.js) travels with it but is no control
  if (midi !== undefined && studio.onPresetMidi) studio.onPresetMidi(midi);
  const k = studio.model.latent_size;
  const c = Object.assign(neutralControls(k), p);
  c.bias = Array.from({ length: k }, (_, i) => (p.bias && p.bias[i] != null ? p.bias[i] : 0));
  c.scale = Array.from({ length: k }, (_, i) => (p.scale && p.scale[i] != null ? p.scale[i] : 1));
  const known = studio.model.materials || [];
  if (c.towards && !c.towards.label.split(",").every((t) => known.includes(t.split(":")[0]))) c.towards = null;
  studio.controls = c;
  syncControlInputs();
  sendControls();
}

// ------------------------------------------------------------------------------------------ wiring
function wire() {
  $("model-select").addEventListener("change", guard(async () => {
    await teardownAudio();
    setModel(await postJSON("/api/model", { id: $("model-select").value }));
  }));
  $("play-sample").addEventListener("click", guard(playSample));
  $("mic").addEventListener("click", guard(startMic));
  $("stop").addEventListener("click", () => stopSource());
  $("record").addEventListener("click", () => toggleRecord());
  $("block-size").addEventListener("change", guard(async () => {
    const was = studio.running;
    await teardownAudio();
    if (was === "sample") await playSample();
    if (was === "mic") await startMic();
  }));
  $("prefill").addEventListener("change", () => node && node.port.postMessage({ type: "prefill", frames: +$("prefill").value * blockSize() }));
  $("upload").addEventListener("change", guard(async (e) => upload(e.target.files[0])));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", guard(async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    await upload(e.dataTransfer.files[0]);
  }));
  bindSlider("temperature", (v) => (studio.controls.temperature = v));
  bindSlider("dry-wet", (v) => (studio.controls.dry_wet = v));
  bindSlider("input-gain-db", (v) => (studio.controls.input_gain_db = v));
  bindSlider("towards-amount", (v) => {
    if (studio.controls.towards) studio.controls.towards.amount = v;
    showMaterial();
  });
  bindSlider("material-blend", (v) => {
    studio.material.blend = v;
    const spec = materialSpec();
    if (spec) studio.controls.towards = { label: spec, amount: +$("towards-amount").value };
    showMaterial();
  });
  $("material-b").addEventListener("change", () => {
    studio.material.b = $("material-b").value;
    if (studio.controls) updateMaterial();
  });
  $("freeze").addEventListener("change", () => {
    studio.controls.freeze = $("freeze").checked;
    sendControls();
  });
  $("limiter").addEventListener("change", () => {
    studio.controls.limiter = $("limiter").checked;
    sendControls();
  });
  $("reset-controls").addEventListener("click", () => studio.model && applyPreset({}));
  const xy = $("xy");
  xy.addEventListener("pointerdown", (e) => {
    xy.setPointerCapture(e.pointerId);
    xyPointer(e);
  });
  xy.addEventListener("pointermove", xyPointer);
  // #render: session.js (a job with progress and cancel)
  bindSlider("mix-alpha", () => {});
  const doMix = guard(async () => {
    const t = await postJSON("/api/mix", { a: $("mix-a").value, b: $("mix-b").value, alpha: +$("mix-alpha").value });
    const au = $("mix-audio");
    au.src = url(`/api/takes/${t.id}/wet.wav`);
    au.play().catch(() => {});
    studio.lastMix = t;
    await refreshTakes();
  });
  $("mix-play").addEventListener("click", doMix);
  $("mix-alpha").addEventListener("change", () => $("mix-audio").src && doMix());
  // presets (save with overwrite confirmation, load, import, export): session.js
  $("video-file").addEventListener("change", (e) => {
    videoFile = e.target.files[0] || null;
    if (videoFile) $("video").src = URL.createObjectURL(videoFile);
  });
}

// for transport.js
studio.token = TOKEN;
studio.showError = showError;
studio.audioTime = () => (ctx ? ctx.currentTime : null);

wire();
drawXY();
guard(loadState)();
requestAnimationFrame(drawScope);
