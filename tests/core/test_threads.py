"""torch_threads sets torch's thread count for a block and always restores it."""

import pytest

from neurolint.core.threads import torch_threads

torch = pytest.importorskip("torch")


def test_threads_are_set_inside_and_restored_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
