import numpy as np
import pytest

from foleyvae.inference.controls import Controls
from foleyvae.inference.engine import EngineError
from foleyvae.inference.materials import MaterialError
from foleyvae.inference.mixing import (
    MixError,
    _aligned_latents,
    first_onset,
    material_table,
    mix,
    morph,
    towards,
)
from foleyvae.inference.render import default_block_size, regenerate, render
from tests.conftest import SR, footstep
from tests.inference.toy import ToyStream


def _placed(offset_s: float, total_s: float = 0.8, material: str = "wood", seed: int = 0) -> np.ndarray:
    x = np.zeros(int(total_s * SR), np.float32)
    f = footstep(material, 0.3, seed=seed)
    k = int(offset_s * SR)
    x[k : k + len(f)] = f[: len(x) - k]
    return x[None]


@pytest.mark.parametrize("block", [64, 100, 2048])
def test_render_is_delay_compensated(block: int) -> None:
    m = ToyStream()
    c = Controls(m.latent_size)
    c.set_dry_wet(0.0)
    c.set_limiter(False)
    x = _placed(0.1, 0.3)
    y = render(m, x, block, c)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1e-6)  # dry path, aligned: the input itself


def test_render_matches_whole_sound_model_output() -> None:
    m = ToyStream()
    x = _placed(0.05, 0.25)
    y_blocks = regenerate(m, x, 64)
    y_other = regenerate(m, x, 100)  # FIFO path
    y_whole = mix(m, x, x, 0.0)  # whole-sound encode/decode
    np.testing.assert_allclose(y_blocks, y_whole, atol=1e-5)
    np.testing.assert_allclose(y_other, y_whole, atol=1e-5)
    assert np.abs(y_blocks).max() > 1e-3


def test_render_rejects_wrong_channels() -> None:
    with pytest.raises(EngineError):
        render(ToyStream(), np.zeros((2, 100), np.float32), 64)
    assert default_block_size(ToyStream()) == 2048


def test_mix_alpha0_equals_regenerate_a() -> None:
    m = ToyStream()
    a, b = _placed(0.1, 0.5), _placed(0.2, 0.7, "metal", 3)
    y = mix(m, a, b, 0.0)
    ref = regenerate(m, a)
    assert y.shape[1] >= a.shape[1]
    np.testing.assert_allclose(y[:, : a.shape[1]], ref, atol=1e-5)


def test_onset_alignment_of_two_footsteps() -> None:
    m = ToyStream()
    # the same step, 11008 samples (0.25 s) later; offsets on the onset detector's 128-sample grid
    a, b = _placed(4480 / SR), _placed(15488 / SR, seed=0)
    ta, tb = first_onset(a, SR), first_onset(b, SR)
    assert abs((tb - ta) * SR - 11008) < 1
    za, zb, length, shift = _aligned_latents(m, a, b)
    assert shift == round((ta - tb) * SR / m.hop_length) < 0
    assert za.shape == zb.shape
    # aligned: b's latent now equals a's latent around the step (same step, same encoder)
    f0 = int(0.1 * SR / m.hop_length)
    f1 = f0 + int(0.2 * SR / m.hop_length)
    np.testing.assert_allclose(zb[:, f0:f1], za[:, f0:f1], atol=1e-4)
    # and the mix of the step with its shifted copy is the regenerated step
    y = mix(m, a, b, 0.5)
    ref = regenerate(m, a)
    n0, n1 = int(0.1 * SR), int(0.4 * SR)
    np.testing.assert_allclose(y[:, n0:n1], ref[:, n0:n1], atol=1e-3)


def test_morph_goes_from_a_to_b() -> None:
    m = ToyStream()
    a = np.tile(footstep("wood", 0.1, seed=1), 6)[None]  # sustained material textures from t = 0
    b = np.tile(footstep("metal", 0.1, seed=5), 6)[None]
    y = morph(m, a, b)
    ya, yb = regenerate(m, a), regenerate(m, b)
    n = y.shape[1]
    head, tail = slice(0, n // 10), slice(n - n // 20, n)
    assert np.abs(y[:, head] - ya[:, head]).mean() < np.abs(y[:, head] - yb[:, head]).mean()
    assert np.abs(y[:, tail] - yb[:, tail]).mean() < np.abs(y[:, tail] - ya[:, tail]).mean()


def test_towards_adds_the_material_offset_and_names_the_labels() -> None:
    m = ToyStream()
    a = _placed(0.1, 0.4)
    y0 = towards(m, a, "metal", 0.0)
    np.testing.assert_allclose(y0, regenerate(m, a), atol=1e-5)
    y1 = towards(m, a, "metal", 1.0)
    assert np.abs(y1 - y0).max() > 1e-4
    # the toy has centroids only: offsets are the centroids minus their mean (metal [1.5, 0..], wood [-1, 0.5..])
    np.testing.assert_allclose(material_table(m).steer("metal"), [1.25, -0.25, -0.25, -0.25])
    # an offset given as numbers is the same steering
    np.testing.assert_allclose(towards(m, a, [1.25, -0.25, -0.25, -0.25], 1.0), y1, atol=1e-6)
    with pytest.raises(MaterialError, match="knows: metal, wood"):
        towards(m, a, "glass", 0.5)
    with pytest.raises(MixError):
        mix(m, a, a, 1.5)
