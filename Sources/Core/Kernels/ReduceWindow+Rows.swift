import CKernels

// The fast path of reduceWindow for pooling's common shapes: windows over at
// most two adjacent dimensions (H, W) after dimensions they leave alone
// (batch, and channels in NCHW) and before a contiguous block they leave alone
// (channels in NHWC). The C kernels (flock_reduce_window.h) walk an output row
// at a time with no per-element index arithmetic and vectorise along the
// channels or the output columns; every element sees the general kernel's
// operations in the same order, so results are the same bit for bit.

/// An operand seen as [B, H, W, C] with windows along H and W only.
struct WindowRows {
    let batch: Int
    let h: flock_window_dim
    let w: flock_window_dim
    let channels: Int

    /// The row view of these windows, or nil when the general kernel must run
    /// (base dilation, windows over more than two dimensions, integer types, empty arrays).
    init?(operand: [Int], output: [Int], _ p: WindowParameters) {
        func untouched(_ d: Int) -> Bool {
            p.windowDimensions[d] == 1 && p.windowStrides[d] == 1 && p.padding[d] == [0, 0] && p.baseDilation[d] == 1
        }
        guard operand.reduce(1, *) > 0, output.reduce(1, *) > 0 else { return nil }
        var lead = operand.count
        while lead > 0 && untouched(lead - 1) { lead -= 1 }
        guard lead > 0 else { return nil }
        let spatial = Array(Swift.max(0, lead - 2)..<lead)
        guard (0..<spatial[0]).allSatisfy(untouched), spatial.allSatisfy({ p.baseDilation[$0] == 1 }) else { return nil }
        func dim(_ d: Int) -> flock_window_dim {
            flock_window_dim(in: operand[d], out: output[d], size: p.windowDimensions[d], stride: p.windowStrides[d],
                             dilation: p.windowDilation[d], pad: p.padding[d][0])
        }
        batch = operand[..<spatial[0]].reduce(1, *)
        h = spatial.count == 2 ? dim(spatial[0]) : flock_window_dim(in: 1, out: 1, size: 1, stride: 1, dilation: 1, pad: 0)
        w = dim(spatial.last!)
        channels = operand[lead...].reduce(1, *)
    }

    /// Runs `kernel(lo, hi)` over the output rows (b, oh), split between threads.
    func forEachRowChunk(_ kernel: @Sendable (Int, Int) -> Void) {
        let perRow = Swift.max(1, w.out * channels * h.size * w.size)
        forEachChunk(batch * h.out, threshold: Swift.max(1, parallelThreshold / perRow), kernel)
    }
}

/// The row kernels' result for float operands, or nil when their shapes need
/// the general kernel; `avx2` picks the C kernels' AVX2 or baseline loops.
func reduceWindowRows(
    _ op: ReduceWindowOp, _ x: DenseArray, _ p: WindowParameters, shape: [Int], avx2: Bool = AVX2Kernels.enabled
) -> DenseArray? {
    guard x.dtype == .float32 || x.dtype == .float64, let g = WindowRows(operand: x.shape, output: shape, p) else {
        return nil
    }
    let code: Int = switch op {
    case .sum: FLOCK_WINDOW_SUM
    case .max: FLOCK_WINDOW_MAX
    case .min: FLOCK_WINDOW_MIN
    }
    let out = DenseArray(uninitializedShape: shape, dtype: x.dtype)
    if x.dtype == .float32 {
        let src = UncheckedSendable(x.pointer(Float.self).baseAddress!)
        let dst = UncheckedSendable(out.mutablePointer(Float.self).baseAddress!)
        g.forEachRowChunk { lo, hi in
            flock_f32_reduce_window_rows(avx2 ? 1 : 0, Int32(code), src.value, dst.value, g.h, g.w, g.channels, lo, hi)
        }
    } else {
        let src = UncheckedSendable(x.pointer(Double.self).baseAddress!)
        let dst = UncheckedSendable(out.mutablePointer(Double.self).baseAddress!)
        g.forEachRowChunk { lo, hi in
            flock_f64_reduce_window_rows(avx2 ? 1 : 0, Int32(code), src.value, dst.value, g.h, g.w, g.channels, lo, hi)
        }
    }
    return out
}
