#include "flock_reduce_window.h"
#include <math.h>
#include <string.h>

// Same rounding as Swift: every operation rounds on its own.
#pragma clang fp contract(off)

// Flock's nanMax/nanMin (Elementwise+Kernels.swift) with the accumulator first:
// NaN propagates, +0.0 is larger than -0.0.
#define SUM_OP(a, b) ((a) + (b))
#define MAX_OP(a, b) (((a) > (b) || (a) != (a) || ((a) == (b) && signbit(b))) ? (a) : (b))
#define MIN_OP(a, b) (((a) < (b) || (a) != (a) || ((a) == (b) && signbit(a))) ? (a) : (b))

// The output columns ow whose window position `shift` (= j * dilation - pad)
// lands inside the operand row: 0 <= ow * stride + shift < in.
static inline void valid_columns(flock_window_dim w, long shift, long *lo, long *hi) {
    long first = shift >= 0 ? 0 : (-shift + w.stride - 1) / w.stride;
    long last = w.in - 1 - shift < 0 ? -1 : (w.in - 1 - shift) / w.stride;
    *lo = first;
    *hi = last + 1 < w.out ? last + 1 : w.out;
}

#define ROWS_BODY(T, OP, IDENTITY)                                                               \
    for (long r = row_lo; r < row_hi; r++) {                                                     \
        long b = r / h.out, oh = r % h.out;                                                      \
        T *restrict out = dst + r * w.out * c;                                                   \
        for (long i = 0; i < w.out * c; i++) out[i] = (IDENTITY);                                \
        const T *base = src + b * h.in * w.in * c;                                               \
        for (long i = 0; i < h.size; i++) {                                                      \
            long row = oh * h.stride + i * h.dilation - h.pad;                                   \
            if (row < 0 || row >= h.in) continue;                                                \
            const T *in = base + row * w.in * c;                                                 \
            for (long j = 0; j < w.size; j++) {                                                  \
                long shift = j * w.dilation - w.pad, lo, hi;                                     \
                valid_columns(w, shift, &lo, &hi);                                               \
                if (lo >= hi) continue;                                                          \
                const T *restrict s = in + (lo * w.stride + shift) * c;                          \
                T *restrict d = out + lo * c;                                                    \
                long n = hi - lo, step = w.stride * c;                                           \
                if (c == 1) {                                                                    \
                    if (w.stride == 1) {                                                         \
                        for (long o = 0; o < n; o++) d[o] = OP(d[o], s[o]);                      \
                    } else {                                                                     \
                        for (long o = 0; o < n; o++) d[o] = OP(d[o], s[o * step]);               \
                    }                                                                            \
                } else {                                                                         \
                    for (long o = 0; o < n; o++, d += c, s += step)                              \
                        for (long k = 0; k < c; k++) d[k] = OP(d[k], s[k]);                      \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }

#define AVX2 __attribute__((target("avx2,fma")))
#define ROWS_FN(NAME, ATTR, T, OP, IDENTITY)                                                     \
    ATTR static void NAME(const T *src, T *dst, flock_window_dim h, flock_window_dim w, long c,  \
                          long row_lo, long row_hi) {                                            \
        ROWS_BODY(T, OP, IDENTITY)                                                               \
    }

ROWS_FN(f32_sum_avx2, AVX2, float, SUM_OP, 0.0f)
ROWS_FN(f32_max_avx2, AVX2, float, MAX_OP, -INFINITY)
ROWS_FN(f32_min_avx2, AVX2, float, MIN_OP, INFINITY)
ROWS_FN(f32_sum_base, , float, SUM_OP, 0.0f)
ROWS_FN(f32_max_base, , float, MAX_OP, -INFINITY)
ROWS_FN(f32_min_base, , float, MIN_OP, INFINITY)
ROWS_FN(f64_sum_avx2, AVX2, double, SUM_OP, 0.0)
ROWS_FN(f64_max_avx2, AVX2, double, MAX_OP, -(double)INFINITY)
ROWS_FN(f64_min_avx2, AVX2, double, MIN_OP, (double)INFINITY)
ROWS_FN(f64_sum_base, , double, SUM_OP, 0.0)
ROWS_FN(f64_max_base, , double, MAX_OP, -(double)INFINITY)
ROWS_FN(f64_min_base, , double, MIN_OP, (double)INFINITY)

void flock_f32_reduce_window_rows(int avx2, int op, const float *src, float *dst, flock_window_dim h, flock_window_dim w,
                                  long c, long row_lo, long row_hi) {
    int v = avx2;
    switch (op) {
    case FLOCK_WINDOW_SUM: (v ? f32_sum_avx2 : f32_sum_base)(src, dst, h, w, c, row_lo, row_hi); break;
    case FLOCK_WINDOW_MAX: (v ? f32_max_avx2 : f32_max_base)(src, dst, h, w, c, row_lo, row_hi); break;
    case FLOCK_WINDOW_MIN: (v ? f32_min_avx2 : f32_min_base)(src, dst, h, w, c, row_lo, row_hi); break;
    }
}

void flock_f64_reduce_window_rows(int avx2, int op, const double *src, double *dst, flock_window_dim h, flock_window_dim w,
                                  long c, long row_lo, long row_hi) {
    int v = avx2;
    switch (op) {
    case FLOCK_WINDOW_SUM: (v ? f64_sum_avx2 : f64_sum_base)(src, dst, h, w, c, row_lo, row_hi); break;
    case FLOCK_WINDOW_MAX: (v ? f64_max_avx2 : f64_max_base)(src, dst, h, w, c, row_lo, row_hi); break;
    case FLOCK_WINDOW_MIN: (v ? f64_min_avx2 : f64_min_base)(src, dst, h, w, c, row_lo, row_hi); break;
    }
}
