"""Google's dp_accounting as the oracle for dp-sgd's Rényi accountant.

    .venv/bin/pip install dp-accounting
    .venv/bin/python tools/make_dpsgd_reference.py   # (re)writes Examples/DPSGD/dp-accounting.json

For a sweep of sampling rates, noise multipliers, step counts and deltas:
epsilon from dp_accounting's RdpAccountant (integer orders 2..256, Poisson
sampled Gaussian). `dp-sgd --check-accountant FILE` recomputes each.
"""
import json
import pathlib

import dp_accounting
from dp_accounting import rdp

OUT = pathlib.Path(__file__).resolve().parent.parent / "Examples" / "DPSGD" / "dp-accounting.json"

cases = []
for q in (0.001, 0.01, 0.05, 256 / 1500, 0.5, 1.0):
    for sigma in (0.7, 1.1, 2.0, 5.0):
        for steps in (1, 40, 400, 10000):
            for delta in (1e-5, 1e-3):
                acc = rdp.RdpAccountant(orders=list(range(2, 257)))
                acc.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
                cases.append({"sampling_rate": q, "noise_multiplier": sigma, "steps": steps, "delta": delta,
                              "epsilon": acc.get_epsilon(delta)})
OUT.write_text(json.dumps({"dp_accounting": dp_accounting.__version__ if hasattr(dp_accounting, "__version__") else "?",
                           "cases": cases}, indent=1) + "\n")
print("wrote", OUT, len(cases), "cases")
