// Why this exists: an embedding lookup (a gather of whole table rows) is a
// copy of short runs from random places of a table larger than the caches.
// Swift's per-run `update(from:count:)` calls memmove once per row and waits
// on each row's first cache miss in turn; this loop copies the run inline
// (32 bytes at a time with AVX2) and prefetches the rows of later windows, so
// several misses are in flight at once. It moves bytes only: the result is
// the same bits as the general gather kernel.
#ifndef FLOCK_GATHER_H
#define FLOCK_GATHER_H

/// Copies windows [lo, hi) of a gather whose windows are one contiguous run
/// each: for window b, `run_bytes` bytes from `src + starts[b] * elem` to
/// `dst + side[b] * elem`; a window with starts[b] < 0 (out of bounds under
/// the fill mode) gets the `elem`-byte value at `fill` repeated instead.
/// `avx2`: 1 to use the AVX2 copy loop (only where flock_has_avx2() holds).
void flock_gather_runs(int avx2, char *dst, const char *src, const long *starts, const long *side, long lo, long hi,
                       long run_bytes, long elem, const void *fill);

#endif
