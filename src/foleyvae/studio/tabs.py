"""One model per page: each browser tab picks its own model, and its renders and live stream use that model.

A model chosen in tab B used to change the one studio-wide model, so tab A rendered with B's model while it still
showed its own. Now a page sends its tab id (``X-Studio-Tab`` on HTTP, ``?tab=`` on the WebSocket; a random id the
page keeps in ``sessionStorage``, so a reload keeps it) and the server keeps a :class:`Tab` per id: the entry it
picked, its own model instance (the live stream runs on it) and a version that changes with each pick. Requests
without a tab id (scripts, the API tests) share the ``default`` tab, which is the model opened at start.

At most ``max_tabs`` tabs are kept; the least recently seen one is forgotten first (a page that comes back after
that opens on the start model again, and the page re-picks its model when it reconnects).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from foleyvae.playable.protocol import StreamModel
from foleyvae.studio.security import SecurityError, check_id
from foleyvae.studio.session import ModelEntry

__all__ = ["DEFAULT_TAB", "Tab", "Tabs"]

DEFAULT_TAB = "default"


@dataclass
class Tab:
    """One page's model: ``entry`` (what it picked), ``model`` (its own instance, loaded on first use)."""

    id: str
    entry: ModelEntry | None = None
    model: StreamModel | None = None
    version: int = 0
    seen: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def pick(self, entry: ModelEntry, model: StreamModel) -> None:
        with self.lock:
            self.entry, self.model = entry, model
            self.version += 1

    def require_model(self) -> StreamModel:
        """This tab's model instance (loaded now when the tab has only inherited an entry)."""
        with self.lock:
            if self.entry is None:
                raise SecurityError("no model is open; pick one in the Model panel")
            if self.model is None:
                self.model = self.entry.load()
            return self.model


class Tabs:
    """The tabs a studio knows, least recently seen first; new tabs start on ``start_entry()``."""

    def __init__(self, start_entry: Callable[[], ModelEntry | None], max_tabs: int = 16) -> None:
        self.start_entry = start_entry
        self.max_tabs = max(2, max_tabs)
        self._tabs: collections.OrderedDict[str, Tab] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.default = Tab(DEFAULT_TAB)

    def get(self, tab_id: str | None, busy: Callable[[str], bool] = lambda _: False) -> Tab:
        """The tab ``tab_id`` (None or ``"default"``: the shared default tab), created when new.

        busy(id): True for a tab that must not be forgotten (the one that owns the live stream).
        """
        if tab_id is None or tab_id == DEFAULT_TAB:
            return self.default
        check_id(tab_id, "tab id")
        with self._lock:
            tab = self._tabs.get(tab_id)
            if tab is None:
                tab = Tab(tab_id, self.start_entry())
                self._tabs[tab_id] = tab
                for old in list(self._tabs)[: max(0, len(self._tabs) - self.max_tabs)]:
                    if old != tab_id and not busy(old):
                        del self._tabs[old]
            self._tabs.move_to_end(tab_id)
            tab.seen = time.monotonic()
            return tab

    def __len__(self) -> int:
        return len(self._tabs)
