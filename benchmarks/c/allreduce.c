/* The C baseline for Flock's psum benchmark: MPI_Allreduce (sum, float32) on
 * preallocated buffers, timed like Flock's and mpi4py's cases (benchmarks/run
 * builds it with mpicc and runs it under ./launch -n 2 in the same run).
 * Rank 0 prints one JSON line per size: the best over 31 repeats of the mean
 * time per call (the machine is shared: short loops, and the best repeat is
 * the one least disturbed by other processes; every implementation is timed
 * the same way). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *names[] = {"psum_4B", "psum_64KiB", "psum_4MiB", "psum_64MiB"};
    const long bytes[] = {4, 64L << 10, 4L << 20, 64L << 20};
    const int iterations[] = {1000, 100, 5, 2};
    enum { repeats = 31 };
    for (int c = 0; c < 4; c++) {
        long n = bytes[c] / 4;
        /* 64-byte aligned like Flock's buffers: MPI's copies run at a speed that depends on alignment. */
        float *in = NULL, *out = NULL;
        if (posix_memalign((void **)&in, 64, bytes[c]) != 0 || posix_memalign((void **)&out, 64, bytes[c]) != 0) return 1;
        for (long i = 0; i < n; i++) in[i] = (float)(i % 13) + rank;
        memset(out, 0, bytes[c]);
        double samples[repeats];
        for (int r = -1; r < repeats; r++) { /* r = -1: warm-up */
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int i = 0; i < iterations[c]; i++) MPI_Allreduce(in, out, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double t = (MPI_Wtime() - t0) / iterations[c];
            if (r >= 0) samples[r] = t;
        }
        qsort(samples, repeats, sizeof(double), compare);
        double ns = samples[0] * 1e9;
        if (rank == 0) {
            if (c == 0)
                printf("{\"case\": \"%s\", \"impl\": \"c\", \"ns\": %.1f, \"unit\": \"us\", \"value\": %.4f}\n", names[c], ns, ns / 1e3);
            else
                printf("{\"case\": \"%s\", \"impl\": \"c\", \"ns\": %.1f, \"unit\": \"GB/s\", \"value\": %.4f}\n", names[c], ns, bytes[c] / ns);
            fflush(stdout);
        }
        free(in);
        free(out);
    }
    MPI_Finalize();
    return 0;
}
