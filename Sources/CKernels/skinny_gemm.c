#include "flock_gemm.h"
#include <immintrin.h>

#define AVX2_FMA __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline, target("avx2,fma")))

int flock_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// Which side is small decides the loop, and with it the layout B is repacked in:
// 0: N small and A's rows contiguous -- dot products of A's rows with B's
//    columns, so B is packed as [N][K];
// 1: otherwise -- B packed as [K][N], read along N.
static int packs_columns(int ta, long n, long k) {
    int n_small = n <= FLOCK_SKINNY_MAX && (k > FLOCK_SKINNY_MAX || n <= k);
    return n_small && !ta;
}

void flock_sgemm_skinny_pack(int ta, int tb, long n, long k, const float *b, long ldb, float *scratch) {
    // B(kk, j) is b[kk * ldb + j], or b[j * ldb + kk] when tb.
    if (packs_columns(ta, n, k)) {
        for (long j = 0; j < n; j++)
            for (long kk = 0; kk < k; kk++) scratch[j * k + kk] = tb ? b[j * ldb + kk] : b[kk * ldb + j];
    } else {
        for (long kk = 0; kk < k; kk++)
            for (long j = 0; j < n; j++) scratch[kk * n + j] = tb ? b[j * ldb + kk] : b[kk * ldb + j];
    }
}

INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE void store(float *c, float value, float alpha, float beta) {
    *c = beta != 0 ? *c + alpha * value : alpha * value;
}

// N small, A's rows contiguous: c[i, j] = dot(A[i, :], P[j, :]), N accumulators.
// The K loop runs in blocks of DOT_BLOCK whose sums are added to a running
// total, so a long dot product (K = 2^28) stays accurate: a single fused
// multiply-add chain per lane would stop growing once it reaches 2^24 times
// the terms.
enum { DOT_BLOCK = 4096 };
INLINE void rows_dot(const int N, long k, float alpha, const float *a, long lda, const float *p,
                     float beta, float *c, long ldc, long lo, long hi) {
    for (long i = lo; i < hi; i++) {
        const float *row = a + i * lda;
        __m256 acc[FLOCK_SKINNY_MAX], total[FLOCK_SKINNY_MAX];
        for (int j = 0; j < N; j++) total[j] = _mm256_setzero_ps();
        long kk = 0;
        while (kk + 8 <= k) {
            long end = kk + DOT_BLOCK < k ? kk + DOT_BLOCK : k;
            for (int j = 0; j < N; j++) acc[j] = _mm256_setzero_ps();
            for (; kk + 8 <= end; kk += 8) {
                __m256 x = _mm256_loadu_ps(row + kk);
                for (int j = 0; j < N; j++) acc[j] = _mm256_fmadd_ps(x, _mm256_loadu_ps(p + j * k + kk), acc[j]);
            }
            for (int j = 0; j < N; j++) total[j] = _mm256_add_ps(total[j], acc[j]);
        }
        for (int j = 0; j < N; j++) {
            float s = hsum(total[j]);
            for (long t = kk; t < k; t++) s += row[t] * p[j * k + t];
            store(c + i * ldc + j, s, alpha, beta);
        }
    }
}

// N small, A stored [K, M]: eight rows of C at a time, c[i .. i+8, j] = sum_k A[k, i .. i+8] * Q[k, j].
INLINE void columns_broadcast(const int N, long k, float alpha, const float *a, long lda, const float *q,
                              float beta, float *c, long ldc, long lo, long hi) {
    long i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256 acc[FLOCK_SKINNY_MAX], total[FLOCK_SKINNY_MAX];
        for (int j = 0; j < N; j++) total[j] = _mm256_setzero_ps();
        for (long block = 0; block < k; block += DOT_BLOCK) {
            long end = block + DOT_BLOCK < k ? block + DOT_BLOCK : k;
            for (int j = 0; j < N; j++) acc[j] = _mm256_setzero_ps();
            for (long kk = block; kk < end; kk++) {
                __m256 x = _mm256_loadu_ps(a + kk * lda + i);
                for (int j = 0; j < N; j++) acc[j] = _mm256_fmadd_ps(x, _mm256_broadcast_ss(q + kk * N + j), acc[j]);
            }
            for (int j = 0; j < N; j++) total[j] = _mm256_add_ps(total[j], acc[j]);
        }
        float t[FLOCK_SKINNY_MAX][8];
        for (int j = 0; j < N; j++) _mm256_storeu_ps(t[j], total[j]);
        for (int l = 0; l < 8; l++)
            for (int j = 0; j < N; j++) store(c + (i + l) * ldc + j, t[j][l], alpha, beta);
    }
    for (; i < hi; i++) {
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (long block = 0; block < k; block += DOT_BLOCK) {
                long end = block + DOT_BLOCK < k ? block + DOT_BLOCK : k;
                float b = 0;
                for (long kk = block; kk < end; kk++) b += a[kk * lda + i] * q[kk * N + j];
                s += b;
            }
            store(c + i * ldc + j, s, alpha, beta);
        }
    }
}

// K small: c[i, :] = sum_k A(i, k) * Q[k, :], the K values of A's row broadcast once.
INLINE void rows_broadcast(const int K, int ta, long n, float alpha, const float *a, long lda, const float *q,
                           float beta, float *c, long ldc, long lo, long hi) {
    __m256 va = _mm256_set1_ps(alpha);
    for (long i = lo; i < hi; i++) {
        float s[FLOCK_SKINNY_MAX];
        __m256 x[FLOCK_SKINNY_MAX];
        for (int kk = 0; kk < K; kk++) {
            s[kk] = ta ? a[kk * lda + i] : a[i * lda + kk];
            x[kk] = _mm256_set1_ps(s[kk]);
        }
        float *row = c + i * ldc;
        long j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256 acc = _mm256_mul_ps(x[0], _mm256_loadu_ps(q + j));
            for (int kk = 1; kk < K; kk++) acc = _mm256_fmadd_ps(x[kk], _mm256_loadu_ps(q + kk * n + j), acc);
            acc = beta != 0 ? _mm256_fmadd_ps(va, acc, _mm256_loadu_ps(row + j)) : _mm256_mul_ps(va, acc);
            _mm256_storeu_ps(row + j, acc);
        }
        for (; j < n; j++) {
            float t = 0;
            for (int kk = 0; kk < K; kk++) t += s[kk] * q[kk * n + j];
            store(row + j, t, alpha, beta);
        }
    }
}

#define CASES(F, ...)                                                                   \
    switch (small) {                                                                    \
    case 1: F(1, __VA_ARGS__); break; case 2: F(2, __VA_ARGS__); break;                 \
    case 3: F(3, __VA_ARGS__); break; case 4: F(4, __VA_ARGS__); break;                 \
    case 5: F(5, __VA_ARGS__); break; case 6: F(6, __VA_ARGS__); break;                 \
    case 7: F(7, __VA_ARGS__); break; case 8: F(8, __VA_ARGS__); break;                 \
    case 9: F(9, __VA_ARGS__); break; case 10: F(10, __VA_ARGS__); break;               \
    case 11: F(11, __VA_ARGS__); break; case 12: F(12, __VA_ARGS__); break;             \
    }

AVX2_FMA void flock_sgemm_skinny(int ta, long n, long k, float alpha, const float *a, long lda, const float *packed,
                                 float beta, float *c, long ldc, long row_lo, long row_hi) {
    int n_small = n <= FLOCK_SKINNY_MAX && (k > FLOCK_SKINNY_MAX || n <= k);
    if (n_small) {
        int small = (int)n;
        if (!ta) {
            CASES(rows_dot, k, alpha, a, lda, packed, beta, c, ldc, row_lo, row_hi)
        } else {
            CASES(columns_broadcast, k, alpha, a, lda, packed, beta, c, ldc, row_lo, row_hi)
        }
    } else {
        int small = (int)k;
        CASES(rows_broadcast, ta, n, alpha, a, lda, packed, beta, c, ldc, row_lo, row_hi)
    }
}
