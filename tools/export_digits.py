#!/usr/bin/env python3
"""Exports scikit-learn's copy of the UCI 8x8 handwritten digits to Examples/Data/digits.npz.

    python tools/export_digits.py

The archive holds
    x_train  float32 [1500, 64]  pixel values 0..16 divided by 16, so in [0, 1]
    y_train  int32   [1500]      digit 0..9
    x_test   float32 [297, 64]
    y_test   int32   [297]
The split is fixed and seeded: the 1797 examples of sklearn.datasets.load_digits()
are permuted by numpy's default_rng(0).permutation, then the first 1500 are the
training set and the last 297 the test set. (sklearn's own order groups the
writers: its last 297 examples come from writers absent from the first 1500, and
cap a good MLP near 92 %.) Rows are the 8x8 images flattened row-major. Raw 0..16
values are x * 16 exactly.

Source: UCI Machine Learning Repository, "Optical Recognition of Handwritten
Digits" (E. Alpaydin, C. Kaynak, 1998), CC BY 4.0, as packaged by scikit-learn.
"""
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent.parent / "Examples" / "Data" / "digits.npz"
TEST = 297


def main():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    assert x.shape == (1797, 64) and set(np.unique(y)) == set(range(10))
    order = np.random.default_rng(0).permutation(len(x))
    x, y, raw = x[order], y[order], digits.data[order]
    n = len(x) - TEST
    np.savez_compressed(OUT, x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:])
    back = np.load(OUT)
    assert (back["x_train"] * 16 == raw[:n]).all()
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): train {n}, test {TEST}")


if __name__ == "__main__":
    main()
