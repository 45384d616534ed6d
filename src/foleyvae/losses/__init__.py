"""Training losses.

``spectral``: multi-scale STFT distance (RAVE-style), log-mel distance, and ``band_loss`` for PQMF bands.
``adversarial``: hinge/least-squares GAN losses and feature matching.
Each loss takes ``(target, estimate)`` audio ``[B, C, T]`` and returns a scalar; models report them in a named dict.
"""
