"""One control spec: every layer (engine controls, studio validation, page, CLI flags, live's stdin) accepts each
control exactly on the spec's range and refuses just past it, and names no control the spec does not define."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from foleyvae.cli.transfer import add_control_arguments
from foleyvae.inference.control_spec import CONTROLS, N_SCALARS, SLOT, ControlError, as_json, check, control
from foleyvae.inference.controls import Controls
from foleyvae.live.audio_io import STDIN_KEYS, apply_command
from foleyvae.studio.security import SecurityError, validate_controls

SCALARS = [c for c in CONTROLS if c.kind in ("number", "material")]
STATIC = Path(__file__).resolve().parents[2] / "src" / "foleyvae" / "studio" / "static"


def _edges(lo: float, hi: float) -> tuple[list[float], list[float]]:
    eps = 1e-6 * max(1.0, hi - lo)
    return [lo, hi], [lo - eps, hi + eps, float("nan")]


def _studio(name: str, v: float) -> dict[str, object]:
    return {"towards": {"label": "wood", "amount": v}} if name == "towards" else {name: v}


def _cli(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(exit_on_error=False)
    add_control_arguments(p)
    return p.parse_args(argv)


@pytest.mark.parametrize("c", SCALARS, ids=lambda c: c.name)
def test_each_layer_accepts_the_range_and_refuses_past_it(c, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = _edges(c.lo, c.hi)
    key = next(k for k, n in STDIN_KEYS.items() if n == c.name)
    flag = "--amount" if c.name == "towards" else f"--{c.name.replace('_', '-')}"
    for v in good:
        Controls(4).set(c.name, v)
        assert validate_controls(_studio(c.name, v), 4, ["wood"])
        assert getattr(_cli([flag, repr(v)]), "amount" if c.name == "towards" else c.name) == v
        assert not apply_command(Controls(4), f"{key}={v!r}").startswith(("error", "unknown"))
    for v in bad:
        with pytest.raises(ControlError):
            Controls(4).set(c.name, v)
        with pytest.raises(SecurityError):
            validate_controls(_studio(c.name, v), 4, ["wood"])
        with pytest.raises((argparse.ArgumentError, SystemExit)):
            _cli([flag, repr(v)])
        assert apply_command(Controls(4), f"{key}={v!r}").startswith("error:"), (c.name, v)
    capsys.readouterr()


def test_per_dim_controls_follow_the_spec() -> None:
    for name, prefix, setter in (("bias", "b", Controls.set_bias), ("scale", "s", Controls.set_scale)):
        c = control(name)
        good, bad = _edges(c.lo, c.hi)
        for v in good:
            setter(Controls(4), 0, v)
            assert apply_command(Controls(4), f"{prefix}0={v!r}") == f"{prefix}0 = {v:g}"
        for v in bad:
            with pytest.raises(ControlError):
                setter(Controls(4), 0, v)
            assert apply_command(Controls(4), f"{prefix}0={v!r}").startswith("error:")
        ui_good, ui_bad = _edges(*c.ui_range)  # the studio's sliders: their own unit (bias in stds)
        for v in ui_good:
            assert validate_controls({name: [v]}, 4, []) == {name: [v]}
        for v in ui_bad:
            with pytest.raises(SecurityError):
                validate_controls({name: [v]}, 4, [])
        assert c.lo <= c.ui_range[0] <= c.ui_range[1] <= c.hi or name == "bias"  # bias: stds, not latent units


def test_no_layer_names_a_control_the_spec_does_not_define() -> None:
    names = {c.name for c in CONTROLS}
    with pytest.raises(SecurityError, match="unknown key 'gain_db'"):  # the old name is refused on the wire
        validate_controls({"gain_db": 0.0}, 4, [])
    with pytest.raises(ControlError, match="unknown control"):
        check("volume", 1.0)
    assert set(STDIN_KEYS.values()) <= names and apply_command(Controls(4), "x=1").startswith("unknown command")
    # the page: its control sliders name spec controls and carry no range of their own (set from /api/state)
    html = (STATIC / "index.html").read_text()
    tagged = re.findall(r"<input[^>]*data-control=\"([a-z_]+)\"[^>]*>", html)
    assert set(tagged) <= names and {"temperature", "dry_wet", "input_gain_db", "towards"} <= set(tagged)
    for tag in re.findall(r"<input[^>]*data-control=[^>]*>", html):
        assert not re.search(r"\b(min|max|step)=", tag), tag
    js = (STATIC / "app.js").read_text()
    neutral = re.search(r"function neutralControls\(k\) \{\s*return \{(.*?)\};", js, re.S)
    assert neutral is not None
    assert set(re.findall(r"^\s*(\w+):", neutral.group(1), re.M)) == names
    # the engine's snapshot slots are the spec's, one each
    assert sorted(c.slot for c in CONTROLS if c.slot is not None) == list(range(N_SCALARS))
    assert SLOT.temperature == control("temperature").slot and len(as_json()) == len(CONTROLS)
