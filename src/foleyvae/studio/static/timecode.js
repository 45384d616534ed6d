// SMPTE timecode for the studio's picture transport: the same maths as foleyvae/audio/timecode.py (the browser
// tests compare the two frame by frame). Pure functions, no DOM: defines globalThis.FoleyTimecode.
"use strict";

(function () {
  // name -> nominal frames counted per second, real rate num/den, drop-frame
  const RATES = {
    "23.976": { nominal: 24, num: 24000, den: 1001, drop: false },
    "24": { nominal: 24, num: 24, den: 1, drop: false },
    "25": { nominal: 25, num: 25, den: 1, drop: false },
    "29.97": { nominal: 30, num: 30000, den: 1001, drop: true },
    "29.97ndf": { nominal: 30, num: 30000, den: 1001, drop: false },
    "30": { nominal: 30, num: 30, den: 1, drop: false },
  };
  const DF_10MIN = 17982, DF_MIN = 1798; // drop-frame: frames per 10 minutes, per later minute of a ten
  const TC = /^(\d{2}):(\d{2}):(\d{2})[:;.](\d{2})$/;

  function rate(name) {
    const r = RATES[name];
    if (!r) throw new Error(`unknown timecode rate '${name}'; one of ${Object.keys(RATES).join(", ")}`);
    return r;
  }

  function framesPerDay(name) {
    const r = rate(name);
    return r.drop ? 30 * 86400 - 2 * (1440 - 144) : r.nominal * 86400;
  }

  // "HH:MM:SS:FF" -> frames since 00:00:00:00 (throws on malformed, out-of-range or drop-frame-skipped timecodes)
  function toFrames(tc, name) {
    const r = rate(name);
    const m = TC.exec(String(tc).trim());
    if (!m) throw new Error(`timecode '${tc}' is not HH:MM:SS:FF`);
    const [hh, mm, ss, ff] = m.slice(1).map(Number);
    if (hh >= 24 || mm >= 60 || ss >= 60 || ff >= r.nominal) throw new Error(`timecode '${tc}' is out of range at ${name} fps`);
    const minutes = 60 * hh + mm;
    if (r.drop && ss === 0 && ff < 2 && mm % 10 !== 0) {
      throw new Error(`timecode '${tc}' does not exist in drop-frame (frames 00 and 01 are skipped)`);
    }
    let frames = ((hh * 60 + mm) * 60 + ss) * r.nominal + ff;
    if (r.drop) frames -= 2 * (minutes - Math.floor(minutes / 10));
    return frames;
  }

  // frames since midnight -> "HH:MM:SS:FF" ("HH:MM:SS;FF" in drop-frame); wraps at 24 hours
  function fromFrames(frames, name) {
    const r = rate(name);
    const day = framesPerDay(name);
    let f = ((Math.floor(frames) % day) + day) % day;
    if (r.drop) {
      const tens = Math.floor(f / DF_10MIN), rem = f % DF_10MIN;
      f += 18 * tens + (rem >= 2 ? 2 * Math.floor((rem - 2) / DF_MIN) : 0);
    }
    const ff = f % r.nominal, s = Math.floor(f / r.nominal);
    const p = (n) => String(n).padStart(2, "0");
    return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}${r.drop ? ";" : ":"}${p(ff)}`;
  }

  // the frame showing at `seconds` of real time (a microsecond of float error does not drop a frame)
  function secondsToFrames(seconds, name) {
    const r = rate(name);
    return Math.floor((seconds * r.num) / r.den + 1e-6);
  }

  function framesToSeconds(frames, name) {
    const r = rate(name);
    return (frames * r.den) / r.num;
  }

  // the timecode of picture time `seconds` when the picture starts at timecode `start`
  function atSeconds(seconds, start, name) {
    return fromFrames(toFrames(start, name) + secondsToFrames(Math.max(0, seconds), name), name);
  }

  globalThis.FoleyTimecode = { RATES, rate, framesPerDay, toFrames, fromFrames, secondsToFrames, framesToSeconds, atSeconds };
})();
