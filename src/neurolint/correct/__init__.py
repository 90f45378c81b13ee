"""Correction: give back a cleaner recording and an exact account of what changed.

Steps (imported when used): ``gaps`` (autoregressive or spline fill), ``channels``
(spherical-spline repair through MNE) and ``line`` (chunked ZapLine or notches).
:func:`fix` runs them in order on a lazy series; :func:`residual` is what they removed.
"""

from .pipeline import STEPS, account, fix, residual

__all__ = ["STEPS", "account", "fix", "residual"]
