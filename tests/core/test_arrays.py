"""Array helpers."""

import numpy as np


def test_zero_nonfinite_works_in_place_and_leaves_finite_samples():
    from neurolint.core.arrays import zero_nonfinite

    x = np.array([[1.0, np.nan, -np.inf], [np.inf, 2.5, 0.0]])
    assert zero_nonfinite(x) is x
    np.testing.assert_array_equal(x, [[1.0, 0.0, 0.0], [0.0, 2.5, 0.0]])
