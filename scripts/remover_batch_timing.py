"""The remover's windows per second at several batch sizes, interleaved in one process.

Usage: ``python scripts/remover_batch_timing.py`` (20,000 random 2 s epochs, three rounds).
Interleaving the sizes in one process keeps the machine's drift out of the comparison.
"""

from __future__ import annotations

import time

import numpy as np

from neurolint.correct.artifacts import denoise_epochs


def main(n: int = 20000, rounds: int = 3, sizes: tuple[int, ...] = (8, 16, 32, 48, 64)) -> None:
    """Print each batch size's windows per second, one value per round."""
    x = np.random.default_rng(0).standard_normal((n, 512)).astype(np.float32)
    denoise_epochs(x[:256])  # model load and warm-up
    rates: dict[int, list[int]] = {b: [] for b in sizes}
    for _ in range(rounds):
        for b in sizes:
            t = time.perf_counter()
            denoise_epochs(x, batch_size=b)
            rates[b].append(round(n / (time.perf_counter() - t)))
    for b, r in rates.items():
        print(f"batch {b:3d}: {', '.join(map(str, r))} windows/s")


if __name__ == "__main__":
    main()
