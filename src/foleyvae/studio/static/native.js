// Native audio panel: the studio plays through a local device (routes/native.py); this page is its control surface.
// Loaded after app.js; uses only the page's token, its #native-* elements and window.studio (controls, model).
"use strict";
(() => {
  const TOKEN = document.querySelector('meta[name="studio-token"]').content;
  const el = (id) => document.getElementById(id);
  const native = { running: false, status: null, devices: [], sentControls: "", errors: [] };
  window.studio.native = native;

  async function call(path, body) {
    const opts = { headers: { "X-Studio-Token": TOKEN } };
    if (body !== undefined) {
      opts.method = "POST";
      opts.body = JSON.stringify(body);
      opts.headers["Content-Type"] = "application/json";
    }
    const r = await fetch(path, opts);
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || r.status + " " + r.statusText);
    return data;
  }
  function say(msg) {
    el("native-status").textContent = msg;
  }
  function fail(e) {
    native.errors.push(String(e.message || e));
    say("native: " + (e.message || e));
  }

  function fillDevices() {
    for (const [id, key] of [["native-in", "inputs"], ["native-out", "outputs"]]) {
      const sel = el(id);
      sel.replaceChildren(new Option("(default)", ""));
      for (const d of native.devices) {
        if (d[key] > 0) sel.add(new Option(d.name + " (" + d.hostapi + ")", String(d.id)));
      }
    }
  }
  async function refresh() {
    native.devices = await call("/api/native/devices");
    fillDevices();
  }
  function fillBlocks() {
    const hop = (window.studio.model && window.studio.model.hop_length) || 256;
    const sel = el("native-block");
    const keep = sel.value;
    sel.replaceChildren();
    for (const m of [1, 2, 4, 8]) if (hop * m <= 8192) sel.add(new Option(String(hop * m), String(hop * m)));
    if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  }

  async function start() {
    fillBlocks();
    const dev = (id) => (el(id).value === "" ? null : Number(el(id).value));
    const body = {
      input_device: dev("native-in"),
      output_device: dev("native-out"),
      block: Number(el("native-block").value),
      prefill: Number(el("native-prefill").value),
      device_rate: el("native-rate").value === "" ? null : Number(el("native-rate").value),
      record: el("native-record").checked,
    };
    say("native: starting...");
    native.status = await call("/api/native/start", body);
    native.running = true;
    native.sentControls = "";
    pushControls();
    show(native.status);
    poll();
  }
  async function stop() {
    native.status = await call("/api/native/stop", {});
    native.running = false;
    const last = native.status.last || {};
    const take = last.take ? ", take " + last.take.id + " (" + last.take.duration.toFixed(2) + " s)" : "";
    say("native: stopped (" + (last.callbacks || 0) + " periods, " + (last.xruns || 0) + " xruns" + take + ")");
    if (last.take) await refreshTakes(); // app.js: the take joins the list, like the page's own takes
  }

  function pushControls() {
    // the browser route's control state, mirrored to the native engine whenever it changes
    const c = window.studio.controls;
    if (!native.running || !c) return;
    const text = JSON.stringify(c);
    if (text === native.sentControls) return;
    native.sentControls = text;
    call("/api/native/controls", Object.assign({ type: "controls" }, c)).catch(fail);
  }

  function show(st) {
    if (!st || !st.running) return;
    const lat = st.latency || {};
    const m = st.meters || {};
    const db = (v) => (v > 0 ? (20 * Math.log10(v)).toFixed(1) : "-inf");
    say(
      "native: " + st.model + " @ " + (lat.device_rate || "?") + " Hz, ~" + (lat.round_trip_ms || 0).toFixed(1) +
        " ms, xruns " + st.xruns + ", in " + db(m.in_peak) + " dB, out " + db(m.out_peak) + " dB",
    );
    draw(m.wave);
    drawSpectrogram(m.spectrogram);
  }
  function drawSpectrogram(sp) {
    // the server's new columns (bands x 0..255, low band first) scroll in from the right, one pixel each
    const cv = el("native-spec");
    if (!sp || !cv || !sp.columns.length) return;
    const g = cv.getContext("2d");
    const W = cv.width, H = cv.height, k = sp.columns.length;
    if (k < W) g.drawImage(cv, k, 0, W - k, H, 0, 0, W - k, H);
    const img = g.createImageData(Math.min(k, W), H);
    sp.columns.slice(-W).forEach((col, x) => {
      for (let y = 0; y < H; y++) {
        const v = col[Math.min(col.length - 1, Math.floor(((H - 1 - y) * col.length) / H))];
        const i = 4 * (y * img.width + x);
        img.data[i] = Math.min(255, v * 1.6); // dark blue -> amber -> white
        img.data[i + 1] = Math.max(0, v * 1.4 - 110);
        img.data[i + 2] = v < 128 ? 40 + v : Math.max(0, 400 - 2 * v);
        img.data[i + 3] = 255;
      }
    });
    g.putImageData(img, W - img.width, 0);
    native.specColumns = (native.specColumns || 0) + k;
  }
  function draw(w) {
    const cv = el("native-wave");
    if (!w || !cv) return;
    const g = cv.getContext("2d");
    const W = cv.width, H = cv.height, n = w.out_max.length;
    g.fillStyle = "#11151c";
    g.fillRect(0, 0, W, H);
    const lane = (lo, hi, color) => {
      g.strokeStyle = color;
      g.beginPath();
      for (let i = 0; i < n; i++) {
        const x = (i / Math.max(1, n - 1)) * W;
        g.moveTo(x, H / 2 - hi[i] * H / 2);
        g.lineTo(x, H / 2 - lo[i] * H / 2);
      }
      g.stroke();
    };
    lane(w.in_min, w.in_max, "#5ac8fa");
    lane(w.out_min, w.out_max, "#ffb347");
  }

  let timer = null;
  function poll() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!native.running) return;
      try {
        native.status = await call("/api/native/status");
        native.running = !!native.status.running;
        pushControls();
        show(native.status);
      } catch (e) {
        fail(e);
      }
      poll();
    }, 100);
  }

  const guarded = (fn) => () => fn().catch(fail);
  el("native-start").addEventListener("click", guarded(start));
  el("native-stop").addEventListener("click", guarded(stop));
  el("native-refresh").addEventListener("click", guarded(refresh));
  el("native-block").addEventListener("focus", fillBlocks);
  fillBlocks();
  refresh().catch(fail);
})();
