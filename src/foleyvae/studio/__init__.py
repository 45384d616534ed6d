"""Foley-VAE Studio: the local web page for performing Foley through a model (``foleyvae studio``).

``app`` (FastAPI routes + the live WebSocket), ``session`` (catalog, session folder, live engine, takes),
``security`` (token/origin/host/name/control checks), ``demo`` (untrained demo model, synthetic samples),
``static/`` (page, AudioWorklet). Importing this package imports nothing heavy.
"""
