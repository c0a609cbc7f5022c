"""What the shared (cross-session) caches have in common: a builder function hashed by where it is
defined, a shared figure frozen read only, and a store of finished results kept in memory and on disk."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Optional

import plotly.graph_objects as go

from explorer.cached import disk


def function_key(fn: Callable[..., Any]) -> tuple[str, str]:
    """A builder by where it is defined (Streamlit cannot hash functions; a page's are redefined on
    every rerun)."""
    return fn.__code__.co_filename, fn.__qualname__


def frozen(fig: go.Figure) -> go.Figure:
    """Mark a shared figure read only: its plotly dict is computed once (``st.plotly_chart`` copies
    the whole figure, every frame of an animation included, on every rerun otherwise). Callers must
    not change it; :func:`explorer.common.chart` draws a copy when asked for another height."""
    memo = fig.to_dict()
    fig.to_dict = lambda: memo  # type: ignore[method-assign]
    fig._ccel_frozen = True  # type: ignore[attr-defined]
    return fig


class Kept:
    """Finished results of one ``kind``: the ``most`` last stored (or read back from disk) in memory,
    every one also on disk (:mod:`~explorer.cached.disk`, where a restarted server finds them). ``expected()`` gives
    the type a result read back from disk must have (imported only then). Shared, not copied: read only."""

    def __init__(self, kind: str, most: int, expected: Callable[[], type]) -> None:
        self.kind, self.most, self.expected = kind, most, expected
        self.memory: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Optional[Any]:
        """The result for ``key`` from memory, else from disk (then kept in memory), else None."""
        found = self.memory.get(key)
        if found is None:
            found = disk.load(self.kind, key, self.expected())
            if found is not None:
                self._remember(key, found)
        return found

    def put(self, key: Hashable, value: Any) -> None:
        """Keep a finished result, in memory and on disk."""
        self._remember(key, value)
        disk.save(self.kind, key, value)

    def _remember(self, key: Hashable, value: Any) -> None:
        self.memory[key] = value
        self.memory.move_to_end(key)
        while len(self.memory) > self.most:
            self.memory.popitem(last=False)
