"""The cross-entropy family: Shannon, collision (Rényi order 2) and Rényi of order α.

Notation (docs/math.md §1): logits ``l`` of shape (N, K), predictions ``σ = softmax(l)``, targets ``y``
on the probability simplex Δ_K (soft, N×K) or class indices (hard, N). As in
``torch.nn.functional.cross_entropy``, extra dimensions (N, K, d1, …) — e.g. per-pixel soft labels
— and ``ignore_index`` for class indices are accepted.

* Shannon CE        ``H(y, σ)  = −Σ_k y_k ln σ_k``
* Collision CE      ``H₂(y, σ) = −ln Σ_k y_k σ_k``               (paper eq. 9)
                    ``        = −ln σ_j − logsumexp(l − l_j + ln y)``  (the stable form used here)
* Rényi CE, order α ``H_α(y, σ) = ln(Σ_k y_k σ_k^{α−1}) / (1 − α)``
                    ``        = −ln σ_j − logsumexp((α − 1)(l − l_j) + ln y) / (α − 1)``

Collision CE is symmetric in y and σ, equals Shannon CE for one-hot targets, is the constant ln K
(zero gradient) for uniform targets and never exceeds Shannon CE (Jensen).

Modules: :mod:`.cross_entropy` (the functionals, and their numerics: stable forms, half types,
error bounds), :mod:`.entropies` (``entropy``, ``collision_entropy``, ``kl_divergence`` of
probability vectors), :mod:`.modules` (the ``nn.Module`` forms), :mod:`.checks` (input validation),
:mod:`.numerics` (the helpers every member shares: computed dtype, reduction, safe ``ln``, log-dot-exp).

The functionals follow ``torch.nn.functional``: ``(input, target, …, reduction="mean")`` with
``reduction`` in {"none", "mean", "sum"}; the module classes are one line of ``forward``.
Inputs are validated by one helper (:func:`~.checks.check_pair`; :func:`~.checks.check_probabilities`
for the entropies); bad input raises ``ValueError`` naming the value and what was expected.
Every functional and module takes a keyword-only ``validate=True``: ``validate=False`` skips the
data checks (finite logits, targets on the simplex, class indices in range), which read tensor
values and so force a host↔device synchronization, for callers that already validated their inputs
(e.g. a training loop's per-batch loss); the cheap structural checks (types, shapes, dtypes, devices,
``reduction``) stay, and on valid input the result is bit-identical.
"""

from __future__ import annotations

from .cross_entropy import collision_cross_entropy, renyi_cross_entropy, shannon_cross_entropy
from .entropies import collision_entropy, entropy, kl_divergence
from .modules import CollisionCrossEntropyLoss, RenyiCrossEntropyLoss, ShannonCrossEntropyLoss

__all__ = [
    "collision_cross_entropy",
    "shannon_cross_entropy",
    "renyi_cross_entropy",
    "entropy",
    "collision_entropy",
    "kl_divergence",
    "CollisionCrossEntropyLoss",
    "ShannonCrossEntropyLoss",
    "RenyiCrossEntropyLoss",
]
