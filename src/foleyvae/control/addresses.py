"""The OSC address space, derived from the one control spec (``inference.control_spec.CONTROLS``).

Every spec control has an address under ``/foleyvae/``; a per-dim control (``bias``, ``scale``) has one per PCA dim
(``/foleyvae/bias/0``), the material control one per material (``/foleyvae/towards/wood f``: steer toward wood at
that amount) besides ``/foleyvae/towards f`` (the amount), ``/foleyvae/towards s f`` (a name or blend and its
amount) and ``/foleyvae/towards/off``. Two actions stand outside the spec: ``/foleyvae/record i`` (1 arms a take, 0
ends it) and ``/foleyvae/reset`` (every control back to its default). :func:`markdown_table` prints the table that
``docs/osc.md`` holds (a test keeps them equal).

Values are checked against the spec's range: in the studio its ``ui_range`` (bias in stds of the dim, as the page's
sliders), in ``live`` its engine range (bias in latent units, as stdin's ``b0=``). Numbers may come as ``i`` or
``f``; an on/off control also takes ``T``/``F``. A well-formed message that names no control, has the wrong
arguments or a value out of range raises :class:`AddressError` (the server counts it as rejected).

Address patterns (OSC 1.0: ``?`` one character, ``*`` any run, ``[a-c]``/``[!0]`` a set, ``{dry_wet,limiter}`` a
choice; none of them crosses a ``/``) are expanded by :func:`expand` over the concrete addresses of the model
playing (:func:`concrete_addresses`: every control, each PCA dim, each material name it knows), so
``/foleyvae/bias/* f 0`` centres every dim and ``/foleyvae/scale/[0-3] f 1.5`` widens the first four.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from foleyvae.control.osc import OscMessage
from foleyvae.errors import FoleyError
from foleyvae.inference.control_spec import CONTROLS, ControlError, check, control

__all__ = [
    "PREFIX",
    "AddressError",
    "Change",
    "address_table",
    "concrete_addresses",
    "expand",
    "is_pattern",
    "markdown_table",
    "pattern_regex",
    "resolve",
]

PREFIX = "/foleyvae/"
ACTIONS = ("record", "reset")
_MATERIAL = re.compile(r"^[A-Za-z0-9_.:,/+-]{1,200}$")  # a material name, a full label or a blend
PATTERN_CHARS = frozenset("*?[]{}")
MAX_MATCHES = 1024  # addresses one pattern may reach (every dim of a large latent, every material)


class AddressError(FoleyError, ValueError):
    """A well-formed OSC message the address space cannot apply (unknown address, wrong arguments, out of range)."""


@dataclass(frozen=True)
class Change:
    """One control change from a surface.

    kind: ``"set"`` (a scalar control: ``name`` = ``value``), ``"dim"`` (``name``[``dim``] = ``value``),
    ``"amount"`` (the material amount), ``"material"`` (steer toward ``material``, at amount ``value`` or the
    current one when None), ``"material_off"``, ``"record"`` (``value`` True/False) or ``"reset"``.
    """

    kind: str
    name: str
    value: float | bool | None = None
    dim: int | None = None
    material: str | None = None


def _numbers(msg: OscMessage, n: int, bools: bool = False) -> list[float]:
    """Exactly ``n`` numeric arguments (``i``/``f``; ``T``/``F`` when ``bools``) as floats."""
    ok = "if" + ("TF" if bools else "")
    if len(msg.args) != n or any(t not in ok for t in msg.tags):
        want = "no arguments" if n == 0 else f"{n} number{'s' if n > 1 else ''} (i or f)"
        raise AddressError(f"{msg.address}: expected {want}, got ',{msg.tags}'")
    return [float(a) for a in msg.args]  # type: ignore[arg-type]


def _checked(name: str, value: float | bool, ui: bool) -> float:
    try:
        return check(name, value, ui=ui)
    except ControlError as e:
        raise AddressError(str(e)) from None


def _material_name(name: str) -> str:
    if not _MATERIAL.match(name):
        raise AddressError(f"material name {name[:40]!r}: letters, digits and _.:,/+- only")
    return name


def _towards(msg: OscMessage, rest: list[str], ui: bool) -> Change:
    """``/foleyvae/towards[/...]`` -> a material change."""
    if rest == ["off"]:
        _numbers(msg, 0)
        return Change("material_off", "towards")
    if rest:
        amount = _numbers(msg, 1)[0] if msg.args else None
        value = None if amount is None else _checked("towards", amount, ui)
        return Change("material", "towards", value, material=_material_name("/".join(rest)))
    if msg.tags in ("s", "sf", "si"):
        amount = _checked("towards", float(msg.args[1]), ui) if len(msg.args) > 1 else None  # type: ignore[arg-type]
        return Change("material", "towards", amount, material=_material_name(str(msg.args[0])))
    return Change("amount", "towards", _checked("towards", _numbers(msg, 1)[0], ui))


def is_pattern(address: str) -> bool:
    return any(ch in PATTERN_CHARS for ch in address)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """An OSC 1.0 address pattern -> a compiled regex for ``fullmatch`` (AddressError when malformed)."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise AddressError(f"{pattern[:60]}: '[' without ']'")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body or "/" in body:
                raise AddressError(f"{pattern[:60]}: an empty or '/' set in [...]")
            # '-' between two characters is a range; elsewhere (first or last) a literal '-'
            parts = [re.escape(c) if c != "-" or k in (0, len(body) - 1) else "-" for k, c in enumerate(body)]
            out.append(("[^/" if negate else "[") + "".join(parts) + "]")
            i = end
        elif ch == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise AddressError(f"{pattern[:60]}: '{{' without '}}'")
            choices = pattern[i + 1 : end].split(",")
            if any("/" in c or any(x in PATTERN_CHARS for x in c) for c in choices):
                raise AddressError(f"{pattern[:60]}: a choice in {{...}} holds '/' or another pattern")
            out.append("(?:" + "|".join(re.escape(c) for c in choices) + ")")
            i = end
        elif ch in "]}":
            raise AddressError(f"{pattern[:60]}: {ch!r} without its opening bracket")
        else:
            out.append(re.escape(ch))
        i += 1
    try:
        return re.compile("".join(out))
    except re.error as e:  # a reversed range such as [9-0]
        raise AddressError(f"{pattern[:60]}: bad pattern ({e})") from None


def concrete_addresses(latent_size: int, materials: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Every address a pattern may reach for a model with ``latent_size`` PCA dims and these material names."""
    out = []
    for c in CONTROLS:
        if c.kind == "dims":
            out += [f"{PREFIX}{c.name}/{d}" for d in range(int(latent_size))]
        elif c.kind == "material":
            out += [f"{PREFIX}{c.name}", f"{PREFIX}{c.name}/off"]
            out += [f"{PREFIX}{c.name}/{m}" for m in materials if _MATERIAL.match(m)]
        else:
            out.append(f"{PREFIX}{c.name}")
    return out + [f"{PREFIX}{a}" for a in ACTIONS]


def expand(msg: OscMessage, space: list[str] | None) -> list[OscMessage]:
    """A message -> the messages it stands for: itself, or one per address of ``space`` its pattern matches (in
    ``space``'s order). AddressError when a pattern is malformed, matches nothing, or no space is known."""
    if not is_pattern(msg.address):
        return [msg]
    if space is None:
        raise AddressError(f"{msg.address[:60]}: address patterns need a model (none is playing)")
    rx = pattern_regex(msg.address)
    hits = [a for a in space if rx.fullmatch(a)]
    if not hits:
        raise AddressError(f"{msg.address[:60]}: the pattern matches no address (docs/osc.md lists the space)")
    if len(hits) > MAX_MATCHES:
        raise AddressError(f"{msg.address[:60]}: the pattern matches {len(hits)} addresses (at most {MAX_MATCHES})")
    return [OscMessage(a, msg.tags, msg.args) for a in hits]


def resolve(msg: OscMessage, ui: bool) -> Change:
    """An OSC message -> the change it asks for (``ui``: check against the studio sliders' ranges)."""
    if not msg.address.startswith(PREFIX):
        raise AddressError(f"unknown address {msg.address[:60]!r}: the space is {PREFIX}... (docs/osc.md)")
    if is_pattern(msg.address):
        raise AddressError(f"{msg.address[:60]}: a pattern; expand() it over the model's addresses first")
    if any(ch in msg.address for ch in "#, "):
        raise AddressError(f"{msg.address[:60]}: '#', ',' and spaces are not allowed in an OSC address")
    parts = msg.address[len(PREFIX) :].split("/")
    head, rest = parts[0], parts[1:]
    if head == "record" and not rest:
        return Change("record", "record", _numbers(msg, 1, bools=True)[0] != 0.0)
    if head == "reset" and not rest:
        _numbers(msg, 0)
        return Change("reset", "reset")
    try:
        spec = control(head)
    except ControlError:
        raise AddressError(f"unknown address {msg.address[:60]!r} (docs/osc.md lists the space)") from None
    if spec.kind == "material":
        return _towards(msg, rest, ui)
    if spec.kind == "dims":
        if len(rest) != 1 or not rest[0].isdigit() or len(rest[0]) > 4:
            raise AddressError(f"{msg.address[:60]}: expected {PREFIX}{head}/DIM with DIM a number")
        return Change("dim", head, _checked(head, _numbers(msg, 1)[0], ui), dim=int(rest[0]))
    if rest:
        raise AddressError(f"unknown address {msg.address[:60]!r}")
    if spec.kind == "bool":
        return Change("set", head, _numbers(msg, 1, bools=True)[0] != 0.0)
    return Change("set", head, _checked(head, _numbers(msg, 1)[0], ui))


def _range(lo: float, hi: float, unit: str | None) -> str:
    return f"{lo:g} .. {hi:g}" + (f" {unit}" if unit else "")


def address_table() -> list[tuple[str, str, str, str, str]]:
    """(address, arguments, studio range, live range, what) for every address, in the spec's order."""
    rows = []
    for c in CONTROLS:
        studio, live = _range(*c.ui_range, c.ui_unit or c.unit), _range(c.lo, c.hi, c.unit)
        if c.kind == "dims":
            rows.append((f"{PREFIX}{c.name}/DIM", "f", studio, live, f"{c.help} (DIM = 0, 1, ...)"))
        elif c.kind == "bool":
            rows.append((f"{PREFIX}{c.name}", "i", "0 / 1", "0 / 1", c.help))
        elif c.kind == "material":
            rows += [
                (f"{PREFIX}{c.name}/NAME", "[f]", studio, live, "steer toward material NAME (at this amount)"),
                (f"{PREFIX}{c.name}", "f", studio, live, "the material amount"),
                (f"{PREFIX}{c.name}", "s [f]", studio, live, "a material name or blend (wood:0.6,metal:0.4)"),
                (f"{PREFIX}{c.name}/off", "", "", "", "material steering off"),
            ]
        else:
            rows.append((f"{PREFIX}{c.name}", "f", studio, live, c.help))
    rows.append((f"{PREFIX}record", "i", "0 / 1", "-", "1 arms a take, 0 ends it (the studio page records)"))
    rows.append((f"{PREFIX}reset", "", "", "", "every control back to its default"))
    return rows


def markdown_table() -> str:
    """The address table as markdown (what docs/osc.md holds)."""
    head = "| address | arguments | studio range | live range | what |\n|---|---|---|---|---|\n"
    return head + "".join(f"| `{a}` | {t} | {s} | {li} | {w} |\n" for a, t, s, li, w in address_table())
