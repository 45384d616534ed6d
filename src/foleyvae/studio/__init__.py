"""Foley-VAE Studio: the local web page for performing Foley through a model (``foleyvae studio``).

``app`` (assembles the FastAPI app behind its guard), ``routes/`` (one router per area), ``ws`` (the live
WebSocket, one method per message type), ``state`` (``Studio``, ``StudioConfig``), ``session`` (catalog, session
folder, live engine, takes), ``security`` (token/origin/host/name/control checks), ``limits`` (JSON size/depth),
``server`` (uvicorn limits), ``demo`` (untrained demo model, synthetic samples), ``static/`` (page, AudioWorklet).
Importing this package imports nothing heavy.
"""
