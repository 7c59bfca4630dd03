#include "flock_gather.h"
#include <immintrin.h>
#include <string.h>

// How many windows ahead the source rows are prefetched, and the longest run
// prefetched line by line (longer runs stream through the hardware prefetcher).
enum { GATHER_PREFETCH_AHEAD = 8, GATHER_PREFETCH_MAX = 4096 };

static inline void prefetch_run(const char *p, long bytes) {
    for (long e = 0; e < bytes; e += 64) __builtin_prefetch(p + e, 0, 3);
    __builtin_prefetch(p + bytes - 1, 0, 3);
}

static inline void fill_run(char *o, long bytes, long elem, const void *fill) {
    for (long e = 0; e < bytes; e += elem) memcpy(o + e, fill, (size_t)elem);
}

__attribute__((target("avx2"))) static void copy_avx2(char *o, const char *s, long bytes) {
    long i = 0;
    for (; i + 128 <= bytes; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(s + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(s + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(s + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(s + i + 96));
        _mm256_storeu_si256((__m256i *)(o + i), a);
        _mm256_storeu_si256((__m256i *)(o + i + 32), b);
        _mm256_storeu_si256((__m256i *)(o + i + 64), c);
        _mm256_storeu_si256((__m256i *)(o + i + 96), d);
    }
    for (; i + 32 <= bytes; i += 32)
        _mm256_storeu_si256((__m256i *)(o + i), _mm256_loadu_si256((const __m256i *)(s + i)));
    if (i < bytes) memcpy(o + i, s + i, (size_t)(bytes - i));
}

#define GATHER_LOOP(COPY)                                                                    \
    for (long b = lo; b < hi; b++) {                                                         \
        if (prefetch && b + GATHER_PREFETCH_AHEAD < hi) {                                    \
            long p = starts[b + GATHER_PREFETCH_AHEAD];                                      \
            if (p >= 0) prefetch_run(src + p * elem, run_bytes);                             \
        }                                                                                    \
        char *o = dst + side[b] * elem;                                                      \
        long s = starts[b];                                                                  \
        if (s < 0) fill_run(o, run_bytes, elem, fill);                                       \
        else COPY(o, src + s * elem, run_bytes);                                             \
    }

#define MEMCPY(o, s, n) memcpy((o), (s), (size_t)(n))

__attribute__((target("avx2"))) static void gather_avx2(char *dst, const char *src, const long *starts, const long *side,
                                                        long lo, long hi, long run_bytes, long elem, const void *fill) {
    int prefetch = run_bytes <= GATHER_PREFETCH_MAX;
    GATHER_LOOP(copy_avx2)
}

void flock_gather_runs(int avx2, char *dst, const char *src, const long *starts, const long *side, long lo, long hi,
                       long run_bytes, long elem, const void *fill) {
    if (run_bytes <= 0) return;
    if (avx2) {
        gather_avx2(dst, src, starts, side, lo, hi, run_bytes, elem, fill);
        return;
    }
    int prefetch = run_bytes <= GATHER_PREFETCH_MAX;
    GATHER_LOOP(MEMCPY)
}

// The row take: the index of window b is read straight from the index array
// (32- or 64-bit), so no offset arrays are built first; a 4096-row lookup
// spent about a tenth of its time building them.
static inline long take_row(const void *idx, int wide, long b, long rows, int clamp) {
    long v = wide ? (long)((const long long *)idx)[b] : (long)((const int *)idx)[b];
    if (v < 0 || v >= rows) return clamp ? (v < 0 ? 0 : rows - 1) : -1;
    return v;
}

#define TAKE_LOOP(COPY)                                                                      \
    for (long b = lo; b < hi; b++) {                                                         \
        if (prefetch && b + GATHER_PREFETCH_AHEAD < hi) {                                    \
            long p = take_row(idx, wide, b + GATHER_PREFETCH_AHEAD, rows, clamp);            \
            if (p >= 0) prefetch_run(src + p * row_bytes, row_bytes);                        \
        }                                                                                    \
        char *o = dst + b * row_bytes;                                                       \
        long r = take_row(idx, wide, b, rows, clamp);                                        \
        if (r < 0) fill_run(o, row_bytes, elem, fill);                                       \
        else COPY(o, src + r * row_bytes, row_bytes);                                        \
    }

__attribute__((target("avx2"))) static void take_avx2(char *dst, const char *src, const void *idx, int wide, long lo,
                                                      long hi, long rows, long row_bytes, int clamp, long elem,
                                                      const void *fill) {
    int prefetch = row_bytes <= GATHER_PREFETCH_MAX;
    TAKE_LOOP(copy_avx2)
}

void flock_take_rows(int avx2, char *dst, const char *src, const void *idx, int wide, long lo, long hi, long rows,
                     long row_bytes, int clamp, long elem, const void *fill) {
    if (row_bytes <= 0) return;
    if (avx2) {
        take_avx2(dst, src, idx, wide, lo, hi, rows, row_bytes, clamp, elem, fill);
        return;
    }
    int prefetch = row_bytes <= GATHER_PREFETCH_MAX;
    TAKE_LOOP(MEMCPY)
}
