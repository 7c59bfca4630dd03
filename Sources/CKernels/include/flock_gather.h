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

/// The row take (`take` along axis 0, an embedding lookup, `x[idx]`): for
/// window b in [lo, hi), the row `idx[b]` of `src` (rows of `row_bytes`
/// bytes, `rows` of them) to `dst + b * row_bytes`. `idx` holds 32-bit
/// (`wide` = 0) or 64-bit (`wide` = 1) signed indices. An index outside
/// [0, rows) is clamped when `clamp` is 1, else its row is the `elem`-byte
/// value at `fill` repeated. The same bytes as flock_gather_runs over the
/// offsets IndexedWindows would compute.
void flock_take_rows(int avx2, char *dst, const char *src, const void *idx, int wide, long lo, long hi, long rows,
                     long row_bytes, int clamp, long elem, const void *fill);

#endif
