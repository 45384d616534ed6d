// Keyboard shortcuts, and an overlay (?) that lists them from the same table the handler uses.
// Keys act through the page's own buttons, so they do exactly what a click does. They are off while typing in a
// text field or a menu, and with Ctrl/Alt/Meta (the browser's own shortcuts stay).
"use strict";

(() => {
  const S = window.studio;
  const $id = (id) => document.getElementById(id);
  const click = (id) => () => $id(id).click();
  let lastSource = "play-sample";

  function playStop() {
    if (S.running) {
      lastSource = S.running === "mic" ? "mic" : "play-sample";
      $id("stop").click();
    } else $id(lastSource).click();
  }

  function material(n) {
    const b = document.querySelectorAll("#materials button")[n - 1];
    if (b) b.click();
  }

  function escape() {
    if (!$id("keys-overlay").hidden) return overlay(false);
    if (S.midi && S.midi.learn) S.midiLearn(false);
  }

  const KEYS = [
    { keys: [" "], label: "Space", what: "play the sample / stop (again: the last source)", run: playStop },
    { keys: ["r", "R"], label: "R", what: "record / stop recording", run: click("record") },
    { keys: "123456789".split(""), label: "1 \u2013 9", what: "material 1-9 (again: off)", run: (k) => material(+k) },
    { keys: ["0"], label: "0", what: "reset the controls (material off)", run: click("reset-controls") },
    { keys: ["l", "L"], label: "L", what: "MIDI learn on / off", run: () => S.midiLearn && guard(S.midiLearn)(!S.midi.learn) },
    { keys: ["?"], label: "?", what: "show / hide this list", run: () => overlay($id("keys-overlay").hidden) },
    { keys: ["Escape"], label: "Esc", what: "close this list / leave MIDI learn", run: escape },
  ];
  S.shortcuts = KEYS.map(({ label, what }) => ({ label, what }));

  function typing(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    return el.tagName === "INPUT" && !["range", "checkbox", "button", "file"].includes(el.type);
  }

  function onKey(e) {
    if (e.ctrlKey || e.altKey || e.metaKey || typing(e.target)) return;
    const entry = KEYS.find((k) => k.keys.includes(e.key));
    if (!entry) return;
    e.preventDefault(); // e.g. Space must not also press the focused button
    if (e.repeat) return;
    entry.run(e.key);
  }

  function overlay(show) {
    $id("keys-overlay").hidden = !show;
  }

  function build() {
    const div = document.createElement("div");
    div.id = "keys-overlay";
    div.hidden = true;
    div.setAttribute("role", "dialog");
    div.setAttribute("aria-label", "keyboard shortcuts");
    const box = document.createElement("div");
    box.className = "panel";
    box.innerHTML = "<h2>Keyboard shortcuts</h2>";
    const table = document.createElement("table");
    for (const { label, what } of S.shortcuts) {
      const tr = table.insertRow();
      const k = document.createElement("kbd");
      k.textContent = label;
      tr.insertCell().appendChild(k);
      tr.insertCell().textContent = what;
    }
    box.appendChild(table);
    div.appendChild(box);
    div.addEventListener("click", (e) => e.target === div && overlay(false));
    document.body.appendChild(div);
    const help = $id("keys-help");
    if (help) help.addEventListener("click", () => overlay($id("keys-overlay").hidden));
    document.addEventListener("keydown", onKey);
  }

  build();
})();
