"""Frozen torchvision backbones as feature extractors (paper Table 2: clustering on fixed features).

:func:`extract_features` runs the images of a data set through an ImageNet backbone in eval mode
and returns its pooled penultimate features (the global-average-pooled vector the classifier
reads) as :class:`Features`; :func:`save_features` writes them, atomically, as the ``.npz`` file
``ccel fit --data FILE.npz`` loads: ``x`` (float32 N×D), ``y`` (int64, when labeled) and ``meta``
(a JSON string: backbone, weights, data, n, …; read it back with :func:`feature_file_meta`).

Images are taken back to [0, 1] (ccel's per-channel normalization undone), grey ones repeated to
3 channels, then given the weights' own transform (``weights.transforms()``: resize, center crop,
ImageNet normalization). Weights: the backbone's torchvision ImageNet weights (downloaded by
torchvision on first use into its cache), a local state-dict file (no download), or ``None``
(random init, seeded: tests and offline checks).

Modules: :mod:`.networks` (the backbones, their weights, :func:`build_backbone`), :mod:`.images`
(the image sources: a data set's tensors or a folder of files), :mod:`.extract`
(:func:`extract_features`), :mod:`.features` (:class:`Features` and the ``.npz`` feature file).
"""

from __future__ import annotations

from .extract import extract_features
from .features import Features, check_output_path, feature_file_meta, save_features
from .networks import BACKBONES, Backbone, build_backbone

__all__ = ["BACKBONES", "Backbone", "Features", "build_backbone", "extract_features", "save_features"]
__all__ += ["check_output_path", "feature_file_meta"]
