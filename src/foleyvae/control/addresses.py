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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from foleyvae.control.osc import OscMessage
from foleyvae.errors import FoleyError
from foleyvae.inference.control_spec import CONTROLS, ControlError, check, control

__all__ = ["PREFIX", "AddressError", "Change", "resolve", "address_table", "markdown_table"]

PREFIX = "/foleyvae/"
ACTIONS = ("record", "reset")
_MATERIAL = re.compile(r"^[A-Za-z0-9_.:,/+-]{1,200}$")  # a material name, a full label or a blend


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


def resolve(msg: OscMessage, ui: bool) -> Change:
    """An OSC message -> the change it asks for (``ui``: check against the studio sliders' ranges)."""
    if not msg.address.startswith(PREFIX):
        raise AddressError(f"unknown address {msg.address[:60]!r}: the space is {PREFIX}... (docs/osc.md)")
    if any(ch in msg.address for ch in "*?[]{}#, "):
        raise AddressError(f"{msg.address[:60]}: address patterns are not supported; send one address per message")
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
