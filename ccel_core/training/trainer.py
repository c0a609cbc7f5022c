"""The trainer: alternating y-steps (pseudo-labels) and θ-steps (network), one epoch at a time.

For a pseudo-label objective each batch B does (``y_step="batch"``, the paper's protocol)::

    σ_B = softmax(f_θ(x_B))                       one forward pass (train mode)
    Y_B ← solver(σ_B, init=Y_B)                   y-step, warm-started from the stored labels
    θ  ← θ − η ∇_θ network_loss(l_B, l(T x_B), Y_B)

With ``y_step="full"`` the y-step runs once per epoch on the eval-mode predictions of the whole
data set, and the batches only take θ-steps. Methods without pseudo-labels (MI, IMSAT, IIC) take
θ-steps on their batch loss only; k-means is one shot without a network.

State. ``labels`` (N×K float64 on the device, indexed by data set index) starts as the first
eval-mode predictions σ (or the caller's targets, or one-hot true labels of the weakly supervised
rows) and is carried across epochs. Every epoch reseeds torch's generator from
``SeedSequence([seed, epoch])`` inside ``torch.random.fork_rng`` (augmentations, shuffling), so an
epoch is a function of the state at its start: a checkpoint holds model, optimizer, labels, epoch,
config and metric history, and a resumed run repeats the uninterrupted one bit for bit on CPU.
The caller's global RNG state is left untouched.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import Dataset, load_dataset
from ..distributed import Dist, current
from ..losses import entropy, shannon_cross_entropy
from ..metrics import evaluate
from ..models import build_model
from ..objectives import Objective, SolverFn, make_objective
from ..solvers import ConvergenceWarning
from .config import TrainConfig
from .state import FORMAT, config_differences, labeled_mask, soft_targets

__all__ = ["Trainer", "TrainingDivergedError", "resolve_device"]

_EVAL_BATCH = 2048


class TrainingDivergedError(RuntimeError):
    """The network's outputs became NaN or infinite during training (the run is marked failed)."""


def resolve_device(name: str) -> torch.device:
    """"auto" → CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _seed(*key: int) -> int:
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1)[0])


class Trainer:
    """Train one method on one data set; ``fit()`` yields per-epoch metrics.

    Args:
        config: the :class:`TrainConfig` (default: ``TrainConfig()``).
        dataset: a prebuilt :class:`~ccel_core.data.Dataset` (default: ``load_dataset`` from the
            config; the data set's own seed is ``data_options["seed"]``, default 0).
        objective, solver: prebuilt objective and y-step solver, any ``labels = solver(probs, init)``
            (default: ``make_objective``; a pseudo-label objective without a solver keeps Y fixed).
        targets: N×K soft targets for ``method="supervised"`` (default: one-hot true labels).
        eval_dataset: a held-out set scored after each evaluated epoch (``test_`` metrics).
        run: a :class:`~ccel_core.runs.Run` to log to, checkpoint into and resume from.

    Attributes:
        model, optimizer, labels (N×K pseudo-labels or None), epoch (completed epochs),
        history (metrics of every completed epoch), cancelled, device, n_clusters, dataset.
    """

    def __init__(self, config: Optional[TrainConfig] = None, *, dataset: Optional[Dataset] = None,
                 objective: Optional[Objective] = None, solver: Optional[SolverFn] = None,
                 targets: Optional[Union[Tensor, np.ndarray]] = None, eval_dataset: Optional[Dataset] = None,
                 run: Any = None) -> None:
        self.config = cfg = config if config is not None else TrainConfig()
        cfg.validate()
        self.dist: Dist = current()
        self.device = resolve_device(cfg.device)
        if self.dist.active and self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.dtype = torch.float64 if cfg.precision == "float64" else torch.float32
        if dataset is None:
            options = dict(cfg.data_options)
            dataset = load_dataset(cfg.data, cfg.root, split=cfg.split, n_samples=cfg.n_samples,
                                   seed=int(options.pop("seed", 0)), **options)
        self.dataset, self.eval_dataset = dataset, eval_dataset
        n = len(dataset)
        self.n_clusters = k = cfg.n_clusters or dataset.n_classes
        if k > n:
            raise ValueError(f"n_clusters={k} should be <= n_samples={n}")
        if objective is None:
            objective, made = make_objective(cfg.method, k, lam=cfg.lam, gamma=cfg.gamma, mu=cfg.mu, beta=cfg.beta,
                                             loss=cfg.loss, max_iter=cfg.solver_iterations(), tol=cfg.solver_tol,
                                             accelerate=cfg.accelerate, y_solver=cfg.y_solver, y_init=cfg.y_init)
            solver = solver if solver is not None else made
        self.objective, self.solver = objective, solver
        if self.dist.active and run is not None and not self.dist.is_main:
            raise ValueError(f"only rank 0 writes the run store; rank {self.dist.rank} was given run={run!r}")
        self.run_record = run
        self._x = dataset.x.to(self.device, self.dtype)
        self._own = self.dist.owned(n, self.device)  # the points whose pseudo-labels live here
        self._y_true = None if dataset.y is None else dataset.y.to(self.device)
        self.labels: Optional[Tensor] = None
        self.model: Optional[nn.Module] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.epoch, self.history, self.cancelled = 0, [], False
        self._probs_cache: Optional[Tensor] = None  # eval-mode σ of the current parameters
        self._probs_local_cache: Optional[Tensor] = None
        self._targets = soft_targets(targets, n, k, self._y_true, supervised=objective.supervised,
                                     method=objective.name, device=self.device)
        self._labeled = labeled_mask(cfg.labeled_fraction, dataset, k, cfg.seed, self.device)
        self.augment: Optional[Callable[[Tensor], Tensor]] = None
        if objective.trains_network:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed)
                self.model = build_model(cfg.model, dataset.input_shape, k, hidden=cfg.hidden, weights=cfg.weights)
            self.model.to(self.device, self.dtype)
            params = self.model.parameters()
            if cfg.optimizer == "sgd":
                self.optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
            else:
                self.optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
            if objective.needs_augmentation:
                self.augment = dataset.augmentation(cfg.augment)
        # The network the θ-step runs: DDP averages gradients over processes (the same module).
        self._net: Optional[nn.Module] = self.model
        if self.model is not None and self.dist.active:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self._net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        state = run.load_checkpoint(map_location=self.device) if run is not None else None
        if self.dist.active:
            state = self.dist.broadcast_object(state)
        self._resume(state)

    @classmethod
    def from_run(cls, run: Any, **kwargs: Any) -> "Trainer":
        """A trainer for a stored run, its config read from the run's ``config.json``."""
        return cls(TrainConfig.from_dict(run.config), run=run, **kwargs)

    # ------------------------------------------------------------------------------------
    # checkpoints
    # ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs (only tensors, dicts, lists, numbers, strings)."""
        state: dict[str, Any] = {"format": FORMAT, "config": self.config.to_dict(), "epoch": self.epoch,
                                 "history": self.history}
        if self.model is not None:
            state["model"] = self.model.state_dict()
            state["optimizer"] = self.optimizer.state_dict()
        if self.labels is not None:  # every process's shard (a collective when data-parallel)
            state["labels"] = self.dist.gather_owned(self.labels, len(self.dataset)).detach().cpu()
        centers = getattr(self.objective, "centers", None)
        if centers is not None:
            state["centers"] = centers
        return state

    def _resume(self, state: Optional[dict]) -> None:
        if state is None:
            return
        diff = config_differences(state.get("config", {}), self.config.to_dict())
        if diff:
            raise ValueError(f"cannot resume run {getattr(self.run_record, 'run_id', '?')!r}: its checkpoint was written "
                             f"with a different config: {'; '.join(diff)}")
        if self.model is not None:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        if "labels" in state:  # stored for all N points: keep this process's shard (any world size)
            self.labels = state["labels"].to(self.device, torch.float64)[self._own]
        if "centers" in state:
            self.objective.centers = state["centers"]
        self.epoch = int(state["epoch"])
        self.history = [dict(m) for m in state.get("history", [])]

    # ------------------------------------------------------------------------------------
    # public API
    # ------------------------------------------------------------------------------------
    def fit(self) -> Iterator[dict[str, Any]]:
        """Train the remaining epochs, yielding one metrics dict per epoch (see module docstring).

        With a run: marks it running, checkpoints and logs every epoch, saves the assignments and
        finishes it (finished / cancelled / failed). A cancel request is honored between batches;
        the partial epoch is discarded. Closing the generator early marks the run cancelled.
        """
        run = self.run_record
        if run is not None:
            run.start()
        try:
            if self.objective.trains_network:
                yield from self._fit_network()
            elif self.epoch == 0:
                yield self._fit_one_shot()
        except GeneratorExit:
            if self.epoch < self.config.epochs and self.objective.trains_network:
                self.cancelled = True
            self._finish_run("training stopped by the caller")
            raise
        except BaseException as exc:
            if run is not None:
                run.finish("failed", error=f"{type(exc).__name__}: {exc}")
            raise
        self._finish_run()

    def _finish_run(self, reason: Optional[str] = None) -> None:
        """Cancelled (with ``reason``), or finished with the final assignments saved."""
        run = self.run_record
        if run is None:
            return
        if self.cancelled:
            run.finish("cancelled", error=reason)
            return
        probs = self.predict_proba(self.dataset.x)
        run.save_assignments(probs.argmax(1), probs)
        run.finish("finished", final=self.history[-1] if self.history else None)

    def run(self, callback: Optional[Callable[[dict[str, Any]], Any]] = None) -> dict[str, Any]:
        """Consume :meth:`fit` (calling ``callback(metrics)`` per epoch); return the last metrics."""
        for metrics in self.fit():
            if callback is not None:
                callback(metrics)
        return dict(self.history[-1]) if self.history else {}

    @torch.no_grad()
    def predict_proba(self, x: Union[Tensor, np.ndarray]) -> Union[Tensor, np.ndarray]:
        """Cluster probabilities σ (N×K, eval mode); numpy in → numpy out, torch in → same device."""
        is_np = isinstance(x, np.ndarray)
        xt = torch.as_tensor(x, dtype=torch.float32) if is_np else x
        if self.objective.trains_network:
            out = self._predict_all(xt.to(self.device, self.dtype))
        else:
            out = self.objective.predict_proba(xt.to(self.device))
        return out.cpu().numpy() if is_np else out.to(xt.device)

    def predict(self, x: Union[Tensor, np.ndarray]) -> Union[Tensor, np.ndarray]:
        """Cluster indices ``argmax_k σ_k``."""
        return self.predict_proba(x).argmax(1)

    # ------------------------------------------------------------------------------------
    # epochs
    # ------------------------------------------------------------------------------------
    def _fit_network(self) -> Iterator[dict[str, Any]]:
        cfg, run = self.config, self.run_record
        if self.labels is None and self.objective.uses_pseudo_labels:
            self.labels = self._initial_labels()
        for epoch in range(self.epoch + 1, cfg.epochs + 1):
            metrics = self._train_epoch(epoch)
            if metrics is None:
                self.cancelled = True
                return
            self.epoch = epoch
            self.history.append(metrics)
            state = self.state_dict()
            if run is not None:
                run.save_checkpoint(state, epoch)
                run.log_epoch(epoch, metrics)
            yield metrics
            if self._cancel_requested():
                self.cancelled = True
                return

    def _initial_labels(self) -> Tensor:
        """Y⁰ of the owned points: the caller's targets, else the first eval-mode predictions σ."""
        if self._targets is not None:
            return self._targets[self._own].clone()
        labels = self._probs_local().double()
        if self._labeled is not None:
            lab = self._labeled[self._own]
            labels[lab] = F.one_hot(self._y_true[self._own][lab], self.n_clusters).double()
        return labels

    def _cancel_requested(self) -> bool:
        """A cancel request on the run (rank 0's store), agreed by every process."""
        flag = self.run_record is not None and self.run_record.cancel_requested
        return self.dist.any(flag, self.device) if self.dist.active else flag

    def _batches(self, epoch: int) -> list[Tensor]:
        """This epoch's shuffled index batches: ``ceil(N/B)`` nearly equal parts (no tiny tail batch).

        Every process draws the same permutation; :meth:`_train_epoch` keeps the owned points of
        each batch (the data-parallel sampler, sharded by index).
        """
        n = len(self.dataset)
        gen = torch.Generator().manual_seed(_seed(self.config.seed, epoch, 1))
        order = torch.randperm(n, generator=gen).to(self.device)
        return list(order.tensor_split(math.ceil(n / self.config.batch_size)))

    def _train_epoch(self, epoch: int) -> Optional[dict[str, Any]]:
        cfg, obj, dist = self.config, self.objective, self.dist
        start = time.perf_counter()
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        loss_sum, n_batches, label_losses, y_time, iters = 0.0, 0, [], 0.0, []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(_seed(cfg.seed, epoch, 0))
            if self.solver is not None and cfg.y_step == "full":
                t0 = time.perf_counter()
                keep = self._unlabeled(self._own)
                label_losses.append(self._y_step(self._own[keep], self._probs_local()[keep], bounded=False, iters=iters))
                y_time += time.perf_counter() - t0
            self._probs_cache = self._probs_local_cache = None  # the parameters change from here on
            self._net.train()
            for idx in self._batches(epoch):
                if self._cancel_requested():
                    return None
                mine = idx[idx % dist.world == dist.rank] if dist.active else idx  # owned points of the batch
                x = self._x[mine]
                with self._autocast():
                    if obj.needs_augmentation:
                        both = self._net(torch.cat([x, self.augment(x)])).to(self.dtype)
                        logits, logits_aug = both[: len(x)], both[len(x):]
                    else:
                        logits, logits_aug = self._net(x).to(self.dtype), None
                self._check_finite(logits if logits_aug is None else both, epoch, n_batches + 1)
                targets = None
                if obj.uses_pseudo_labels:
                    pos = dist.local_positions(mine)
                    probs = torch.softmax(logits.detach(), 1)
                    if self.solver is not None and cfg.y_step == "batch":
                        t0 = time.perf_counter()
                        keep = self._unlabeled(mine)
                        if dist.active or bool(keep.any()):  # every process joins the collective y-step
                            label_losses.append(self._y_step(mine[keep], probs[keep], bounded=True, iters=iters))
                        y_time += time.perf_counter() - t0
                    elif self.solver is None:
                        label_losses.append(obj.label_loss(probs, self.labels[pos], all_reduce=self._reduce))
                    targets = self.labels[pos]
                if len(mine):
                    loss = self._batch_loss(mine, logits, logits_aug, targets)
                else:  # no owned point in this batch: join the gradient all-reduce with zeros
                    loss = logits.sum() * 0.0
                if dist.active:
                    # DDP averages gradients over processes; weighting each process's batch mean by
                    # its share makes that the gradient of the whole batch's mean (exactly, for
                    # per-point losses; batch-statistic losses — MI, IMSAT, IIC — stay per process).
                    loss = loss * (len(mine) * dist.world / len(idx))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                loss_sum += float(loss.detach()) / dist.world
                n_batches += 1
        batch_mean = self._sum(torch.tensor([loss_sum], dtype=torch.float64, device=self.device))
        metrics: dict[str, Any] = {"epoch": epoch, "loss": float(batch_mean[0]) / max(n_batches, 1)}
        finite = [v for v in label_losses if math.isfinite(v)]
        metrics["label_loss"] = float(np.mean(finite)) if finite else None
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            metrics.update(self._evaluate(self._probs().argmax(1)))
        metrics["pseudo_entropy"] = None if self.labels is None else self._mean_over_points(entropy(self.labels))
        metrics["solver_iters"] = float(np.mean(iters)) if iters else None
        metrics["y_step_seconds"] = y_time
        metrics["seconds"] = time.perf_counter() - start
        return metrics

    def _check_finite(self, logits: Tensor, epoch: int, batch: int) -> None:
        """Stop with :class:`TrainingDivergedError` when the network's outputs are no longer finite
        (too large a step), before a solver or a loss meets them; agreed across processes."""
        bad = (~torch.isfinite(logits.detach())).sum().to(torch.float64).reshape(1)
        if self.dist.active:
            bad = self._sum(bad)
        if float(bad[0]) > 0:
            cfg = self.config
            raise TrainingDivergedError(
                f"training diverged at epoch {epoch}, batch {batch}: the network produced {int(bad[0])} "
                f"non-finite outputs (optimizer={cfg.optimizer}, lr={cfg.lr:g}); lower the learning rate"
            )

    @property
    def _reduce(self) -> Optional[Callable[[Tensor], Tensor]]:
        """The all-reduce (sum) of a data-parallel run, else None."""
        return self.dist.all_reduce if self.dist.active else None

    def _sum(self, t: Tensor) -> Tensor:
        return self.dist.all_reduce(t)

    def _mean_over_points(self, values: Tensor) -> float:
        """Mean of per-point values over every process's points."""
        stats = self._sum(torch.stack([values.double().sum(), values.new_tensor(float(len(values)), dtype=torch.float64)]))
        return float(stats[0] / stats[1]) if float(stats[1]) else math.nan

    def _unlabeled(self, idx: Tensor) -> Tensor:
        """Mask of the points of ``idx`` that take y-steps (all but weak supervision's labeled ones)."""
        return torch.ones_like(idx, dtype=torch.bool) if self._labeled is None else ~self._labeled[idx]

    def _y_step(self, rows: Tensor, probs: Tensor, *, bounded: bool, iters: list[int]) -> float:
        """``labels[rows] ← solver(probs, init=labels[rows])`` for owned points ``rows``; returns the
        y-step objective and appends the solver's iteration count (when it reports one).

        Data-parallel: EM all-reduces its K column sums once per iteration (each process passes
        its own rows); other solvers see the whole batch, gathered, and keep their rows.
        Per-batch steps cap the iterations on purpose (warm starts carry the progress across
        epochs), so their ``ConvergenceWarning`` is silenced; full-data steps warn.
        """
        pos = self.dist.local_positions(rows)
        init = self.labels[pos]
        with warnings.catch_warnings():
            if bounded:
                warnings.simplefilter("ignore", ConvergenceWarning)
            if not self.dist.active:
                new = self.solver(probs, init)
            elif getattr(self.solver, "kind", None) == "em":
                new = self.solver(probs, init, all_reduce=self.dist.all_reduce)
            else:
                all_probs, sizes = self.dist.gather_rows(probs)
                all_init, _ = self.dist.gather_rows(init)
                first = sum(sizes[: self.dist.rank])
                new = self.solver(all_probs, all_init)[first:first + len(rows)]
        self.labels[pos] = new.to(self.labels.dtype)
        last = getattr(self.solver, "last", None)
        if last is not None:
            iters.append(last.n_iter)
        return self.objective.label_loss(probs, new, all_reduce=self._reduce)

    def _batch_loss(self, idx: Tensor, logits: Tensor, logits_aug: Optional[Tensor], targets: Optional[Tensor]) -> Tensor:
        """The objective's loss; with weak supervision, ``+ mean H(e_{y_i}, σ_i)`` over the labeled rows."""
        if self._labeled is None:
            return self.objective.network_loss(logits, logits_aug, targets)
        lab = self._labeled[idx]
        unl = ~lab
        loss = logits.new_zeros(())
        if bool(unl.any()):
            loss = loss + self.objective.network_loss(
                logits[unl], None if logits_aug is None else logits_aug[unl], None if targets is None else targets[unl])
        if bool(lab.any()):
            loss = loss + shannon_cross_entropy(logits[lab], self._y_true[idx][lab])
        return loss

    def _autocast(self) -> Any:
        if self.config.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    # ------------------------------------------------------------------------------------
    # evaluation
    # ------------------------------------------------------------------------------------
    @torch.no_grad()
    def _predict_all(self, x: Tensor) -> Tensor:
        was_training = self.model.training
        self.model.eval()
        try:
            out = [torch.softmax(self.model(x[i:i + _EVAL_BATCH]).to(self.dtype), 1) for i in range(0, len(x), _EVAL_BATCH)]
        finally:
            self.model.train(was_training)
        return torch.cat(out) if out else x.new_zeros((0, self.n_clusters))

    def _probs_local(self) -> Tensor:
        """Eval-mode σ of the owned points for the current parameters (cached)."""
        if self._probs_local_cache is None:
            self._probs_local_cache = self._predict_all(self._x[self._own] if self.dist.active else self._x)
        return self._probs_local_cache

    def _probs(self) -> Tensor:
        """Eval-mode σ of the whole training set (gathered from every process; cached)."""
        if self._probs_cache is None:
            self._probs_cache = self.dist.gather_owned(self._probs_local(), len(self.dataset))
        return self._probs_cache

    def _scores(self, y: Optional[Tensor], pred: Tensor, prefix: str = "") -> dict[str, Any]:
        if y is None:
            return {}
        scores = evaluate(y.cpu(), pred.cpu())
        if self.objective.supervised:
            scores["acc"] = float((pred == y).double().mean())
        return {prefix + k: v for k, v in scores.items()}

    def _evaluate(self, pred: Tensor) -> dict[str, Any]:
        """ACC/NMI/ARI (plain accuracy when supervised) of ``pred`` on the training set, the
        argmax cluster sizes, and ``test_`` scores on the eval set."""
        out = {**self._scores(self._y_true, pred),
               "cluster_sizes": torch.bincount(pred, minlength=self.n_clusters).tolist()}
        if self.eval_dataset is not None:
            test_pred = self.predict_proba(self.eval_dataset.x.to(self.device)).argmax(1)
            y = None if self.eval_dataset.y is None else self.eval_dataset.y.to(self.device)
            out.update(self._scores(y, test_pred, "test_"))
        return out

    def _fit_one_shot(self) -> dict[str, Any]:
        """A method without a network (k-means): one pass, reported as epoch 1."""
        start = time.perf_counter()
        full = self.objective.fit_predict(self._x, seed=self.config.seed).double().to(self.device)
        self.labels = full[self._own]  # every process computes the same; each keeps its shard
        elapsed = time.perf_counter() - start
        pred = full.argmax(1)
        inertia = getattr(self.objective, "inertia", math.nan)
        metrics: dict[str, Any] = {"epoch": 1, "loss": inertia / len(self.dataset) if math.isfinite(inertia) else None,
                                   "label_loss": None, **self._evaluate(pred)}
        metrics.update({"pseudo_entropy": 0.0, "solver_iters": None, "y_step_seconds": elapsed,
                        "seconds": time.perf_counter() - start})
        self.epoch = 1
        self.history.append(metrics)
        if self.run_record is not None:
            self.run_record.save_checkpoint(self.state_dict(), 1)
            self.run_record.log_epoch(1, metrics)
        return metrics
