"""The studio's HTTP routes, one ``APIRouter`` per area, each built by a function that receives the :class:`Studio`.

``pages`` (login, the page, its assets), ``models``, ``samples`` (library and uploads), ``render`` (renders and
mixes), ``takes`` (takes and video muxes), ``presets``. :func:`foleyvae.studio.app.create_app` assembles them behind
its token/Host guard.
"""
