"""The trainer: alternating y-steps (pseudo-labels) and θ-steps (network), one epoch at a time
(docs/math.md §3.3). For a pseudo-label objective each batch B does (``y_step="batch"``)::

    σ_B = softmax(f_θ(x_B));   Y_B ← solver(σ_B, init=Y_B);   θ ← θ − η ∇_θ network_loss(l_B, l(T x_B), Y_B)

``y_step="full"``: one y-step per epoch on the eval-mode σ of all points. Methods without pseudo-labels
take θ-steps only; k-means is one shot. Pieces: :mod:`.build` (network, objective), :mod:`.steps` (batch
pieces, per-epoch seeds: a resumed run repeats the uninterrupted one bit for bit on CPU), :mod:`.evaluation`,
:mod:`.state` (labels, checkpoints), :mod:`.recorder` (the run store).
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Iterator, Optional, Union, overload

import numpy as np
import torch
from torch import Tensor, nn

from ..data import Dataset
from ..distributed import Dist, current
from ..losses import entropy
from ..objectives import Objective, SolverFn
from . import steps
from .build import build_network, build_objective, load_config_data, resolve_device
from .config import TrainConfig
from .evaluation import Evaluator
from .recorder import Recorder
from .state import check_resumable, checkpoint, initial_labels, labeled_mask, soft_targets
from .steps import TrainingDivergedError

__all__ = ["Trainer", "TrainingDivergedError", "resolve_device"]


class Trainer:
    """Train one method on one data set; ``fit()`` yields per-epoch metrics.

    Args:
        config: the :class:`TrainConfig` (default: ``TrainConfig()``).
        dataset: a prebuilt :class:`~ccel_core.data.Dataset` (default: the config's, :func:`.build.load_config_data`).
        objective, solver: prebuilt objective and y-step solver, any ``labels = solver(probs, init)``
            (default: ``make_objective``; a pseudo-label objective without a solver keeps Y fixed).
        targets: N×K soft targets for ``method="supervised"`` (default: one-hot true labels).
        eval_dataset: a held-out set scored after each evaluated epoch (``test_`` metrics).
        run: a :class:`~ccel_core.runs.Run` to log to, checkpoint into and resume from.

    Attributes: model, optimizer, labels (N×K pseudo-labels or None), epoch (completed epochs), history
    (metrics of every completed epoch), cancelled, device, n_clusters, dataset, recorder, evaluator.
    """

    def __init__(
        self,
        config: Optional[TrainConfig] = None,
        *,
        dataset: Optional[Dataset] = None,
        objective: Optional[Objective] = None,
        solver: Optional[SolverFn] = None,
        targets: Optional[Union[Tensor, np.ndarray]] = None,
        eval_dataset: Optional[Dataset] = None,
        run: Any = None,
    ) -> None:
        self.config = cfg = config if config is not None else TrainConfig()
        cfg.ensure_valid()  # a config is checked once, unless it changed since
        self.dist: Dist = current()
        self._reduce = self.dist.all_reduce if self.dist.active else None  # sums over processes
        self.device = resolve_device(cfg.device)
        if self.dist.active and self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.dtype = torch.float64 if cfg.precision == "float64" else torch.float32
        self.dataset = dataset = dataset if dataset is not None else load_config_data(cfg)
        self.eval_dataset = eval_dataset
        n = len(dataset)
        self.n_clusters = k = cfg.n_clusters or dataset.n_classes
        if k > n:
            raise ValueError(f"n_clusters={k} should be <= n_samples={n}")
        if objective is None:
            objective, made = build_objective(cfg, k)
            solver = solver if solver is not None else made
        self.objective, self.solver = objective, solver
        if self.dist.active and run is not None and not self.dist.is_main:
            raise ValueError(f"only rank 0 writes the run store; rank {self.dist.rank} was given run={run!r}")
        self.recorder = Recorder(run)
        self._x = dataset.x.to(self.device, self.dtype)
        self._own = self.dist.owned(n, self.device)  # the points whose pseudo-labels live here
        self._y_true = None if dataset.y is None else dataset.y.to(self.device)
        self.labels: Optional[Tensor] = None
        self.model: Optional[nn.Module] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self._net: Optional[nn.Module] = None  # the module the θ-step calls (DDP-wrapped when data-parallel)
        self.augment: Optional[Callable[[Tensor], Tensor]] = None
        self.history: list[dict[str, Any]] = []
        self.epoch, self.cancelled = 0, False
        self._targets = soft_targets(
            targets, n, k, self._y_true, supervised=objective.supervised, method=objective.name, device=self.device
        )
        self._labeled = labeled_mask(cfg.labeled_fraction, dataset, k, cfg.seed, self.device)
        if objective.trains_network:
            net = build_network(cfg, dataset, k, self.device, self.dtype, self.dist, objective.needs_augmentation)
            self.model, self.optimizer, self._net, self.augment = net.model, net.optimizer, net.net, net.augment
        x_local = self._x[self._own] if self.dist.active else self._x
        self.evaluator = Evaluator(
            self.model, x_local, self.dist, n, k, self._y_true, objective.supervised, eval_dataset, self.predict_proba
        )
        self._resume()

    @classmethod
    def from_run(cls, run: Any, **kwargs: Any) -> "Trainer":
        """A trainer for a stored run, its config read from the run's ``config.json``."""
        return cls(TrainConfig.from_dict(run.config), run=run, **kwargs)

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs (:func:`~ccel_core.training.state.checkpoint`); a collective
        when data-parallel (every process's labels are gathered)."""
        labels = None if self.labels is None else self.dist.gather_owned(self.labels, len(self.dataset))
        centers = getattr(self.objective, "centers", None)
        return checkpoint(self.config, self.epoch, self.history, self.model, self.optimizer, labels, centers)

    def _resume(self) -> None:
        """Continue from the run's last checkpoint (rank 0 reads it, every process gets it), if any."""
        state = self.recorder.load(self.device)
        state = self.dist.broadcast_object(state) if self.dist.active else state
        if state is None:
            return
        check_resumable(state, self.config, getattr(self.recorder.run, "run_id", "?"))
        if self.model is not None:
            assert self.optimizer is not None  # built with the model
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        if "labels" in state:  # stored for all N points: keep this process's shard (any world size)
            self.labels = state["labels"].to(self.device, torch.float64)[self._own]
        if "centers" in state:  # a one-shot objective's fit (k-means)
            self.objective.centers = state["centers"]  # type: ignore[attr-defined]
        self.epoch = int(state["epoch"])
        self.history = [dict(m) for m in state.get("history", [])]

    def fit(self) -> Iterator[dict[str, Any]]:
        """Train the remaining epochs, yielding one metrics dict per epoch (see module docstring).

        With a run: marks it running, checkpoints and logs every epoch, saves the assignments and
        finishes it (finished / cancelled / failed). A run resumed with every epoch done (killed before
        its end was recorded) is finished without training. A cancel request is honored between batches;
        the partial epoch is discarded. Closing the generator early, or a KeyboardInterrupt, cancels the run.
        """
        self.recorder.start(self.history)  # a resume first repairs the metrics lines from the checkpoint
        try:
            if self.objective.trains_network:
                yield from self._fit_network()
            elif self.epoch == 0:
                yield self._fit_one_shot()
            self._finish_run()  # inside: a failure to predict or save at the end is recorded too
        except GeneratorExit:
            if self.epoch < self.config.epochs and self.objective.trains_network:
                self.cancelled = True
            self._finish_run("training stopped by the caller")
            raise
        except BaseException as exc:  # a KeyboardInterrupt (raised, or thrown in by the caller): cancelled
            self.cancelled = self.recorder.ended_by(exc)
            raise

    def _finish_run(self, reason: Optional[str] = None) -> None:
        """Cancelled (with ``reason``), or finished with the final assignments saved."""
        if self.cancelled:
            self.recorder.cancelled(reason)
        elif self.recorder.run is not None:
            self.recorder.finished(self.predict_proba(self.dataset.x), self.history[-1] if self.history else None)

    def run(self, callback: Optional[Callable[[dict[str, Any]], Any]] = None) -> dict[str, Any]:
        """Consume :meth:`fit` (calling ``callback(metrics)`` per epoch); return the last metrics."""
        for metrics in self.fit():
            if callback is not None:
                callback(metrics)
        return dict(self.history[-1]) if self.history else {}

    @overload
    def predict_proba(self, x: Tensor) -> Tensor: ...
    @overload
    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...
    @torch.no_grad()
    def predict_proba(self, x: Union[Tensor, np.ndarray]) -> Union[Tensor, np.ndarray]:
        """Cluster probabilities σ (N×K, eval mode); numpy in → numpy out, torch in → same device."""
        is_np = isinstance(x, np.ndarray)
        xt = torch.as_tensor(x, dtype=torch.float32) if isinstance(x, np.ndarray) else x
        if self.objective.trains_network:
            out = self.evaluator.predict(xt.to(self.device, self.dtype))
        else:  # one-shot objectives (k-means) predict on their own
            out = self.objective.predict_proba(xt.to(self.device))  # type: ignore[attr-defined]
        return out.cpu().numpy() if is_np else out.to(xt.device)

    def predict(self, x: Union[Tensor, np.ndarray]) -> Union[Tensor, np.ndarray]:
        """Cluster indices ``argmax_k σ_k``."""
        return self.predict_proba(x).argmax(1)

    def _fit_network(self) -> Iterator[dict[str, Any]]:
        cfg = self.config
        if self.labels is None and self.objective.uses_pseudo_labels:
            self.labels = initial_labels(
                self._targets, self._own, self.evaluator.local, self._labeled, self._y_true, self.n_clusters
            )
        for epoch in range(self.epoch + 1, cfg.epochs + 1):
            metrics = self._train_epoch(epoch)  # None: cancelled mid-epoch (the partial epoch is discarded)
            if metrics is not None:
                self._end_epoch(epoch, metrics)
                yield metrics
            if metrics is None or self._cancel_requested():
                self.cancelled = True
                return

    def _end_epoch(self, epoch: int, metrics: dict[str, Any]) -> None:
        """Count the epoch done, keep its metrics, checkpoint and log it (a collective: the labels)."""
        self.epoch = epoch
        self.history.append(metrics)
        self.recorder.epoch(epoch, self.state_dict(), metrics)

    def _cancel_requested(self) -> bool:
        """A cancel request on the run (rank 0's store), agreed by every process."""
        flag = self.recorder.cancel_requested
        return self.dist.any(flag, self.device) if self.dist.active else flag

    def _train_epoch(self, epoch: int) -> Optional[dict[str, Any]]:
        cfg, obj, dist = self.config, self.objective, self.dist
        start = time.perf_counter()
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)  # no per-batch host sync
        label_losses: list[float] = []
        iters: list[int] = []
        n_batches, self._y_time = 0, 0.0
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(steps.epoch_seed(cfg.seed, epoch, 0))
            if self.solver is not None and cfg.y_step == "full":
                rows, probs, _ = steps.y_step_rows(self._own, self.evaluator.local(), self._labeled)
                self._y_step(rows, probs, bounded=False, iters=iters, losses=label_losses)
            self.evaluator.invalidate()  # the parameters change from here on
            assert self._net is not None and self.optimizer is not None  # built: the objective trains a network
            self._net.train()
            for idx in steps.epoch_batches(len(self.dataset), cfg.batch_size, cfg.seed, epoch, self.device):
                if self._cancel_requested():
                    return None
                mine = idx[idx % dist.world == dist.rank] if dist.active else idx  # owned points of the batch
                x = self._x[mine]
                with steps.autocast(cfg.amp, self.device):
                    logits, logits_aug = steps.forward(self._net, x, self.augment, self.dtype)
                outputs = logits if logits_aug is None else torch.cat([logits, logits_aug])
                steps.check_finite(outputs, epoch, n_batches + 1, self)
                targets: Optional[Tensor] = None
                if obj.uses_pseudo_labels:
                    assert self.labels is not None  # set by _fit_network for pseudo-label objectives
                    pos = dist.local_positions(mine)
                    probs = torch.softmax(logits.detach(), 1)
                    if self.solver is not None and cfg.y_step == "batch":
                        rows, p, whole = steps.y_step_rows(mine, probs, self._labeled)
                        if dist.active or len(rows):  # every process joins the collective y-step
                            new = self._y_step(rows, p, bounded=True, iters=iters, losses=label_losses)
                            targets = new if whole else None  # the whole batch's new labels
                    elif self.solver is None:
                        label_losses.append(obj.label_loss(probs, self.labels[pos], all_reduce=self._reduce))
                    targets = self.labels[pos] if targets is None else targets
                if len(mine):
                    loss = steps.batch_loss(obj, logits, logits_aug, targets, mine, self._labeled, self._y_true)
                else:  # no owned point in this batch: join the gradient all-reduce with zeros
                    loss = logits.sum() * 0.0
                if dist.active:
                    # DDP averages gradients over processes; weighting each process's batch mean by its share makes
                    # that the whole batch's mean gradient (exactly for per-point losses; MI, IMSAT, IIC: per process)
                    loss = loss * (len(mine) * dist.world / len(idx))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                loss_sum += loss.detach().double() / dist.world
                n_batches += 1
        batch_mean = dist.all_reduce(loss_sum.reshape(1))
        finite = [v for v in label_losses if math.isfinite(v)]
        metrics: dict[str, Any] = {"epoch": epoch, "loss": float(batch_mean[0]) / max(n_batches, 1)}
        metrics["label_loss"] = float(np.mean(finite)) if finite else None
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            metrics.update(self.evaluator.scores(self.evaluator.full().argmax(1)))
        labels = None if self.labels is None else steps.mean_over_points(dist, entropy(self.labels, validate=False))
        metrics.update(pseudo_entropy=labels, solver_iters=float(np.mean(iters)) if iters else None)
        return {**metrics, "y_step_seconds": self._y_time, "seconds": time.perf_counter() - start}

    def _y_step(self, rows: Tensor, probs: Tensor, *, bounded: bool, iters: list[int], losses: list[float]) -> Tensor:
        """``labels[rows] ← solver(probs, init)`` (:func:`.steps.solve_labels`; ``init``: the stored labels, for
        a solver that uses them or data-parallel); returns the new labels, appends objective and iterations."""
        assert self.solver is not None and self.labels is not None  # y-steps run only with both
        t0 = time.perf_counter()
        pos = self.dist.local_positions(rows)
        init = self.labels[pos] if self.dist.active or getattr(self.solver, "uses_init", True) else None
        new = steps.solve_labels(self.solver, self.dist, probs, init, bounded=bounded).to(self.labels.dtype)
        losses.append(steps.y_step_loss(self.solver, self.objective, self.dist, probs, new, self._reduce))
        self.labels[pos] = new  # after the loss: probs may share the labels' storage
        iters.extend([] if (last := getattr(self.solver, "last", None)) is None else [last.n_iter])
        self._y_time += time.perf_counter() - t0
        return new

    def _fit_one_shot(self) -> dict[str, Any]:
        full, metrics = steps.one_shot(self.objective, self._x, self.config.seed, self.evaluator.scores)
        self.labels = full[self._own]  # every process computes the same; each keeps its shard
        self._end_epoch(1, metrics)
        return metrics
