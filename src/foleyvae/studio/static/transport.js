// Foley-VAE Studio: the picture transport (play/pause, scrub, loop region, markers, SMPTE timecode) and recording
// in sync with picture. Loaded after timecode.js and app.js; app.js calls the hooks on window.studio.transport:
//   recordFromPicture() -> a promise that resolves once the picture plays from where the take starts;
//   onBlock(t, rec) for every block the worklet sends (t: context time of its first sample, s) ->
//     null, or {video_time, split}: the picture time of a take's first block (split: a new loop pass, a new take);
//   decorateTake(li, take): the take's timecode and its Broadcast WAV download in the Takes list.
//
// Picture time of an audio block: the tick loop records anchors (audio-context time, picture time, play rate,
// pass) while the page runs; a block at context time t lies at anchor.pic + rate * (t - anchor.ctx) of the latest
// anchor before it. A loop pass is a new `pass` number, so the first block recorded in it starts a new take, stamped
// with its own picture time (the picture time is never read from the video element when the record button is
// pressed: after the video had ended it still said 4.98 s while play() restarted it from 0).
"use strict";

(function () {
  const studio = window.studio;
  const TC = globalThis.FoleyTimecode;
  const $ = (id) => document.getElementById(id);
  const video = $("video");
  const ANCHOR_KEEP_S = 10; // anchors older than this (audio time) are dropped

  const T = {
    fps: "25",
    start: "01:00:00:00",
    scene: "",
    loop: false,
    loopIn: 0,
    loopOut: null, // null: the end of the video
    markers: [], // [{t, name}]
    pass: 0, // bumped at each record start from picture and each loop wrap
    wraps: 0, // loop wraps while playing
    anchors: [], // [{ctx, pic, rate, pass}]
    syncing: false, // recording from picture: blocks are stamped here
    takePass: null, // the pass of the take being recorded
    recordPass: 0, // the pass the recording started in
    recordAnchor: null, // the anchor taken when the picture started playing for the recording
    stamps: [], // [{t, video_time, split, pass}] what onBlock said (the tests read it)
    scrubbing: false,
  };
  studio.transport = T;

  const now = () => (studio.audioTime ? studio.audioTime() : null);
  const duration = () => (Number.isFinite(video.duration) ? video.duration : 0);
  const regionOut = () => (T.loopOut != null ? Math.min(T.loopOut, duration() || T.loopOut) : duration());

  T.timecode = (seconds = video.currentTime || 0) => TC.atSeconds(seconds, T.start, T.fps);

  function anchor() {
    const ctxT = now();
    if (ctxT == null) return;
    const rate = video.paused || video.seeking || video.ended ? 0 : video.playbackRate;
    T.anchors.push({ ctx: ctxT, pic: video.currentTime || 0, rate, pass: T.pass });
    while (T.anchors.length > 2 && T.anchors[0].ctx < ctxT - ANCHOR_KEEP_S) T.anchors.shift();
  }

  function anchorAt(t) {
    let a = T.anchors[0];
    for (const b of T.anchors) {
      if (b.ctx <= t) a = b;
      else break;
    }
    return a;
  }

  // picture time at audio-context time t (s)
  // (while recording, never from an anchor older than the record start: a block that began just before it, while
  // the picture still stood where it had ended, lies just before the record start in picture time)
  T.pictureAt = (t) => {
    let a = anchorAt(t);
    const r = T.syncing ? T.recordAnchor : null;
    if (r && (!a || a.ctx < r.ctx)) a = r;
    return a ? Math.max(0, a.pic + (a === r ? video.playbackRate : a.rate) * (t - a.ctx)) : video.currentTime || 0;
  };

  T.onBlock = (t, rec) => {
    if (!rec) {
      // the first unflagged block after a take ends it (unflagged blocks still in flight before it began do not)
      if (T.takePass !== null) T.syncing = false;
      T.takePass = null;
      return null;
    }
    if (!T.syncing || !T.anchors.length) return null;
    // a block that began just before the record start (the flag reached the worklet mid-block) joins its pass
    const pass = Math.max(anchorAt(t).pass, T.recordPass);
    if (T.takePass !== null && pass <= T.takePass) return null;
    const split = T.takePass !== null;
    T.takePass = pass;
    const out = { video_time: +T.pictureAt(t).toFixed(4), split };
    T.stamps.push({ t, video_time: out.video_time, split, pass });
    return out;
  };

  // where a take from picture starts: the play head, unless the video ended (then its start) or a loop region is
  // on and the play head is outside it (then the in point)
  function recordStart() {
    const cur = video.currentTime || 0;
    if (T.loop) return cur >= T.loopIn && cur < regionOut() - 0.01 ? cur : T.loopIn;
    return video.ended || cur >= duration() - 0.01 ? 0 : cur;
  }

  function seek(t) {
    return new Promise((resolve) => {
      if (Math.abs((video.currentTime || 0) - t) < 1e-3) return resolve();
      const done = () => {
        clearTimeout(timer);
        video.removeEventListener("seeked", done);
        resolve();
      };
      const timer = setTimeout(done, 2000); // never wait forever on a seek
      video.addEventListener("seeked", done);
      video.currentTime = t;
    });
  }

  T.recordFromPicture = async () => {
    await seek(recordStart());
    await video.play();
    T.pass += 1;
    T.recordPass = T.pass;
    T.takePass = null;
    anchor();
    T.recordAnchor = T.anchors[T.anchors.length - 1] || null;
    T.syncing = true;
  };

  // ------------------------------------------------------------------------------------------ the tick
  function tick() {
    requestAnimationFrame(tick);
    if (!video.src) return;
    if (T.loop && !video.paused && !video.seeking && video.currentTime >= regionOut() - 1e-3) {
      T.pass += 1;
      T.wraps += 1;
      video.currentTime = T.loopIn;
      anchor();
    } else if (T.loop && video.ended) {
      T.pass += 1;
      T.wraps += 1;
      video.currentTime = T.loopIn;
      video.play().catch(() => {});
      anchor();
    } else {
      anchor();
    }
    show();
  }

  function show() {
    $("tc").textContent = T.timecode();
    const scrub = $("scrub");
    scrub.max = String(duration());
    if (!T.scrubbing) scrub.value = String(video.currentTime || 0);
    $("tp-play").textContent = video.paused ? "\u25B6" : "\u275A\u275A";
  }

  function showRegion() {
    const out = T.loopOut != null ? T.timecode(T.loopOut) : "end";
    $("region").textContent = `${T.timecode(T.loopIn)} \u2192 ${out}`;
    const d = duration();
    const band = $("loop-band");
    band.hidden = !T.loop || !d;
    if (d) {
      band.style.left = `${(100 * T.loopIn) / d}%`;
      band.style.width = `${(100 * (regionOut() - T.loopIn)) / d}%`;
    }
  }

  function showMarkers() {
    const ul = $("markers"), marks = $("marks");
    ul.innerHTML = "";
    marks.innerHTML = "";
    const d = duration();
    T.markers.forEach((m, i) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.className = "marker";
      b.textContent = `${m.name} ${T.timecode(m.t)}`;
      b.title = "jump here";
      b.addEventListener("click", () => seek(m.t));
      const x = document.createElement("button");
      x.textContent = "\u00D7";
      x.title = "remove marker";
      x.addEventListener("click", () => {
        T.markers.splice(i, 1);
        showMarkers();
      });
      li.append(b, x);
      ul.appendChild(li);
      if (d) {
        const tickEl = document.createElement("span");
        tickEl.className = "mark";
        tickEl.style.left = `${(100 * m.t) / d}%`;
        marks.appendChild(tickEl);
      }
    });
  }

  T.setLoop = (loopIn, loopOut, on = true) => {
    const d = duration();
    const a = Math.max(0, Math.min(loopIn, d || loopIn));
    const b = loopOut == null ? null : Math.max(0, Math.min(loopOut, d || loopOut));
    if (b != null && b - a < 0.1) throw new Error("the loop's out point must be at least 0.1 s after its in point");
    T.loopIn = a;
    T.loopOut = b;
    T.loop = on;
    $("loop-region").checked = on;
    showRegion();
  };

  T.addMarker = (t = video.currentTime || 0, name = `M${T.markers.length + 1}`) => {
    T.markers.push({ t, name });
    T.markers.sort((x, y) => x.t - y.t);
    showMarkers();
  };

  // ------------------------------------------------------------------------------------------ takes
  T.bwfUrl = (id, which = "wet") => {
    const q = new URLSearchParams({ fps: T.fps, start: T.start, scene: T.scene, token: studio.token });
    return `/api/takes/${encodeURIComponent(id)}/${which}.bwf.wav?${q}`;
  };

  T.decorateTake = (li, take) => {
    if (take.kind !== "take") return;
    const head = li.querySelector(".take-head .small");
    if (head) head.textContent += ` \u2022 ${T.timecode(+take.video_time || 0)}`;
    const row = li.querySelector(".row");
    const a = document.createElement("a");
    a.className = "dl-bwf";
    a.textContent = "BWF 48k";
    a.title = "Broadcast WAV, 48 kHz 24-bit, placed at its timecode";
    a.download = `${take.id}-wet.bwf.wav`;
    a.href = T.bwfUrl(take.id);
    a.addEventListener("click", () => (a.href = T.bwfUrl(take.id))); // the settings of now
    if (row) row.append(" ", a);
  };

  // ------------------------------------------------------------------------------------------ wiring
  function setting(fn) {
    return (e) => {
      try {
        fn(e);
        $("tc-start").classList.remove("bad");
      } catch (err) {
        $("tc-start").classList.add("bad");
        studio.showError(err.message || err);
      }
      showRegion();
      showMarkers();
    };
  }

  function wire() {
    const sel = $("tc-rate");
    for (const name of Object.keys(TC.RATES)) sel.insertAdjacentHTML("beforeend", `<option value="${name}">${name}${TC.RATES[name].drop ? " DF" : ""}</option>`);
    sel.value = T.fps;
    sel.addEventListener("change", setting(() => {
      const was = T.start.replace(";", ":");
      T.fps = sel.value;
      // keep the start timecode when it exists at the new rate, else go back to 01:00:00:00
      try {
        TC.toFrames(was, T.fps);
        T.start = TC.fromFrames(TC.toFrames(was, T.fps), T.fps);
      } catch (e) {
        T.start = "01:00:00:00";
      }
      $("tc-start").value = T.start;
    }));
    $("tc-start").addEventListener("change", setting(() => {
      const v = $("tc-start").value.trim();
      TC.toFrames(v, T.fps); // throws with a readable message
      T.start = TC.fromFrames(TC.toFrames(v, T.fps), T.fps);
      $("tc-start").value = T.start;
    }));
    $("scene").addEventListener("change", () => (T.scene = $("scene").value.trim()));
    $("tp-play").addEventListener("click", () => (video.paused ? video.play().catch(() => {}) : video.pause()));
    const scrub = $("scrub");
    scrub.addEventListener("input", () => {
      T.scrubbing = true;
      video.currentTime = +scrub.value;
    });
    scrub.addEventListener("change", () => (T.scrubbing = false));
    $("set-in").addEventListener("click", setting(() => T.setLoop(video.currentTime || 0, T.loopOut, T.loop)));
    $("set-out").addEventListener("click", setting(() => T.setLoop(T.loopIn, video.currentTime || 0, T.loop)));
    $("loop-region").addEventListener("change", setting(() => T.setLoop(T.loopIn, T.loopOut, $("loop-region").checked)));
    $("add-marker").addEventListener("click", () => T.addMarker());
    video.addEventListener("loadedmetadata", () => {
      T.loopIn = 0;
      T.loopOut = null;
      T.markers = [];
      showRegion();
      showMarkers();
    });
    for (const ev of ["play", "playing", "pause", "seeked", "ratechange"]) video.addEventListener(ev, anchor);
    showRegion();
    requestAnimationFrame(tick);
  }

  wire();
})();
