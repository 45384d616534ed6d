"""The page's MIDI mapping, as a preset carries it: ``"midi": [{"kind", "channel", "number", "target"}, ...]``.

The page (``static/midi.js``) learns the mappings and applies them; the server only checks their shape when a
preset is saved, so a preset file never holds anything but small, typed entries. ``target`` names a page control
(``temperature``, ``bias/0``, ``towards/wood``, ``record``...): the page ignores targets it does not show.
"""

from __future__ import annotations

import re
from typing import Any

from foleyvae.studio.security import SecurityError

__all__ = ["validate_midi", "MAX_MAPPINGS"]

MAX_MAPPINGS = 256
_TARGET = re.compile(r"^[a-z_]{1,30}(/[A-Za-z0-9_.:,/+-]{1,200})?$")


def _int(v: Any, what: str, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= hi:
        raise SecurityError(f"midi: {what} must be an integer in 0..{hi}")
    return v


def validate_midi(value: Any) -> list[dict[str, Any]]:
    """A preset's ``midi`` list, checked (SecurityError naming the bad field) and with only the known keys."""
    if not isinstance(value, list) or len(value) > MAX_MAPPINGS:
        raise SecurityError(f"midi: expected a list of at most {MAX_MAPPINGS} mappings")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or set(m) - {"kind", "channel", "number", "target"}:
            raise SecurityError(f'midi[{i}]: expected {{"kind", "channel", "number", "target"}}')
        if m.get("kind") not in ("cc", "note"):
            raise SecurityError(f'midi[{i}].kind must be "cc" or "note"')
        target = m.get("target")
        if not isinstance(target, str) or not _TARGET.match(target):
            raise SecurityError(f"midi[{i}].target must name a control, e.g. temperature or bias/0")
        channel, number = _int(m.get("channel"), f"[{i}].channel", 15), _int(m.get("number"), f"[{i}].number", 127)
        out.append({"kind": m["kind"], "channel": channel, "number": number, "target": target})
    return out
