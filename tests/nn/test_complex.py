"""Complex layers vs a real-valued reference of complex arithmetic; complex Gaussian KL and reparameterisation."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from foleyvae.nn.complex import (
    ComplexConv2d,
    ComplexConvTranspose2d,
    ComplexLinear,
    CReLU,
    ModReLU,
    complex_gaussian_kl,
    complex_gaussian_params,
    complex_gaussian_sample,
)


def _ref(op, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None, **kw) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """(a + ib) * (w + iv) = (aw - bv) + i(av + bw), with real ops only."""
    a, b, wr, wi = x.real, x.imag, w.real, w.imag
    re = op(a, wr, None, **kw) - op(b, wi, None, **kw)
    im = op(a, wi, None, **kw) + op(b, wr, None, **kw)
    if bias is not None:
        shape = (1, -1) + (1,) * (re.dim() - 2)
        re = re + bias.real.reshape(shape)
        im = im + bias.imag.reshape(shape)
    return torch.complex(re, im)


def test_complex_conv_matches_real_reference() -> None:
    torch.manual_seed(0)
    layer = ComplexConv2d(3, 5, (4, 3), stride=(2, 1), padding=(1, 1))
    with torch.no_grad():
        layer.bias.copy_(torch.randn(5, dtype=torch.cfloat))  # type: ignore[union-attr]
    x = torch.randn(2, 3, 16, 8, dtype=torch.cfloat)
    ref = _ref(F.conv2d, x, layer.weight, layer.bias, stride=(2, 1), padding=(1, 1))
    assert torch.allclose(layer(x), ref, atol=1e-5)


def test_complex_transposed_conv_matches_real_reference() -> None:
    torch.manual_seed(1)
    layer = ComplexConvTranspose2d(4, 2, 4, stride=2, padding=1)
    with torch.no_grad():
        layer.bias.copy_(torch.randn(2, dtype=torch.cfloat))  # type: ignore[union-attr]
    x = torch.randn(2, 4, 5, 3, dtype=torch.cfloat)
    out = layer(x)
    assert out.shape == (2, 2, 10, 6)
    assert torch.allclose(out, _ref(F.conv_transpose2d, x, layer.weight, layer.bias, stride=2, padding=1), atol=1e-5)


def test_complex_linear_and_activations() -> None:
    torch.manual_seed(2)
    lin = ComplexLinear(6, 3)
    with torch.no_grad():
        lin.bias.copy_(torch.randn(3, dtype=torch.cfloat))  # type: ignore[union-attr]
    x = torch.randn(4, 6, dtype=torch.cfloat)
    assert torch.allclose(lin(x), _ref(F.linear, x, lin.weight, lin.bias), atol=1e-5)
    z = torch.tensor([[1 - 2j, -1 + 0.5j, -3 - 3j]])
    assert torch.equal(CReLU()(z), torch.tensor([[1 + 0j, 0.5j, 0j]]))
    mod = ModReLU(1, init_bias=-2.0)
    out = mod(z.reshape(1, 1, 3))[0, 0]
    # |1-2j| = 2.236 -> kept with magnitude 0.236 and the same phase; |-1+0.5j| < 2 -> 0; |-3-3j| = 4.24 -> 2.24
    assert abs(out[1]) == 0
    assert torch.allclose(out[0].angle(), z[0, 0].angle()) and torch.allclose(out[0].abs(), z[0, 0].abs() - 2.0)
    assert torch.allclose(out[2].abs(), z[0, 2].abs() - 2.0, atol=1e-6)
    # gradients flow through complex parameters, and Adam accepts them
    opt = torch.optim.Adam(list(lin.parameters()) + list(mod.parameters()), lr=1e-2)
    loss = mod(lin(x).unsqueeze(-1)).abs().square().mean()
    loss.backward()
    assert lin.weight.grad is not None and lin.weight.grad.is_complex()
    opt.step()


def test_complex_kl_zero_at_standard_and_positive_elsewhere() -> None:
    zeros = torch.zeros(5, dtype=torch.cfloat)
    ones = torch.ones(5)
    assert torch.allclose(complex_gaussian_kl(zeros, ones, zeros), torch.zeros(5), atol=1e-7)
    mean = torch.tensor([0.5 + 0j, 0j, 0j, 0j, 0.1 - 0.2j])
    cov = torch.tensor([1.0, 2.0, 0.5, 1.0, 0.8])
    pcov = torch.tensor([0j, 0j, 0j, 0.5j, 0.3 + 0.1j])
    kl = complex_gaussian_kl(mean, cov, pcov)
    assert torch.all(kl > 1e-3)
    # agrees with the KL of the equivalent real 2-D Gaussians against N(0, I / 2)
    for i in range(5):
        g, c = cov[i].double(), pcov[i].to(torch.complex128)
        sigma = 0.5 * torch.stack([torch.stack([g + c.real, c.imag]), torch.stack([c.imag, g - c.real])])
        m = torch.stack([mean[i].real, mean[i].imag]).double()
        p = torch.distributions.MultivariateNormal(m, sigma)
        q = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64), 0.5 * torch.eye(2).double())
        assert abs(torch.distributions.kl_divergence(p, q).item() - kl[i].item()) < 1e-5


def test_reparameterisation_monte_carlo() -> None:
    gen = torch.Generator().manual_seed(0)
    n = 200_000
    mean = torch.full((n,), 0.3 - 0.7j, dtype=torch.cfloat)
    cov = torch.full((n,), 1.7)
    pcov = torch.full((n,), 0.6 + 0.9j, dtype=torch.cfloat)  # |c| = 1.08 < 1.7
    z = complex_gaussian_sample(mean, cov, pcov, generator=gen).to(torch.complex128)
    d = z - z.mean()
    assert abs(z.mean() - (0.3 - 0.7j)) < 0.01
    assert abs((d.abs() ** 2).mean().item() - 1.7) < 0.02
    assert abs((d * d).mean() - (0.6 + 0.9j)) < 0.02
    # gradients reach all three parameters
    m = torch.zeros(3, dtype=torch.cfloat, requires_grad=True)
    cp = torch.zeros(3, requires_grad=True)
    pp = torch.full((3,), 0.2 + 0.1j, dtype=torch.cfloat, requires_grad=True)
    g, c = complex_gaussian_params(cp, pp)
    assert torch.all(c.abs() < g)
    complex_gaussian_sample(m, g, c).abs().sum().backward()
    assert m.grad is not None and cp.grad is not None and pp.grad is not None
    assert torch.isfinite(pp.grad).all()


def test_params_always_proper() -> None:
    cp = torch.randn(1000) * 5
    pp = torch.randn(1000, dtype=torch.cfloat) * 10
    g, c = complex_gaussian_params(cp, pp)
    assert torch.all(g > 0) and torch.all(c.abs() < g)
    assert torch.isfinite(complex_gaussian_kl(torch.zeros(1000, dtype=torch.cfloat), g, c)).all()
