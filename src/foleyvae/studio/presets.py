"""Control presets: safe names, the file format (tied to the model they were made for), validation on import.

A preset file is ``{"format": "foleyvae-preset", "version": 1, "model": NAME, "model_id": ID, "controls": {...}}``;
a bare controls object (what older studios wrote and what ``Export JSON`` used to give) still reads, with no model.
Every import and every load goes through :func:`check_preset`, which validates the controls against the one control
spec (``inference.control_spec``, via ``security.validate_controls``) and the page's model: the first bad field is
named in a one-line error and nothing is applied; a preset made for another model loads with a warning.
"""

from __future__ import annotations

import re
from typing import Any

from foleyvae.inference import control_spec
from foleyvae.studio.security import SecurityError, validate_controls

__all__ = ["PRESET_FORMAT", "check_preset_name", "preset_record", "check_preset", "controls_of"]

PRESET_FORMAT = "foleyvae-preset"
MAX_PRESET_NAME = 40
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")


def check_preset_name(name: str) -> str:
    """A preset name as typed (letters, digits, space, ``-``, ``_``, ``.``; at most 40) or a one-line error."""
    if not isinstance(name, str) or not name.strip():
        raise SecurityError("preset name: give the preset a name")
    name = name.strip()
    if len(name) > MAX_PRESET_NAME:
        raise SecurityError(f"preset name: at most {MAX_PRESET_NAME} characters")
    if "/" in name or "\\" in name:
        raise SecurityError(f"preset name {name[:40]!r}: '/' and '\\' are not allowed (a preset is one file)")
    if not _NAME.match(name) or ".." in name:
        raise SecurityError(
            f"preset name {name[:40]!r}: use letters, digits, spaces, '-', '_' and '.', starting with a letter or digit"
        )
    return name


def controls_of(data: Any) -> tuple[Any, str | None]:
    """(controls, model name or None) of a preset file in either format (see the module docstring)."""
    if isinstance(data, dict) and data.get("format") == PRESET_FORMAT:
        model = data.get("model")
        return data.get("controls"), model if isinstance(model, str) else None
    return data, None


def _legacy(controls: Any) -> Any:
    """Controls saved before a control was renamed load under its name now (``control_spec.LEGACY_NAMES``)."""
    if isinstance(controls, dict):
        return {control_spec.LEGACY_NAMES.get(k, k): v for k, v in controls.items()}
    return controls


def check_preset(data: Any, model_name: str, latent_size: int, labels: list[str]) -> dict[str, Any]:
    """Validate a preset for a model -> ``{"controls", "model", "warning"}``; SecurityError names the bad field."""
    controls, made_for = controls_of(data)
    if not isinstance(controls, dict):
        raise SecurityError('preset: expected a JSON object of controls (or {"format": "foleyvae-preset", ...})')
    try:
        clean = validate_controls(_legacy(controls), latent_size, labels)
    except SecurityError as e:
        raise SecurityError(f"preset not applied: {e}") from None
    warning = None
    if made_for and made_for != model_name:
        warning = (
            f"this preset was made for model {made_for!r}; it is loaded onto {model_name!r} and may sound different"
        )
    return {"controls": clean, "model": made_for, "warning": warning}


def preset_record(controls: dict[str, Any], model_name: str, model_id: str | None) -> dict[str, Any]:
    """What a preset file holds (see the module docstring)."""
    return {"format": PRESET_FORMAT, "version": 1, "model": model_name, "model_id": model_id, "controls": controls}
