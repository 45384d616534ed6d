"""Export and loading of playable models.

* :func:`foleyvae.export.torchscript.export_model` writes an nn~-compatible TorchScript file (methods ``encode``,
  ``decode``, ``forward``; PCA-cropped latent; attributes ``temperature``, ``latent_bias``/``latent_scale``; the
  ``foleyvae.json`` model card inside; a ``.sha256`` sidecar) after checking it against the eager model.
* :func:`foleyvae.export.loader.load_model` opens our files, RAVE exports, run folders and bundled models as a
  :class:`foleyvae.playable.protocol.StreamModel`.

Nothing is imported here (``import foleyvae.export`` stays free of torch); import the submodules.
"""
