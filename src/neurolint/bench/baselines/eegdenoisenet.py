"""Re-implementations of EEGdenoiseNet's four benchmark networks (Zhang et al., J. Neural
Eng. 2021), trained here on the same split and mixtures as neurolint's remover.

The paper's designs, at its epoch length of 512 samples: a fully connected network (three
hidden layers of 512 with dropout), a simple CNN (four 64-filter convolutions with batch
norm, then one dense layer), a complex CNN (residual convolution branches with kernels 3, 5
and 7, then one dense layer) and an RNN (an LSTM over time, then one dense layer). Where the
paper leaves a detail open (widths of the residual branches, the LSTM's size) the choice is
stated in the builder. Every network maps a std-scaled noisy epoch to the clean epoch on the
same scale and is trained with MSE, as in the paper.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NETWORKS", "build"]

N = 512


def _fcnn() -> Any:
    from torch import nn

    layers: list[Any] = []
    for _ in range(3):
        layers += [nn.Linear(N, N), nn.ReLU(), nn.Dropout(0.1)]
    return nn.Sequential(nn.Flatten(), *layers, nn.Linear(N, N), nn.Unflatten(1, (1, N)))


def _simple_cnn() -> Any:
    from torch import nn

    layers: list[Any] = []
    c_in = 1
    for _ in range(4):
        layers += [nn.Conv1d(c_in, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU()]
        c_in = 64
    return nn.Sequential(
        *layers, nn.Dropout(0.5), nn.Flatten(), nn.Linear(64 * N, N), nn.Unflatten(1, (1, N))
    )


def _complex_cnn(width: int = 32) -> Any:
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, k: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv1d(width, width, k, padding=k // 2),
                nn.BatchNorm1d(width),
                nn.ReLU(),
                nn.Conv1d(width, width, k, padding=k // 2),
                nn.BatchNorm1d(width),
            )

        def forward(self, x):
            return torch.relu(x + self.body(x))

    class ComplexCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv1d(1, width, 3, padding=1), nn.ReLU())
            self.branches = nn.ModuleList(
                nn.Sequential(Residual(k), Residual(k), Residual(k)) for k in (3, 5, 7)
            )
            self.merge = nn.Sequential(nn.Conv1d(3 * width, width, 1), nn.ReLU())
            self.head = nn.Linear(width * N, N)

        def forward(self, x):
            h = self.stem(x)
            h = self.merge(torch.cat([b(h) for b in self.branches], dim=1))
            return self.head(h.flatten(1))[:, None]

    return ComplexCNN()


def _rnn(hidden: int = 32) -> Any:
    from torch import nn

    class RNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(1, hidden, batch_first=True)
            self.head = nn.Linear(hidden * N, N)

        def forward(self, x):
            h, _ = self.lstm(x.transpose(1, 2))
            return self.head(h.flatten(1))[:, None]

    return RNN()


#: Name → (builder, what was chosen where the paper is open).
NETWORKS = {
    "EEGdenoiseNet FCNN": (_fcnn, "3 x 512 ReLU, dropout 0.1"),
    "EEGdenoiseNet simple CNN": (_simple_cnn, "4 x Conv(64, k3)+BN+ReLU, dense 512"),
    "EEGdenoiseNet complex CNN": (_complex_cnn, "3 residual branches (k 3/5/7) of 32 maps"),
    "EEGdenoiseNet RNN": (_rnn, "LSTM of 32 units, dense 512"),
}


def build(name: str) -> Any:
    """A fresh, untrained network."""
    return NETWORKS[name][0]()
