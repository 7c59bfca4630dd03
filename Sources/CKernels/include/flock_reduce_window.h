// Why this exists: pooling (reduce_window over the spatial dimensions of NHWC
// or NCHW arrays) is memory-bound, and Swift's baseline SSE2 code neither
// vectorises Flock's NaN-propagating max nor avoids per-element index
// arithmetic. These loops walk one output row at a time: for each window
// position in row-major order they combine a contiguous run of the operand
// row into the output row, so the innermost loop runs over channels (NHWC)
// or output columns (NCHW, strided) and vectorises 8 lanes wide with AVX2.
// Every output element sees exactly the operations of Flock's general
// reduce_window kernel in the same order (identity, then the real window
// elements in row-major window order), so results are bit for bit the same.
#ifndef FLOCK_REDUCE_WINDOW_H
#define FLOCK_REDUCE_WINDOW_H

enum { FLOCK_WINDOW_SUM, FLOCK_WINDOW_MAX, FLOCK_WINDOW_MIN };

/// The window along one spatial dimension: size, stride, window dilation and
/// low padding (may be negative); `in` and `out` are the operand's and the
/// output's sizes along it.
typedef struct {
    long in, out, size, stride, dilation, pad;
} flock_window_dim;

/// Rows [row_lo, row_hi) of a windowed reduction of an operand laid out as
/// [B, H, W, C] (C contiguous; C = 1 for NCHW pooling, where B = N * C) into an
/// output [B, OH, OW, C]; a row is one (b, oh). No base dilation. `avx2`: 1 to
/// run the AVX2 loops (only where flock_has_avx2() holds), 0 for baseline code.
void flock_f32_reduce_window_rows(int avx2, int op, const float *src, float *dst, flock_window_dim h, flock_window_dim w,
                                  long c, long row_lo, long row_hi);
/// The same for float64.
void flock_f64_reduce_window_rows(int avx2, int op, const double *src, double *dst, flock_window_dim h, flock_window_dim w,
                                  long c, long row_lo, long row_hi);

#endif
