"""Training losses: ``adversarial`` (hinge/least-squares GAN losses and feature matching), for phase 2.

The spectral distances (multiscale STFT, mel, PQMF bands) are DSP measurements shared by the models' reconstruction
terms, validation and evaluation: they live below all of them, in :mod:`foleyvae.audio.distances`.
"""
