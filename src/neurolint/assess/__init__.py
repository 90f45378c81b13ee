"""Assessment: detectors that find what is wrong with a recording, and ``check()``.

Detectors (imported when used): ``rules`` (classical, explainable), ``learned`` (a small CNN
window classifier), ``anomaly`` (isolation forest and autoencoder), ``ephys``, ``imaging``
and ``fmri``. :func:`check` picks them by modality and merges their findings.
"""

from .pipeline import DETECTORS, check

__all__ = ["DETECTORS", "check"]
