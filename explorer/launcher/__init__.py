"""Page 4's plumbing: the confined runs folder, ``ccel fit`` subprocesses, uploaded feature files,
and the run store's tables (seed groups, settings that differ, finished-run views), one module
each, all importable from here.

Runs execute outside the Streamlit script thread, as ``python -m ccel_core.cli fit …`` in a new
session (``start_new_session=True``), so they survive page reloads and even a server restart; they
write to the run store, which the page polls. Each run's own output is in ``<run>/log.txt``
(``ccel fit`` writes it). Layout added to a run store (names that cannot be run ids, which start
with a letter or digit)::

    _launches/<launch_id>.log    stdout + stderr of one ``ccel`` command started by the page
    _features/<name>-<hash>.npz  uploaded feature files, validated and re-saved as x (and y)
    _features/<name>-<hash>.json what the upload held (rows, columns, classes, original name)

The page only ever writes under one root, chosen when the server starts (``$CCEL_RUNS_DIR``,
else ``./runs``): :func:`runs_folder` turns the folder typed on the page into a sub-folder of it
or refuses it.

- :mod:`~explorer.launcher.folders`: the confined runs folder
- :mod:`~explorer.launcher.processes`: the ``ccel fit`` subprocesses, their launches and logs
- :mod:`~explorer.launcher.uploads`: uploaded feature files
- :mod:`~explorer.launcher.tables`: the run store's tables (seed groups, settings that differ)
- :mod:`~explorer.launcher.finished`: a finished run's data, assignments and examples
"""

from __future__ import annotations

from explorer.launcher.finished import example_images, finished_run
from explorer.launcher.folders import (
    MAX_FOLDER_DEPTH,
    MAX_FOLDER_NAME,
    default_runs_dir,
    runs_base,
    runs_folder,
    shorten,
)
from explorer.launcher.processes import (
    ACTIVE,
    LAUNCH_DIR,
    REPO,
    Launch,
    busy,
    check_seeds,
    fit_command,
    launch_fit,
    launch_resume,
    launches,
    log_tail,
    parse_seeds,
    run_log,
    running_launches,
)
from explorer.launcher.tables import (
    NOT_CONFIG,
    OWN_SCALE,
    SUMMARY_METRICS,
    config_diff,
    config_groups,
    objective_of,
    run_config,
    runs_table,
    seed_summary,
)
from explorer.launcher.uploads import (
    FEATURE_DIR,
    MAX_STEM,
    MAX_UPLOAD_MB,
    csv_columns,
    save_features,
    saved_features,
    stored_stem,
)

__all__ = [
    "ACTIVE",
    "FEATURE_DIR",
    "LAUNCH_DIR",
    "MAX_FOLDER_DEPTH",
    "MAX_FOLDER_NAME",
    "MAX_STEM",
    "MAX_UPLOAD_MB",
    "NOT_CONFIG",
    "REPO",
    "OWN_SCALE",
    "SUMMARY_METRICS",
    "Launch",
    "busy",
    "check_seeds",
    "config_diff",
    "config_groups",
    "csv_columns",
    "default_runs_dir",
    "example_images",
    "finished_run",
    "fit_command",
    "launch_fit",
    "launch_resume",
    "launches",
    "log_tail",
    "objective_of",
    "parse_seeds",
    "run_config",
    "run_log",
    "running_launches",
    "runs_base",
    "runs_folder",
    "runs_table",
    "save_features",
    "saved_features",
    "seed_summary",
    "shorten",
    "stored_stem",
]
