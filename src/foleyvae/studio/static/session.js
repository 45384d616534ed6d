// Sessions that survive (issue #21): one WebSocket per tab, reconnected with backoff after a drop or a server
// restart (the token is stable per studio folder), with the state on the status pill; the live stream taken over by
// another tab is said, and Play or "Take back" takes it back; renders as jobs (progress, queue, cancel); presets
// validated by the server before anything is applied. Loaded after app.js (uses its globals: ws, liveReady, ctx...).
"use strict";

const session = { tries: 0, timer: null, wantLive: false, pending: null, connecting: null, everOpen: false, takenOver: false };
studio.session = session;
studio.jobs = {};
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

function wsUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/ws?token=${encodeURIComponent(TOKEN)}&tab=${encodeURIComponent(TAB)}`;
}

// Resolves once the socket is open (within 10 s); a drop schedules a reconnect with backoff.
function connectSocket() {
  if (ws && ws.readyState === 1) return Promise.resolve();
  if (session.connecting) return session.connecting;
  clearTimeout(session.timer);
  session.connecting = new Promise((resolve, reject) => {
    const sock = new WebSocket(wsUrl());
    sock.binaryType = "arraybuffer";
    ws = sock;
    const giveUp = setTimeout(() => sock.readyState !== 1 && sock.close(), 10000);
    sock.onopen = () => {
      clearTimeout(giveUp);
      session.connecting = null;
      session.tries = 0;
      studio.connected = true;
      setStatus("connected");
      const again = session.everOpen;
      session.everOpen = true;
      if (again) guard(recover)();
      resolve();
    };
    sock.onclose = (e) => {
      clearTimeout(giveUp);
      if (session.connecting) {
        session.connecting = null;
        reject(new Error("could not reach the studio server; retrying"));
      }
      if (ws !== sock) return;
      ws = null;
      liveReady = false;
      studio.connected = false;
      failPending(new Error("the connection to the studio server dropped"));
      scheduleReconnect(e.code);
    };
    sock.onmessage = onSocketMessage;
  });
  return session.connecting;
}

function scheduleReconnect(code) {
  const delay = BACKOFF_MS[Math.min(session.tries, BACKOFF_MS.length - 1)];
  session.tries++;
  studio.reconnects = (studio.reconnects || 0) + 1;
  const why = code === 1008 ? "refused (open the URL the studio printed); " : "";
  setStatus(`${why}reconnecting in ${(delay / 1000).toFixed(1)} s (try ${session.tries})`);
  session.timer = setTimeout(() => connectSocket().catch(() => {}), delay);
}

// After a reconnect the server may be a new process: it knows nothing of this tab's model. Pick it again, list the
// folder's takes, uploads and presets again, and restart the live stream if it was running.
async function recover() {
  const s = await getJSON("/api/state");
  if (studio.model && s.model && s.model.id !== studio.model.id) {
    try {
      setModel(await postJSON("/api/model", { id: studio.model.id }));
    } catch (e) {
      setModel(s.model);
      showError(`model ${studio.model.name} is not available any more: ${e.message}`);
    }
  } else if (!studio.model && s.model) setModel(s.model);
  studio.samples = s.samples;
  renderSamples();
  fillSelect($("preset-select"), s.presets, (x) => x, (x) => x);
  await refreshTakes();
  studio.recovered = (studio.recovered || 0) + 1;
  if (session.wantLive && ctx && node && !session.takenOver) await openSocket(node.blockSize);
}

function failPending(err) {
  if (session.pending) {
    const p = session.pending;
    session.pending = null;
    p.reject(err);
  }
}

// Called by app.js's ensureAudio: the live stream on this tab's socket (taken from another tab if need be).
async function openSocket(bs) {
  await connectSocket();
  session.wantLive = true;
  session.takenOver = false;
  $("take-back").hidden = true;
  return new Promise((resolve, reject) => {
    failPending(new Error("superseded"));
    const timer = setTimeout(() => failPending(new Error("the studio server did not answer within 10 s")), 10000);
    session.pending = {
      resolve: () => (clearTimeout(timer), resolve()),
      reject: (e) => (clearTimeout(timer), reject(e)),
    };
    ws.send(JSON.stringify({ type: "start", block_size: bs }));
  });
}

function onSocketMessage(e) {
  if (typeof e.data !== "string") return onAudioBack(e.data);
  const msg = JSON.parse(e.data);
  if (msg.type === "ready") {
    liveReady = true;
    studio.connected = true;
    studio.latencyMs = msg.latency_ms;
    setStatus(studio.running ? "live" : "ready");
    // controls set over OSC while no stream ran (remote.js adopts them before the page sends its own)
    if (msg.controls && studio.onServerMessage) studio.onServerMessage({ type: "controls", controls: msg.controls });
    if (studio.controls) ws.send(JSON.stringify(Object.assign({ type: "controls" }, studio.controls)));
    if (session.pending) {
      const p = session.pending;
      session.pending = null;
      p.resolve();
    }
  } else if (msg.type === "stats") onStats(msg);
  else if (msg.type === "take") onTake(msg.take);
  else if (msg.type === "taken") onTaken(msg.message);
  else if (msg.type === "model") showError("the model changed: restart the audio");
  else if (msg.type === "error") {
    if (session.pending) failPending(new Error(msg.message));
    else showError(msg.message);
  } else if (studio.onServerMessage) studio.onServerMessage(msg); // OSC changes and actions (remote.js)
}

function onTaken(message) {
  liveReady = false;
  session.wantLive = false;
  session.takenOver = true;
  studio.takenOver = (studio.takenOver || 0) + 1;
  if (recording) toggleRecord();
  setStatus("taken over by another tab");
  $("take-back").hidden = false;
  showError(message);
}

// ------------------------------------------------------------------------------------------ render jobs
function jobText(j) {
  if (j.state === "waiting") return `${j.what}: waiting, ${j.ahead} job${j.ahead === 1 ? "" : "s"} ahead`;
  if (j.state === "running") return `${j.what}: ${j.stage} ${Math.round(100 * j.progress)} %`;
  if (j.state === "done") return `${j.what}: done in ${j.elapsed_s.toFixed(1)} s`;
  if (j.state === "cancelled") return `${j.what}: cancelled`;
  return `${j.what}: failed: ${j.error}`;
}

function showJob(j) {
  studio.jobs[j.id] = j;
  studio.lastJob = j;
  $("job").hidden = false;
  $("job-text").textContent = jobText(j);
  $("job-progress").value = j.progress;
  $("job-cancel").dataset.id = j.id;
  $("job-cancel").disabled = ["done", "failed", "cancelled"].includes(j.state);
}

async function followJob(j) {
  showJob(j);
  while (!["done", "failed", "cancelled"].includes(j.state)) {
    await new Promise((r) => setTimeout(r, 250));
    try {
      j = await getJSON(`/api/jobs/${j.id}`);
    } catch (e) {
      if (!studio.connected) continue; // the server is restarting: keep asking
      throw e;
    }
    showJob(j);
  }
  if (j.state === "done") {
    studio.lastTake = j.take;
    await refreshTakes();
  } else if (j.state === "failed") showError(j.error);
  return j;
}

async function renderOffline() {
  const body = { sample: $("sample-select").value, controls: studio.controls, block_size: blockSize(), background: true };
  await followJob(await postJSON("/api/render", body));
}

// ------------------------------------------------------------------------------------------ presets
const PRESET_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$/;

function presetNameOrThrow() {
  const name = $("preset-name").value.trim();
  if (!name) throw new Error("give the preset a name");
  if (/[\/\\]/.test(name)) throw new Error(`preset name "${name}": '/' and '\\' are not allowed`);
  if (!PRESET_NAME.test(name)) throw new Error(`preset name "${name}": use letters, digits, spaces, '-', '_' and '.'`);
  return name;
}

// the controls plus what other page modules save with a preset (midi.js: the MIDI mapping)
const presetBody = () => Object.assign({}, studio.controls, studio.presetExtras ? studio.presetExtras() : {});

async function savePreset() {
  const name = presetNameOrThrow();
  const path = `/api/presets/${encodeURIComponent(name)}`;
  let r;
  try {
    r = await postJSON(path, presetBody());
  } catch (e) {
    if (e.status !== 409) throw e;
    studio.confirmAsked = (studio.confirmAsked || 0) + 1;
    if (!window.confirm(`${e.message.replace(/ \(overwrite=1\)$/, "")}. Replace it?`)) return;
    r = await postJSON(path + "?overwrite=1", presetBody());
  }
  fillSelect($("preset-select"), await getJSON("/api/presets"), (x) => x, (x) => x);
  $("preset-select").value = r.name;
  studio.lastPresetSaved = r.name;
}

function applyChecked(p) {
  applyPreset(p.midi ? Object.assign({}, p.controls, { midi: p.midi }) : p.controls);
  studio.presetWarning = p.warning || null;
  if (p.warning) showError(p.warning);
}

async function loadPreset() {
  const name = $("preset-select").value;
  if (name) applyChecked(await getJSON(`/api/presets/${encodeURIComponent(name)}`));
}

async function importPreset(file) {
  if (!file) return;
  let data;
  try {
    data = JSON.parse(await file.text());
  } catch (e) {
    throw new Error(`${file.name} is not a JSON preset file; nothing was applied`);
  }
  applyChecked(await postJSON("/api/check-preset", data)); // a bad field: a 400 naming it, nothing applied
}

function exportPreset() {
  const extras = studio.presetExtras ? studio.presetExtras() : {};
  const record = Object.assign({ format: "foleyvae-preset", version: 1, model: studio.model && studio.model.name, controls: studio.controls }, extras);
  download("foleyvae-preset.json", JSON.stringify(record, null, 1));
}

// ------------------------------------------------------------------------------------------ wiring
function wireSession() {
  $("render").addEventListener("click", guard(async () => {
    $("render").disabled = true;
    try {
      await renderOffline();
    } finally {
      $("render").disabled = false;
    }
  }));
  $("job-cancel").addEventListener("click", guard(async () => showJob(await postJSON(`/api/jobs/${$("job-cancel").dataset.id}/cancel`, {}))));
  $("take-back").addEventListener("click", guard(async () => ensureAudio()));
  $("preset-save").addEventListener("click", guard(savePreset));
  $("preset-load").addEventListener("click", guard(loadPreset));
  $("preset-import").addEventListener("change", guard(async (e) => {
    const f = e.target.files[0];
    e.target.value = "";
    await importPreset(f);
  }));
  $("preset-export").addEventListener("click", exportPreset);
  connectSocket().catch(() => {});
}

wireSession();
