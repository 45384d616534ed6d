"""Evaluation of Foley-VAE models (``foleyvae evaluate``).

* :mod:`foleyvae.eval.metrics` -- SI-SDR, multiscale STFT and mel distances, loudness-envelope correlation, onset
  precision/recall/F1, Frechet distance of embedding sets, Spearman correlation, monotone fraction, aggregation.
* :mod:`foleyvae.eval.embeddings` -- ``embed(audio [T], sample_rate) -> [D]``: the aisfx sound-effects CNN
  (ISMIR 2022, weights shipped in its wheel) or a documented hand-made fallback.
* :mod:`foleyvae.eval.transfer_sets` -- non-Foley inputs: espeak-ng speech (cached), taps at known times,
  chirps and arpeggios.
* :mod:`foleyvae.eval.suite` -- ``evaluate(model, dataset, EvalOptions) -> EvalResult``: runs the three sections,
  :mod:`foleyvae.eval.reconstruction` (held-out split), :mod:`foleyvae.eval.transfer` (timbre-transfer scorecard)
  and :mod:`foleyvae.eval.mixing_sweeps`; :mod:`foleyvae.eval.common` holds what they share (``Figure``, ...).
* :mod:`foleyvae.eval.reports` -- JSON, Markdown/HTML report with tables and spectrogram PNGs, terminal summary.

Nothing is imported here: importing the package stays free of torch/matplotlib.
"""
