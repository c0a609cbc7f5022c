"""The run store's tables as pandas DataFrames: one row per run (index columns, then the flattened
final metrics), one run's metrics per epoch, and the per-epoch table of several runs that
``RunStore.export_csv`` writes. pandas is imported on use (the CLI's ``ccel runs`` stays light)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .files import flatten, read_jsonl
from .layout import RunInfo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FRAME_COLS", "runs_frame", "metrics_frame", "per_epoch_frame"]

FRAME_COLS = tuple(
    "run_id status name group data method model seed epochs epoch created updated pid host error path".split()
)
_RUN_COLS = ("seed", "model", "method", "data", "group", "name", "run_id")  # put first, right to left


def runs_frame(infos: Iterable[RunInfo]) -> pd.DataFrame:
    """One row per run: the index columns (``created``/``updated`` as UTC datetimes, ``path`` as str)
    then the flattened final metrics (``final.<key>`` on a name clash)."""
    import pandas as pd

    rows = []
    for info in infos:
        row = {c: str(info.path) if c == "path" else getattr(info, c) for c in FRAME_COLS}
        for k, v in flatten(info.final).items():
            row[k if k not in FRAME_COLS else f"final.{k}"] = v
        rows.append(row)
    df = pd.DataFrame(rows, columns=None if rows else list(FRAME_COLS))
    for c in ("created", "updated"):
        df[c] = pd.to_datetime(df[c].astype(float), unit="s", utc=True)
    return df


def metrics_frame(path: Path) -> pd.DataFrame:
    """The epochs of a metrics.jsonl, sorted by epoch (the last record wins for a repeated epoch, e.g.
    after a resume); a partially written last line is ignored, other bad lines warn."""
    import pandas as pd

    records = [flatten(r) for r in read_jsonl(path) if isinstance(r.get("epoch"), int)]
    if not records:
        return pd.DataFrame(columns=["epoch"])
    df = pd.DataFrame(records).drop_duplicates("epoch", keep="last")
    return df.sort_values("epoch", kind="stable").reset_index(drop=True)


def per_epoch_frame(infos: Iterable[RunInfo], metrics_of: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    """The metrics of every run (``metrics_of(run_id)``) in one table, with run_id/name/group/data/
    method/model/seed columns first."""
    import pandas as pd

    frames = []
    for info in infos:
        m = metrics_of(info.run_id)
        for c in _RUN_COLS:
            if c not in m.columns:
                m.insert(0, c, getattr(info, c))
        if len(m):
            frames.append(m)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run_id", "epoch"])
