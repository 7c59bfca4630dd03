// Why this exists: products with one small side (a 10-class output layer:
// N = 10 or K = 10) run at a quarter of OpenBLAS's usual speed, whose kernels
// tile for large matrices. These AVX2 + FMA loops keep the small side in
// registers instead. Results differ from BLAS only in rounding (other
// summation order), as BLAS implementations differ among themselves.
#ifndef FLOCK_GEMM_H
#define FLOCK_GEMM_H

/// 1 when the CPU has AVX2 and FMA (and flock_sgemm_skinny may be called).
int flock_has_avx2_fma(void);

/// The largest small side flock_sgemm_skinny takes.
enum { FLOCK_SKINNY_MAX = 12 };

/// Repacks op(B) -- [K, N], stored [N, K] when tb -- into `scratch` (K * N
/// floats) for flock_sgemm_skinny: once per product, before the row ranges.
void flock_sgemm_skinny_pack(int ta, int tb, long n, long k, const float *b, long ldb, float *scratch);

/// Row-major C[M, N] = alpha * op(A) op(B) + beta * C for rows [row_lo, row_hi) of C,
/// where op(A) is [M, K] (stored [K, M] when ta) and op(B) was packed into
/// `packed` by flock_sgemm_skinny_pack; beta is 0 or 1. Requires
/// N <= FLOCK_SKINNY_MAX or K <= FLOCK_SKINNY_MAX. Row ranges of one call
/// must not overlap; with ta, row_lo should be a multiple of 8.
void flock_sgemm_skinny(int ta, long n, long k, float alpha, const float *a, long lda, const float *packed,
                        float beta, float *c, long ldc, long row_lo, long row_hi);

#endif
