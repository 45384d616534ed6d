"""Control from hardware: an OSC 1.0 parser and UDP server (``osc``, ``server``) and the OSC address space derived
from the one control spec (``addresses``). The studio and ``live`` apply what arrives (``studio.remote``,
``live.osc``); the page's MIDI learn and keyboard shortcuts are in ``studio/static``."""
