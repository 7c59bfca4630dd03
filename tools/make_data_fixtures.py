#!/usr/bin/env python3
"""Fixtures for Flock's DataLoader, with JAX and numpy as oracles.

    python tools/make_data_fixtures.py   # (re)write Tests/FlockNNTests/Fixtures/data/data.json

permutations: jax.random.permutation(jax.random.fold_in(PRNGKey(seed), epoch), n)
for several seeds, epochs and sizes (0, 1, odd, the digits' 1500).

plans: for a data set of n examples, a global batch B over P processes and
K local devices, the rows each process takes in each batch of an epoch and
the mask, computed here with numpy from the rule in Sources/NN/Data/DataLoader.swift
(global batch b = positions [bB, (b+1)B) of the epoch's order; process p takes
positions [pB/P, (p+1)B/P) of it; the last partial batch dropped, or padded
with the epoch's first example and mask 0).

digits: what numpy reads from Examples/Data/digits.npz (shapes, dtypes,
per-class counts, sums) for the Dataset loading test.
"""
import json
import zlib
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", False)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "FlockNNTests" / "Fixtures" / "data" / "data.json"


def order(seed, epoch, n, shuffle):
    if not shuffle:
        return np.arange(n)
    key = jax.random.fold_in(jax.random.PRNGKey(seed), epoch)
    return np.asarray(jax.random.permutation(key, n))


def plan(n, batch, processes, devices, remainder, seed, epoch, shuffle):
    o = order(seed, epoch, n, shuffle)
    count = n // batch if remainder == "drop" else -(-n // batch)
    local = batch // processes
    out = []
    for p in range(processes):
        rows, masks = [], []
        for b in range(count):
            positions = np.arange(b * batch + p * local, b * batch + (p + 1) * local)
            real = positions < n
            rows.append(np.where(real, o[np.minimum(positions, n - 1)], o[0]).tolist())
            masks.append(real.astype(int).tolist())
        out.append({"rows": rows, "mask": masks})
    return {"n": n, "batch": batch, "processes": processes, "devices": devices, "remainder": remainder,
            "seed": seed, "epoch": epoch, "shuffle": shuffle, "per_process": out}


def main():
    permutations = []
    for seed in (0, 42, 2**31 - 1):
        for epoch in (0, 1, 7):
            for n in (0, 1, 2, 13, 100, 1500):
                permutations.append({"seed": seed, "epoch": epoch, "n": n, "order": order(seed, epoch, n, True).tolist()})
    plans = [
        plan(10, 4, 1, 1, "drop", 0, 0, True),
        plan(10, 4, 1, 1, "pad", 0, 0, True),
        plan(10, 4, 2, 1, "pad", 0, 3, True),
        plan(10, 4, 2, 2, "pad", 5, 1, True),
        plan(13, 6, 3, 1, "drop", 9, 2, True),
        plan(13, 6, 3, 2, "pad", 9, 2, False),
        plan(3, 8, 4, 2, "pad", 1, 0, True),
        plan(100, 20, 4, 1, "pad", 42, 4, True),
    ]
    d = np.load(ROOT / "Examples" / "Data" / "digits.npz")
    digits = {k: {"dtype": d[k].dtype.name, "shape": list(d[k].shape),
                  "crc32": zlib.crc32(np.ascontiguousarray(d[k]).astype(d[k].dtype.newbyteorder("<")).tobytes())}
              for k in d.files}
    counts = {k: np.bincount(d[k], minlength=10).tolist() for k in ("y_train", "y_test")}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"permutations": permutations, "plans": plans, "digits": digits,
                               "digit_counts": counts}, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
