// MIDI learn (Web MIDI). Loaded after app.js; uses its page functions and window.studio.
// Learn: press "Learn", click a control, move a knob/fader (CC) or hit a pad (note): the mapping is made.
// A CC's 0..127 spans the control's range from the control spec (studio.spec[name].ui_range, what /api/state
// serves); a note toggles a checkbox or presses a button, and sets a slider from its velocity. The mapping
// travels with presets (the preset's "midi" list; the server checks its shape, studio/midi_map.py).
"use strict";

(() => {
  const S = window.studio;
  const midi = { access: null, inputs: [], learn: false, armed: null, map: [], received: 0, last: null, ccs: {} };
  S.midi = midi;

  // ------------------------------------------------------------------------------------------ targets
  // A target is a page control named as in the OSC address space: "temperature", "bias/0", "towards" (the
  // material amount), "towards/wood" (a material button), "freeze", "record", "play"...
  const BUTTONS = { record: "record", play: "play-sample", mic: "mic", stop: "stop", reset: "reset-controls" };
  const TOGGLES = { freeze: "freeze", limiter: "limiter" };

  function targetOf(el) {
    if (!el || !el.closest) return null;
    const dim = el.closest("#dims input.bias, #dims input.scale");
    if (dim) return `${dim.classList.contains("bias") ? "bias" : "scale"}/${dim.dataset.dim}`;
    const mat = el.closest("#materials button[data-label]");
    if (mat) return `towards/${mat.dataset.label}`;
    const ctl = el.closest("input[data-control]");
    if (ctl) return ctl.dataset.control;
    if (el.closest("#material-blend")) return "material_blend";
    for (const [name, id] of Object.entries({ ...BUTTONS, ...TOGGLES })) if (el.closest("#" + id)) return name;
    return null;
  }

  function elementOf(target) {
    const [head, rest] = [target.split("/")[0], target.split("/").slice(1).join("/")];
    if ((head === "bias" || head === "scale") && rest) return document.querySelector(`#dims input.${head}[data-dim="${+rest}"]`);
    if (head === "towards" && rest) return [...document.querySelectorAll("#materials button")].find((b) => b.dataset.label === rest) || null;
    if (target === "material_blend") return document.getElementById("material-blend");
    const id = BUTTONS[target] || TOGGLES[target];
    if (id) return document.getElementById(id);
    return document.querySelector(`input[data-control="${target}"]`);
  }

  // the control's range: the spec's slider range (bias and scale per dim share their control's), else the element's
  function rangeOf(target, el) {
    const c = S.spec && S.spec[target.split("/")[0]];
    if (c && c.ui_range) return { lo: +c.ui_range[0], hi: +c.ui_range[1], step: +c.step || 0.01 };
    return { lo: +el.min, hi: +el.max, step: +el.step || 0.01 };
  }

  function setRange(target, el, v127) {
    const { lo, hi, step } = rangeOf(target, el);
    let v = lo + (v127 / 127) * (hi - lo);
    v = Math.min(hi, Math.max(lo, Math.round(v / step) * step));
    el.value = String(+v.toFixed(6));
    el.dispatchEvent(new Event("input", { bubbles: true })); // the page's own handler sends it to the server
  }

  function apply(m, kind, value) {
    const el = elementOf(m.target);
    if (!el) return; // not shown for this model (e.g. a dim or material it does not have)
    if (el.type === "range") return setRange(m.target, el, value);
    const on = kind === "note" || value >= 64;
    const key = `${m.kind}${m.channel}:${m.number}`;
    const wasOn = !!midi.ccs[key];
    midi.ccs[key] = on;
    if (el.type === "checkbox") {
      const want = kind === "note" ? !el.checked : on; // a pad toggles, a fader/switch sets
      if (want !== el.checked) {
        el.checked = want;
        el.dispatchEvent(new Event("change", { bubbles: true }));
      }
    } else if (kind === "note" || (on && !wasOn)) el.click(); // a button: a pad, or a CC crossing 64 upwards
  }

  // ------------------------------------------------------------------------------------------ messages
  function onMessage(e) {
    const d = e.data;
    if (!d || d.length < 3) return; // clock, active sensing, program change...: not ours
    const type = d[0] & 0xf0, channel = d[0] & 0x0f, number = d[1] & 0x7f, value = d[2] & 0x7f;
    let kind = null;
    if (type === 0xb0) kind = "cc";
    else if (type === 0x90 && value > 0) kind = "note"; // note-on (velocity 0 = note-off)
    if (!kind) return;
    midi.received++;
    midi.last = { kind, channel, number, value };
    if (midi.learn && midi.armed) return learn(kind, channel, number, value);
    for (const m of midi.map) if (m.kind === kind && m.channel === channel && m.number === number) apply(m, kind, value);
  }

  function learn(kind, channel, number, value) {
    const m = { kind, channel, number, target: midi.armed };
    midi.map = midi.map.filter((x) => !(x.kind === kind && x.channel === channel && x.number === number) && x.target !== m.target);
    midi.map.push(m);
    disarm();
    renderMap();
    const el = elementOf(m.target);
    if (kind === "cc" && el && el.type === "range") apply(m, kind, value); // a slider jumps to the knob at once
    // (a button or toggle waits for the next press: learning Record with a CC button must not start a take)
  }

  function bind() {
    midi.inputs = [];
    for (const input of midi.access.inputs.values()) {
      input.onmidimessage = onMessage;
      midi.inputs.push(input.name || input.id || "input");
    }
    status();
  }

  async function connect() {
    if (midi.access) return;
    if (!navigator.requestMIDIAccess) throw new Error("this browser has no Web MIDI (use Chromium, Chrome or Edge)");
    const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error("MIDI access was not granted")), 10000));
    midi.access = await Promise.race([navigator.requestMIDIAccess({ sysex: false }), timeout]);
    midi.access.onstatechange = bind; // a device plugged in or out
    bind();
  }

  // ------------------------------------------------------------------------------------------ learn mode
  function setLearn(on) {
    midi.learn = on;
    disarm();
    document.body.classList.toggle("midi-learn", on);
    document.getElementById("midi-learn").classList.toggle("on", on);
    status();
  }

  function disarm() {
    midi.armed = null;
    document.querySelectorAll(".midi-armed").forEach((x) => x.classList.remove("midi-armed"));
  }

  // in learn mode a click picks the control instead of using it (captured before the control's own handlers)
  function pick(e) {
    // only a person's click picks: a mapping or a shortcut pressing a button (el.click(): untrusted) still acts
    if (!midi.learn || !e.isTrusted || (e.target.closest && e.target.closest("#midi-panel"))) return;
    const target = targetOf(e.target);
    if (!target) return;
    e.preventDefault();
    e.stopPropagation();
    if (e.type !== "click") return;
    disarm();
    midi.armed = target;
    const el = elementOf(target);
    if (el) el.classList.add("midi-armed");
    status();
  }

  function status() {
    const el = document.getElementById("midi-status");
    const dev = midi.access ? (midi.inputs.length ? midi.inputs.join(", ") : "no MIDI input connected") : "not connected";
    el.textContent = midi.learn ? (midi.armed ? `learn: move a knob or hit a pad for ${midi.armed}` : "learn: click a control") : dev;
  }

  function label(m) {
    return `${m.kind === "cc" ? "CC" : "note"} ${m.number} (ch ${m.channel + 1}) \u2192 ${m.target}`;
  }

  function renderMap() {
    const ul = document.getElementById("midi-map");
    ul.innerHTML = "";
    midi.map.forEach((m, i) => {
      const li = document.createElement("li");
      li.textContent = label(m) + " ";
      const x = document.createElement("button");
      x.textContent = "\u00d7";
      x.title = "remove this mapping";
      x.className = "midi-remove";
      x.addEventListener("click", () => {
        midi.map.splice(i, 1);
        renderMap();
      });
      li.appendChild(x);
      ul.appendChild(li);
    });
  }

  // ------------------------------------------------------------------------------------------ presets
  S.presetExtras = () => ({ midi: midi.map.map((m) => ({ ...m })) });
  S.onPresetMidi = (list) => {
    if (!Array.isArray(list)) return;
    midi.map = list
      .filter((m) => m && (m.kind === "cc" || m.kind === "note") && typeof m.target === "string")
      .map((m) => ({ kind: m.kind, channel: m.channel | 0, number: m.number | 0, target: m.target }));
    renderMap();
  };
  S.midiLearn = async (on) => {
    if (on) await connect();
    setLearn(on);
  };

  // ------------------------------------------------------------------------------------------ the panel
  function panel() {
    const div = document.createElement("div");
    div.className = "panel";
    div.id = "midi-panel";
    div.innerHTML =
      "<h2>MIDI</h2>" +
      '<div class="row"><button id="midi-connect">Connect MIDI</button>' +
      '<button id="midi-learn" title="click a control, then move a knob or hit a pad (L)">Learn</button>' +
      '<button id="keys-help" title="keyboard shortcuts (?)">?</button></div>' +
      '<p class="small" id="midi-status" aria-live="polite">not connected</p><ul id="midi-map" class="small"></ul>';
    document.getElementById("right").appendChild(div);
    document.getElementById("midi-connect").addEventListener("click", guard(connect));
    document.getElementById("midi-learn").addEventListener("click", guard(() => S.midiLearn(!midi.learn)));
    for (const type of ["pointerdown", "mousedown", "click"]) document.addEventListener(type, pick, true);
  }

  panel();
})();
