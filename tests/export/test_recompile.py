"""Recompiling an export with the current code: same weights and metadata, the new layer code, checked outputs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from foleyvae.errors import FoleyError
from foleyvae.export.loader import load_file
from foleyvae.export.nn_tilde import EXTRA_FILE, quiet_jit
from foleyvae.export.recompile import recompile_waveform_export


def test_recompiled_file_plays_like_the_old_one_with_the_new_code(exported: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "again.ts"
    rep = recompile_waveform_export(exported["path"], out)
    assert rep.max_abs_error <= 1e-5 and rep.new_bytes == out.stat().st_size
    old, new = load_file(exported["path"]), load_file(out)  # the new .sha256 sidecar verifies
    assert new.metadata == old.metadata
    # the dilated convs of the file now take the batch-1 matmul path (nn/streaming.py)
    dilated = [m for n, m in new.module.named_modules() if n.endswith("conv1") and int(m.dilation) > 1]
    assert dilated and all("conv1d_as_matmul" in m.code for m in dilated)
    x = torch.randn(1, 1, 4096) * 0.1
    with torch.no_grad():
        torch.testing.assert_close(new.module.forward(x), old.module.forward(x), atol=1e-5, rtol=1e-4)


def test_a_file_whose_config_does_not_build_its_weights_is_refused(exported: dict[str, Any], tmp_path: Path) -> None:
    extra = {EXTRA_FILE: ""}
    with quiet_jit():
        module = torch.jit.load(str(exported["path"]), _extra_files=extra)
    meta = json.loads(extra[EXTRA_FILE])
    meta["config"]["model"]["capacity"] *= 2  # the config now describes another model than the weights
    bad = tmp_path / "bad.ts"
    buf = io.BytesIO()
    torch.jit.save(module, buf, _extra_files={EXTRA_FILE: json.dumps(meta)})
    bad.write_bytes(buf.getvalue())
    out = tmp_path / "out.ts"
    with pytest.raises(FoleyError, match="does not fit the model its config builds"):
        recompile_waveform_export(bad, out)
    assert not out.exists()
