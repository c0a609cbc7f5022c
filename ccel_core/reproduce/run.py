"""``reproduce``: run every paper experiment the machine can and write the report.

Sections run in the paper's order; each is timed, and one that fails is kept in the report with
its error (its claim says so) instead of losing the others. Nothing is written until every section
has run: an interrupted run (Ctrl-C) leaves the previous report in ``out`` untouched.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from .budget import budget as get_budget
from .clustering import table2_section, table3_section
from .context import Context, default_mnist_root
from .figures import fig1_section, fig2_section
from .provenance import LoadSampler, record
from .report import Report, Section
from .solvers import table1_section
from .stats import ALPHA, failed
from .weak import table5_section

__all__ = ["SECTIONS", "reproduce", "machine_description"]

# key -> (title, builder): the builder fills the section it is given (text, tables, figures, claims)
SECTIONS: dict[str, tuple[str, Callable[[Context, Section], None]]] = {
    "fig1": ("Fig. 1 — Shannon CE vs collision CE, K = 2", fig1_section),
    "fig2": ("Fig. 2 — robustness to corrupted soft labels (CE vs collision CE)", fig2_section),
    "table1": ("Table 1 — y-step solvers: EM vs PGD (and the certified exact y-step)", table1_section),
    "table2": ("Table 2 — clustering fixed features with a linear head", table2_section),
    "table3": ("Table 3 — VGG4 from scratch + self-augmentation (MNIST)", table3_section),
    "table5": ("Table 5 — weak supervision: labeled seeds + a self-labeling loss", table5_section),
}


def machine_description() -> str:
    """``"Linux x86_64, AMD EPYC … (2 cores), 24 GiB, no GPU"``."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        memory = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        memory = ""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.system()} {platform.machine()}, {cpu} ({cores} cores){memory}, {gpu}"


def _check(sections: Optional[Sequence[str]], features: Sequence[Any], out: Path) -> list[str]:
    keys = list(SECTIONS) if not sections else list(dict.fromkeys(sections))
    unknown = [k for k in keys if k not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; known: {', '.join(SECTIONS)}")
    for path in features:
        if not Path(path).is_file():
            raise FileNotFoundError(f"--features {path}: no such file (make one with `ccel features`)")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; expected a folder for report.md / report.html / report.json")
    return keys


def reproduce(
    budget: str = "quick",
    out: str | os.PathLike = "reproduction",
    *,
    seeds: Optional[int] = None,
    sections: Optional[Sequence[str]] = None,
    mnist_root: Optional[str | os.PathLike] = None,
    features: Sequence[str | os.PathLike] = (),
    device: str = "cpu",
    download: bool = False,
    echo: Callable[[str], Any] = print,
    command: str = "ccel reproduce",
) -> Report:
    """Run the paper's experiments at ``budget`` (``quick``, ``full`` or ``tiny``) and write
    ``out/report.md``, ``out/report.html`` and ``out/report.json``; return the :class:`Report`.

    ``sections``: a subset of :data:`SECTIONS` (default all); ``features``: ``ccel features`` files
    for Table 2 (the paper's ImageNet ResNet-50 input); ``mnist_root``: the folder of the MNIST test
    split (default ``$CCEL_MNIST_ROOT``, else ``$CCEL_DATA``, else ``./data``); ``device``: ``cpu``, ``cuda``
    or ``auto`` for the networks of Fig. 2 and Tables 3 and 5.
    """
    import torch

    plan = get_budget(budget, seeds)
    out = Path(out).expanduser()
    keys = _check(sections, features, out)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    root = Path(mnist_root).expanduser() if mnist_root else default_mnist_root()
    ctx = Context(plan, root, tuple(Path(p).expanduser() for p in features), device, download, echo)
    if plan.name == "full" and device == "cpu":
        echo("note: the full budget on a CPU: Tables 3 and 5 train VGG4 for 50 epochs (≈ 17 h + 48 h on 2 cores)")
    started, done, loads, made = time.perf_counter(), [], LoadSampler(), record()  # the code about to run
    loads.sample()
    for key in keys:
        title, build = SECTIONS[key]
        echo(f"[{key}] {title}")
        t0 = time.perf_counter()
        section = Section(key, title)
        try:
            build(ctx, section)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - keep the other sections; the report names the failure
            error = f"{type(exc).__name__}: {exc}"
            section = Section(key, title, error=error)
            section.text(f"**This section failed:** `{error}`")
            section.claim("every claim of this section", "—", "—", "—", failed(error))
        section.seconds = time.perf_counter() - t0
        loads.sample()
        echo(f"[{key}] {section.seconds:.0f} s: " + "; ".join(c.verdict for c in section.claims))
        done.append(section)
    from .. import __version__

    meta = {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_description(),
        "budget": plan.name,
        "seeds": plan.seeds,
        "device": device,
        "alpha": ALPHA,
        "seconds": time.perf_counter() - started,
        "ccel": __version__,
        "torch": torch.__version__,
        "sections": keys,
        **made,
        "load": loads.mean,
        "threads": torch.get_num_threads(),
    }
    report = Report(meta, done)
    report.write(out)
    return report
