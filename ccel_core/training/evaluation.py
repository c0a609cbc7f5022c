"""Evaluation of a network during training: eval-mode predictions in chunks and the scores of an
assignment (ACC / NMI / ARI under the Hungarian map, docs/math.md; plain accuracy when the clusters
are the classes)."""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch import Tensor, nn

from ..distributed import Dist
from ..metrics import evaluate

__all__ = ["EVAL_BATCH", "predict_probs", "scores", "Evaluator", "TrainingDivergedError"]

EVAL_BATCH = 2048  # rows per eval-mode forward pass


class TrainingDivergedError(RuntimeError):
    """The network's outputs became NaN or infinite during training (the run is marked failed)."""


@torch.no_grad()
def predict_probs(model: nn.Module, x: Tensor, n_clusters: int, dtype: torch.dtype) -> Tensor:
    """``σ = softmax(f(x))`` in eval mode, ``EVAL_BATCH`` rows at a time (the mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        out = [torch.softmax(model(x[i : i + EVAL_BATCH]).to(dtype), 1) for i in range(0, len(x), EVAL_BATCH)]
    finally:
        model.train(was_training)
    return torch.cat(out) if out else x.new_zeros((0, n_clusters))


def scores(y: Optional[Tensor], pred: Tensor, *, supervised: bool, prefix: str = "") -> dict[str, Any]:
    """``{prefix+"acc", prefix+"nmi", prefix+"ari"}`` of ``pred`` against ``y`` ({} without labels)."""
    if y is None:
        return {}
    out = evaluate(y.cpu(), pred.cpu())
    if supervised:
        out["acc"] = float((pred == y).double().mean())
    return {prefix + k: v for k, v in out.items()}


class Evaluator:
    """Eval-mode predictions of the training set for the current parameters, and their scores.

    ``local()`` is σ of this process's points ``x_local``, ``full()`` that of all ``n`` points
    (gathered when data-parallel); both are cached until :meth:`invalidate` (the parameters
    changed). ``scores(pred)`` gives the training-set ACC/NMI/ARI against ``y_true``, the argmax
    cluster sizes and ``test_`` scores of ``predict_proba`` on the held-out ``eval_dataset``.
    """

    def __init__(
        self,
        model: Optional[nn.Module],
        x_local: Tensor,
        dist: Dist,
        n: int,
        n_clusters: int,
        y_true: Optional[Tensor],
        supervised: bool,
        eval_dataset: Any,
        predict_proba: Callable[[Tensor], Tensor],
    ) -> None:
        self.model, self.x_local, self.dist, self.n, self.k = model, x_local, dist, n, n_clusters
        self.y_true, self.supervised, self.eval_dataset, self.predict_proba = (
            y_true,
            supervised,
            eval_dataset,
            predict_proba,
        )
        self._local: Optional[Tensor] = None
        self._full: Optional[Tensor] = None

    def invalidate(self) -> None:
        self._local = self._full = None

    def predict(self, x: Tensor, *, agree: bool = False) -> Tensor:
        """σ of ``x`` (in ``x``'s dtype, the network's), checked finite: every prediction the trainer
        scores, saves or returns passes here, so no run ends "finished" with NaN outputs (the per-batch
        guard sees training-mode outputs only; a head can overflow on other points or after the last
        step). ``agree``: the verdict is all-reduced (each process predicts its own rows)."""
        assert self.model is not None
        probs = predict_probs(self.model, x, self.k, x.dtype)
        bad = (~torch.isfinite(probs)).any(1).sum().to(torch.float64).reshape(1)
        if agree and self.dist.active:
            bad = self.dist.all_reduce(bad)
        if float(bad[0]) > 0:
            raise TrainingDivergedError(
                f"the network's predictions are not finite (NaN or infinite) for {int(bad[0])} of "
                f"{len(x) if not agree else self.n} points: training diverged (or the weights overflow); "
                "lower the learning rate (--lr) or the weight decay, or use a smaller initialization"
            )
        return probs

    def local(self) -> Tensor:
        if self._local is None:
            self._local = self.predict(self.x_local, agree=True)
        return self._local

    def full(self) -> Tensor:
        if self._full is None:
            self._full = self.dist.gather_owned(self.local(), self.n)
        return self._full

    def scores(self, pred: Tensor) -> dict[str, Any]:
        out = {
            **scores(self.y_true, pred, supervised=self.supervised),
            "cluster_sizes": torch.bincount(pred, minlength=self.k).tolist(),
        }
        if self.eval_dataset is not None:
            x = self.eval_dataset.x.to(pred.device)
            test_pred = self.predict_proba(x).argmax(1)
            y = None if self.eval_dataset.y is None else self.eval_dataset.y.to(pred.device)
            out.update(scores(y, test_pred, supervised=self.supervised, prefix="test_"))
        return out
