"""Foley-VAE: RAVE-style variational autoencoders for film Foley.

Importing the package does nothing but define ``__version__``; every heavy dependency is imported lazily.
"""

__version__ = "0.1.0"
