#include "ckernels.h"
#include <string.h>

// Same rounding as Swift: every operation rounds on its own.
#pragma clang fp contract(off)

// FMA comes with every AVX2 CPU (checked at run time beside AVX2); tanh uses it as XLA does.
#define AVX2 __attribute__((target("avx2,fma")))

// Elementwise loops read element i and write element i only, so they are safe
// to vectorise even when the output is one of the inputs (jit writes in
// place). Without this the compiler checks for overlap at run time and runs
// the scalar loop -- with branches for selects -- whenever out == in.
#define ELEMENTWISE _Pragma("clang loop vectorize(assume_safety)")

int flock_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int flock_rsqrt_newton_steps(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx")) return 0;
    return __builtin_cpu_is("amd") ? 1 : 2;
#else
    return 0;
#endif
}

static inline uint32_t bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

// NaN propagates; +0.0 is larger than -0.0 whatever the operand order (Swift's nanMax/nanMin).
// A subnormal x becomes a zero of its sign (Core's flushedSubnormal): max and
// min choose an operand, which the hardware's flush-to-zero would not touch.
static inline float flushed(float x) {
    uint32_t b = bits(x);
    uint32_t z = b & 0x80000000u;
    float f;
    memcpy(&f, &z, sizeof f);
    return (b & 0x7f800000u) == 0 ? f : x;
}
static inline float nan_max(float a, float b) { return flushed((a > b || a != a || (a == b && (int32_t)bits(b) < 0)) ? a : b); }
static inline float nan_min(float a, float b) { return flushed((a < b || a != a || (a == b && (int32_t)bits(a) < 0)) ? a : b); }

// One loop per operand shape, so each vectorises on its own.
#define BINARY_LOOPS(EXPR)                                                            \
    if (!a_scalar && !b_scalar) {                                                     \
        ELEMENTWISE for (long i = 0; i < n; i++) { float x = a[i], y = b[i]; out[i] = (EXPR); }   \
    } else if (!a_scalar) {                                                           \
        float y = b[0];                                                               \
        ELEMENTWISE for (long i = 0; i < n; i++) { float x = a[i]; out[i] = (EXPR); }            \
    } else if (!b_scalar) {                                                           \
        float x = a[0];                                                               \
        ELEMENTWISE for (long i = 0; i < n; i++) { float y = b[i]; out[i] = (EXPR); }            \
    } else {                                                                          \
        float x = a[0], y = b[0], r = (EXPR);                                         \
        ELEMENTWISE for (long i = 0; i < n; i++) out[i] = r;                                      \
    }

AVX2 void flock_f32_binary(int op, const float *a, int a_scalar, const float *b, int b_scalar, float *out, long n) {
    switch (op) {
    case FLOCK_ADD: BINARY_LOOPS(x + y) break;
    case FLOCK_SUB: BINARY_LOOPS(x - y) break;
    case FLOCK_MUL: BINARY_LOOPS(x * y) break;
    case FLOCK_DIV: BINARY_LOOPS(x / y) break;
    case FLOCK_MAX: BINARY_LOOPS(nan_max(x, y)) break;
    case FLOCK_MIN: BINARY_LOOPS(nan_min(x, y)) break;
    }
}

// out[i] = a[i] * b[i] + c[i] rounded once (the fma primitive); scalars read at index 0.
AVX2 void flock_f32_fma(const float *a, int a_scalar, const float *b, int b_scalar, const float *c, int c_scalar,
                        float *out, long n) {
    long sa = a_scalar ? 0 : 1, sb = b_scalar ? 0 : 1, sc = c_scalar ? 0 : 1;
    if (sa && sb && sc) {
        ELEMENTWISE for (long i = 0; i < n; i++) out[i] = __builtin_fmaf(a[i], b[i], c[i]);
    } else if (!sa && sb && sc) {
        float x = a[0];
        ELEMENTWISE for (long i = 0; i < n; i++) out[i] = __builtin_fmaf(x, b[i], c[i]);
    } else {
        for (long i = 0; i < n; i++) out[i] = __builtin_fmaf(a[i * sa], b[i * sb], c[i * sc]);
    }
}

// Flock's fastTanh (Sources/Core/Kernels/MathFunctions.swift), operation for
// operation: XLA's tanh, with fused multiply-adds as XLA's.
AVX2 static inline float fast_tanh(float input) {
    const float bound = 7.99881172180175781f;
    float x = input < -bound ? -bound : (input > bound ? bound : input);
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = __builtin_fmaf(x2, p, 2.00018790482477e-13f);
    p = __builtin_fmaf(x2, p, -8.60467152213735e-11f);
    p = __builtin_fmaf(x2, p, 5.12229709037114e-08f);
    p = __builtin_fmaf(x2, p, 1.48572235717979e-05f);
    p = __builtin_fmaf(x2, p, 6.37261928875436e-04f);
    p = __builtin_fmaf(x2, p, 4.89352455891786e-03f);
    p = p * x;
    float q = 1.19825839466702e-06f;
    q = __builtin_fmaf(x2, q, 1.18534705686654e-04f);
    q = __builtin_fmaf(x2, q, 2.26843463243900e-03f);
    q = __builtin_fmaf(x2, q, 4.89352518554385e-03f);
    float r = p / q;
    int tiny = (bits(input) & 0x7fffffffu) < 0x39d1b717u;
    return tiny ? input : r;
}

static inline float power_of_two(int32_t k) {
    uint32_t u = (uint32_t)(k + 127) << 23;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// Flock's xlaExpFloat (Sources/Core/Kernels/MathFunctions.swift), operation
// for operation: XLA's float32 exp.
AVX2 static inline float xla_exp(float input) {
    float x = input < -104.0f ? -104.0f : (input > 88.7228394f ? 88.7228394f : input);
    float n = __builtin_floorf(__builtin_fmaf(x, 1.44269504088896341f, 0.5f));
    n = 127.0f < n ? 127.0f : n;
    float r = __builtin_fmaf(n, -0.693359375f, x);
    r = __builtin_fmaf(n, 2.12194440e-4f, r);
    float y = 1.9875691500e-4f;
    y = __builtin_fmaf(y, r, 1.3981999507e-3f);
    y = __builtin_fmaf(y, r, 8.3334519073e-3f);
    y = __builtin_fmaf(y, r, 4.1665795894e-2f);
    y = __builtin_fmaf(y, r, 1.6666665459e-1f);
    y = __builtin_fmaf(y, r, 5.0000001201e-1f);
    y = __builtin_fmaf(y, r * r, r) + 1.0f;
    int32_t k = n != n ? 0 : (int32_t)n, half = k >> 1;
    float scaled = y * power_of_two(half) * power_of_two(k - half);
    return input > 88.7228394f ? __builtin_inff() : scaled;
}

// Flock's xlaErfcFloat (MathFunctions.swift), operation for operation.
AVX2 static inline float xla_erfc(float x) {
    static const float S[] = {-0.000801019371f, 0.00518832775f, -0.0268538129f, 0.112835854f, -0.37612626f, 1.12837911f};
    static const float P[] = {-0.138703942f, 0.368742466f, -0.582473278f, 0.621000469f, -0.494451523f, 0.340488f,
                              -0.274112701f, 0.563825965f};
    static const float R[] = {12.9772f, -7.49551868f, 2.92101908f, -1.01526523f, 0.42184633f, -0.282076746f, 0.564189494f};
    float x2 = x * x, ax = __builtin_fabsf(x);
    float s = 7.85386146e-05f;
    for (int i = 0; i < 6; i++) s = __builtin_fmaf(s, x2, S[i]);
    float small = __builtin_fmaf(-x, s, 1.0f);
    float z = 1.0f / x2;
    float q = xla_exp(-x2) * (1.0f / ax);
    float p = 0.0232682f;
    for (int i = 0; i < 8; i++) p = __builtin_fmaf(p, z, P[i]);
    float r = -10.477664f;
    for (int i = 0; i < 7; i++) r = __builtin_fmaf(r, z, R[i]);
    float poly = ax < 2.0f ? p : r;
    float y = -x2 < -88.7228394f ? 0.0f : q * poly;
    float large = x < 0.0f ? 2.0f - y : y;
    return ax < 1.0f ? small : large;
}

AVX2 void flock_f32_unary(int op, const float *x, float *out, long n) {
    switch (op) {
    case FLOCK_NEG: ELEMENTWISE for (long i = 0; i < n; i++) out[i] = -x[i]; break;
    case FLOCK_ABS: ELEMENTWISE for (long i = 0; i < n; i++) { uint32_t u = bits(x[i]) & 0x7fffffffu; memcpy(&out[i], &u, 4); } break;
    case FLOCK_TANH: ELEMENTWISE for (long i = 0; i < n; i++) out[i] = fast_tanh(x[i]); break;
    case FLOCK_EXP: ELEMENTWISE for (long i = 0; i < n; i++) out[i] = xla_exp(x[i]); break;
    case FLOCK_ERFC: ELEMENTWISE for (long i = 0; i < n; i++) out[i] = xla_erfc(x[i]); break;
    case FLOCK_LOGISTIC: ELEMENTWISE for (long i = 0; i < n; i++) out[i] = 1.0f / (1.0f + xla_exp(-x[i])); break;
    }
}

#define COMPARE_LOOPS(EXPR)                                                                       \
    if (!a_scalar && !b_scalar) {                                                                 \
        ELEMENTWISE for (long i = 0; i < n; i++) { float x = a[i], y = b[i]; out[i] = (EXPR) ? ~0u : 0u; }    \
    } else if (!a_scalar) {                                                                       \
        float y = b[0];                                                                           \
        ELEMENTWISE for (long i = 0; i < n; i++) { float x = a[i]; out[i] = (EXPR) ? ~0u : 0u; }             \
    } else if (!b_scalar) {                                                                       \
        float x = a[0];                                                                           \
        ELEMENTWISE for (long i = 0; i < n; i++) { float y = b[i]; out[i] = (EXPR) ? ~0u : 0u; }             \
    } else {                                                                                      \
        float x = a[0], y = b[0];                                                                 \
        uint32_t r = (EXPR) ? ~0u : 0u;                                                           \
        ELEMENTWISE for (long i = 0; i < n; i++) out[i] = r;                                                  \
    }

AVX2 void flock_f32_compare_mask(int op, const float *a, int a_scalar, const float *b, int b_scalar, uint32_t *out, long n) {
    switch (op) {
    case FLOCK_EQ: COMPARE_LOOPS(x == y) break;
    case FLOCK_NE: COMPARE_LOOPS(x != y) break;
    case FLOCK_LT: COMPARE_LOOPS(x < y) break;
    case FLOCK_LE: COMPARE_LOOPS(x <= y) break;
    case FLOCK_GT: COMPARE_LOOPS(x > y) break;
    case FLOCK_GE: COMPARE_LOOPS(x >= y) break;
    }
}

AVX2 void flock_u32_mask_select(const uint32_t *m, const uint32_t *t, int t_scalar, const uint32_t *f, int f_scalar,
                                uint32_t *out, long n) {
    if (!t_scalar && !f_scalar) {
        ELEMENTWISE for (long i = 0; i < n; i++) out[i] = (m[i] & t[i]) | (~m[i] & f[i]);
    } else if (!t_scalar) {
        uint32_t g = f[0];
        ELEMENTWISE for (long i = 0; i < n; i++) out[i] = (m[i] & t[i]) | (~m[i] & g);
    } else if (!f_scalar) {
        uint32_t s = t[0];
        ELEMENTWISE for (long i = 0; i < n; i++) out[i] = (m[i] & s) | (~m[i] & f[i]);
    } else {
        uint32_t s = t[0], g = f[0];
        ELEMENTWISE for (long i = 0; i < n; i++) out[i] = (m[i] & s) | (~m[i] & g);
    }
}

// Blends, not branches: a predicate such as relu's mask is random, and a
// branch on it mispredicts on half the elements.
#define BOOL_SELECT_LOOP(T, F)                                                              \
    ELEMENTWISE for (long i = 0; i < n; i++) {                                                          \
        uint32_t m = 0u - (uint32_t)(p[i] != 0);                                            \
        out[i] = (m & (T)) | (~m & (F));                                                    \
    }

AVX2 void flock_u32_bool_select(const uint8_t *p, const uint32_t *t, int t_scalar, const uint32_t *f, int f_scalar,
                                uint32_t *out, long n) {
    if (!t_scalar && !f_scalar) {
        BOOL_SELECT_LOOP(t[i], f[i])
    } else if (!t_scalar) {
        uint32_t g = f[0];
        BOOL_SELECT_LOOP(t[i], g)
    } else if (!f_scalar) {
        uint32_t s = t[0];
        BOOL_SELECT_LOOP(s, f[i])
    } else {
        uint32_t s = t[0], g = f[0];
        BOOL_SELECT_LOOP(s, g)
    }
}

// How many windows ahead the destination rows are prefetched, and the longest
// run worth prefetching line by line (longer ones stream on their own).
enum { SCATTER_PREFETCH_AHEAD = 4, SCATTER_PREFETCH_MAX = 1024 };

AVX2 void flock_f32_scatter_add_runs(float *out, const float *upd, const long *starts, const long *side, long count,
                                     long n, long lo, long hi) {
    int prefetch = n <= SCATTER_PREFETCH_MAX;
    for (long b = 0; b < count; b++) {
        if (prefetch && b + SCATTER_PREFETCH_AHEAD < count) {
            long p = starts[b + SCATTER_PREFETCH_AHEAD];
            if (p >= 0 && p < hi && p + n > lo) {
                long p0 = p < lo ? lo : p, p1 = p + n > hi ? hi : p + n;
                for (long e = p0; e < p1; e += 16) __builtin_prefetch(out + e, 1, 3);
                __builtin_prefetch(out + p1 - 1, 1, 3);
            }
        }
        long d = starts[b];
        if (d < 0 || d >= hi || d + n <= lo) continue;
        long s = side[b], m = n;
        if (d < lo) { s += lo - d; m -= lo - d; d = lo; }
        if (d + m > hi) m = hi - d;
        float *o = out + d;
        const float *u = upd + s;
        // out and upd are different arrays (a scatter never runs in place over its updates).
        ELEMENTWISE for (long i = 0; i < m; i++) o[i] = o[i] + u[i];
    }
}

static inline long scatter_row(const void *idx, int wide, long b, long rows, int clamp) {
    long v = wide ? (long)((const long long *)idx)[b] : (long)((const int *)idx)[b];
    if (v < 0 || v >= rows) return clamp ? (v < 0 ? 0 : rows - 1) : -1;
    return v;
}

AVX2 void flock_f32_scatter_add_rows(float *out, const float *upd, const void *idx, int wide, long count, long rows,
                                     long n, int clamp) {
    int prefetch = n <= SCATTER_PREFETCH_MAX;
    for (long b = 0; b < count; b++) {
        if (prefetch && b + SCATTER_PREFETCH_AHEAD < count) {
            long p = scatter_row(idx, wide, b + SCATTER_PREFETCH_AHEAD, rows, clamp);
            if (p >= 0) {
                const float *q = out + p * n;
                for (long e = 0; e < n; e += 16) __builtin_prefetch(q + e, 1, 3);
                __builtin_prefetch(q + n - 1, 1, 3);
            }
        }
        long r = scatter_row(idx, wide, b, rows, clamp);
        if (r < 0) continue;
        float *o = out + r * n;
        const float *u = upd + b * n;
        ELEMENTWISE for (long i = 0; i < n; i++) o[i] = o[i] + u[i];
    }
}

unsigned flock_get_mxcsr(void) {
#if defined(__x86_64__)
    unsigned value;
    __asm__ volatile("stmxcsr %0" : "=m"(value));
    return value;
#else
    return 0;
#endif
}

void flock_set_mxcsr(unsigned value) {
#if defined(__x86_64__)
    __asm__ volatile("ldmxcsr %0" : : "m"(value));
#else
    (void)value;
#endif
}
