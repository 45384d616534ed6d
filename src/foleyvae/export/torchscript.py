"""Export a waveform VAE to an nn~-compatible TorchScript file (ARCHITECTURE.md section 3, "nn~ contract").

:func:`export_model` is the entry point for every model family: waveform VAEs go to :mod:`.waveform`
(:class:`~.waveform.NnTildeWrapper`), the clip-based MCLT VAEs to :mod:`.spectral`; both build on the shared format,
helpers and self-check of :mod:`.nn_tilde` (:class:`~.nn_tilde.NnTildeBase`).

One audited function, :func:`export_model`: deep-copy the model, remove the weight-norm parametrizations, switch
eval (the noise synth reads its fixed table) and, for the streaming variant, streaming mode *before* scripting (a
scripted module keeps the mode it was scripted in), wrap it in :class:`NnTildeWrapper`, script, embed the metadata
as the extra file ``foleyvae.json``, write atomically with a ``.sha256`` sidecar, reload and compare with the
eager model (:class:`~foleyvae.playable.adapters.EagerStreamModel`, the same latent convention) to 1e-5.

The file's latent (what ``encode`` returns and ``decode`` takes) is PCA-ordered and cropped to ``k`` dims: the
dims reaching ``fidelity`` (0.95) rounded up to a power of two, capped at the model's latent size.

* ``encode(x)``: x ``[B, 1, n]`` -> ``[B, k, n / hop]``: posterior mean (+ ``temperature`` x posterior std x
  N(0, 1), i.e. temperature 1 samples the posterior as in training) -> PCA coords -> first k.
* ``decode(z)``: z ``[B, k, F]`` -> ``z * latent_scale + latent_bias`` (per dim) -> the other L - k PCA dims are
  filled from the latent's distribution: ``temperature x pca_std x N(0, 1)``, i.e. exactly **zeros at
  temperature 0** (the default: deterministic) -> inverse PCA -> decoder -> audio ``[B, 1, F * hop]``.
* ``forward(x)`` = ``decode(encode(x))``: ``[B, 1, n]`` -> ``[B, 1, n]``, delayed by ``delay_samples``.

In the streaming variant each method keeps its state between calls (encode and forward share the encoder's state,
decode and forward the decoder's: use one of {encode/decode, forward} per loaded instance, as with RAVE files).
In the non-streaming variant each call is independent (zero past), e.g. for offline rendering of whole clips.

nn~ attributes (``get_attributes()``, ``get_<a>``/``set_<a>``, ``<a>_params`` type ids as nn_tilde: 1 int,
2 float): ``temperature`` (float), ``latent_bias_dim`` / ``latent_scale_dim`` (int dim, float value: the positional
form nn~'s ``set`` message can send). The whole per-dim lists are read and written with ``get_latent_bias()`` /
``set_latent_bias(List[float])`` and ``get_latent_scale()`` / ``set_latent_scale(...)`` (listed in the metadata
under ``list_attributes``; nn~ passes attribute values positionally, so they are not in ``get_attributes()``).
Other attributes: ``sr`` and ``sample_rate`` (int), ``latent_size`` (k), ``full_latent_size`` (L), ``hop_length``,
``delay_samples``, ``streaming`` (bool).
"""

from __future__ import annotations

from pathlib import Path

from foleyvae.analysis.latent import LatentSpace
from foleyvae.config import Config
from foleyvae.export.nn_tilde import ExportReport
from foleyvae.export.spectral import export_clip_model
from foleyvae.export.waveform import export_waveform_model
from foleyvae.models.base import AutoEncoder
from foleyvae.models.spectral import MCLTVAEBase

__all__ = ["export_model"]


def export_model(
    model: AutoEncoder,
    config: Config | None,
    latent: LatentSpace | None,
    out_path: str | Path,
    *,
    streaming: bool = True,
    fidelity: float = 0.95,
    credits: list[str] | None = None,
    name: str | None = None,
    check: bool = True,
    check_block_sizes: tuple[int, ...] | None = None,
) -> ExportReport:
    """Write ``out_path`` (TorchScript, nn~ contract) and ``out_path.sha256``; both atomically, only if checked.

    The caller's model is not modified (a deep copy is exported). The clip-based MCLT VAEs are exported by
    :func:`foleyvae.export.spectral.export_clip_model` (``streaming`` does not apply: they keep no state).
    ``check_block_sizes`` default to :data:`CHECK_BLOCK_SIZES` (waveform) or one clip (MCLT). Raises FoleyError for
    other models, or if the reloaded file differs from the eager model by more than 1e-5.
    """
    if isinstance(model, MCLTVAEBase):
        return export_clip_model(
            model,
            config,
            latent,
            out_path,
            fidelity=fidelity,
            credits=credits,
            name=name,
            check=check,
            check_block_sizes=check_block_sizes,
        )
    return export_waveform_model(
        model,
        config,
        latent,
        out_path,
        streaming=streaming,
        fidelity=fidelity,
        credits=credits,
        name=name,
        check=check,
        check_block_sizes=check_block_sizes,
    )
