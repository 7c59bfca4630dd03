"""The mpi4py peer of Flock's psum benchmark: comm.Allreduce (sum, float32) on
preallocated numpy buffers, timed like the C and Flock cases. Run under
./launch -n 2 by benchmarks/run; rank 0 prints one JSON line per size."""
import json
import sys

import numpy as np
from mpi4py import MPI

CASES = [("psum_4B", 4, 1000), ("psum_64KiB", 64 << 10, 100), ("psum_4MiB", 4 << 20, 5), ("psum_64MiB", 64 << 20, 2)]
REPEATS = 31


def main(selected):
    comm = MPI.COMM_WORLD
    for name, nbytes, iterations in CASES:
        if selected and selected not in (name, "collectives"):
            continue
        x = (np.arange(nbytes // 4) % 13).astype(np.float32) + comm.rank
        out = np.zeros_like(x)
        samples = []
        for r in range(-1, REPEATS):
            comm.Barrier()
            t0 = MPI.Wtime()
            for _ in range(iterations):
                comm.Allreduce(x, out, op=MPI.SUM)
            t = (MPI.Wtime() - t0) / iterations
            if r >= 0:
                samples.append(t)
        ns = min(samples) * 1e9  # best repeat, as the C and Flock cases
        if comm.rank == 0:
            unit, value = ("us", ns / 1e3) if nbytes == 4 else ("GB/s", nbytes / ns)
            print(json.dumps({"case": name, "impl": "mpi4py", "ns": ns, "unit": unit, "value": value}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
