"""Minimal stand-in for torchaudio, used ONLY to build a RAVE export in the test venv (make_rave_export.sh).

acids-rave 2.3.1 imports torchaudio at module import (rave/blocks.py, rave/core.py), but the torchaudio wheel that
pip resolves beside torch 2.13 cannot load its native library. RAVE's v2_small model never runs these transforms
when exporting (its encoder input is PQMF bands; the spectrograms feed training losses only), so constructible
modules with a plain-torch STFT are enough. Not part of the foleyvae package.
"""

from . import functional, transforms

__all__ = ["functional", "transforms"]
