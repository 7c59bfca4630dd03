// Why this exists: Swift compiles for baseline x86-64 (SSE2) unless a package
// passes unsafe flags, which would make Flock unusable as a dependency. C can
// mark single functions with a target attribute instead, so these float32
// block kernels run 8 lanes wide with AVX2 where the CPU has it (checked at
// run time). They compute exactly what Flock's Swift kernels compute (same
// operations in the same order, no contraction into fused multiply-adds), so
// results do not depend on which one runs.
#ifndef FLOCK_CKERNELS_H
#define FLOCK_CKERNELS_H

#include <stdint.h>

/// 1 when the CPU supports AVX2 (and the kernels below may be called).
int flock_has_avx2(void);

/// Newton steps XLA's CPU code refines float32 rsqrt's hardware estimate
/// with on this machine: 1 on AMD, 2 on other CPUs with AVX, 0 without AVX
/// (XLA then divides: 1 / sqrt(x)).
int flock_rsqrt_newton_steps(void);

#if defined(__x86_64__)
#include <xmmintrin.h>
/// The CPU's estimate of 1/√x (`rsqrtss`, ~12 bits; the same table as
/// `vrsqrtps`), where XLA's rsqrt starts.
static inline float flock_rsqrt_estimate(float x) { return _mm_cvtss_f32(_mm_rsqrt_ss(_mm_set_ss(x))); }
#else
static inline float flock_rsqrt_estimate(float x) { return 1.0f / __builtin_sqrtf(x); }
#endif

enum { FLOCK_ADD, FLOCK_SUB, FLOCK_MUL, FLOCK_DIV, FLOCK_MAX, FLOCK_MIN };
enum { FLOCK_NEG, FLOCK_ABS, FLOCK_TANH, FLOCK_EXP, FLOCK_LOGISTIC, FLOCK_ERFC };
enum { FLOCK_EQ, FLOCK_NE, FLOCK_LT, FLOCK_LE, FLOCK_GT, FLOCK_GE };

/// out[i] = a[i] op b[i]; a scalar operand (flag 1) is read at index 0.
void flock_f32_binary(int op, const float *a, int a_scalar, const float *b, int b_scalar, float *out, long n);
/// out[i] = a[i] * b[i] + c[i] rounded once; a scalar operand (flag 1) is read at index 0.
void flock_f32_fma(const float *a, int a_scalar, const float *b, int b_scalar, const float *c, int c_scalar,
                   float *out, long n);
/// out[i] = op(x[i]) for a non-scalar x.
void flock_f32_unary(int op, const float *x, float *out, long n);
/// out[i] = all ones where a[i] op b[i] holds, else 0.
void flock_f32_compare_mask(int op, const float *a, int a_scalar, const float *b, int b_scalar, uint32_t *out, long n);
/// out[i] = m[i] ? t[i] : f[i] bitwise, for a non-scalar lane mask m.
void flock_u32_mask_select(const uint32_t *m, const uint32_t *t, int t_scalar, const uint32_t *f, int f_scalar,
                           uint32_t *out, long n);
// select(pred, t, f) on 4-byte elements with a bool (one byte, 0 or 1) predicate; t and f may be scalars.
void flock_u32_bool_select(const uint8_t *p, const uint32_t *t, int t_scalar, const uint32_t *f, int f_scalar,
                           uint32_t *out, long n);

/// Scatter-add of float32 runs of `n` elements, in window order: for each b in
/// 0..<count with starts[b] >= 0, out[starts[b] + i] += upd[side[b] + i], only
/// where the destination lies in [lo, hi) (a thread's share of the operand).
/// Each add rounds on its own, as Swift's loop: the bits do not depend on
/// which runs. The destination rows of the next windows are prefetched: a
/// scatter into random rows of a large table waits on memory otherwise.
void flock_f32_scatter_add_runs(float *out, const float *upd, const long *starts, const long *side, long count,
                                long n, long lo, long hi);

/// The row scatter-add (the gradient of an embedding lookup, `x.at[idx].add(u)`
/// along axis 0), on one thread, in index order: out row idx[b] (rows of `n`
/// float32, `rows` of them) += upd row b, for b in 0..<count. `idx` holds
/// 32-bit (`wide` = 0) or 64-bit (`wide` = 1) signed indices; one outside
/// [0, rows) is clamped when `clamp` is 1, else its update is dropped. The
/// same bits as flock_f32_scatter_add_runs over IndexedWindows' offsets.
void flock_f32_scatter_add_rows(float *out, const float *upd, const void *idx, int wide, long count, long rows,
                                long n, int clamp);

/// The calling thread's SSE control and status register (MXCSR), or 0 off x86-64.
unsigned flock_get_mxcsr(void);
/// Sets the calling thread's MXCSR (no effect off x86-64).
void flock_set_mxcsr(unsigned value);

#endif
