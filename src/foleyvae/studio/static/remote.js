// Controls set from outside the page (OSC, studio/remote.py) arrive on the live socket, already applied on the
// server: the page adopts them so its sliders show what plays (and its next message carries them on).
// {"type": "controls", "controls": {...}, "source": "osc"|"ready"} and {"type": "remote", "action": "record"}.
"use strict";

(() => {
  const S = window.studio;
  S.remote = { applied: 0, last: null };
  S.onServerMessage = (msg) => {
    if (msg.type === "controls" && S.controls && msg.controls) {
      Object.assign(S.controls, msg.controls);
      S.remote.applied++;
      S.remote.last = msg.controls;
      syncControlInputs();
    } else if (msg.type === "remote" && msg.action === "record") {
      if (!!msg.on !== recording) toggleRecord(); // app.js's Record button logic (needs a source playing)
    }
  };
})();
