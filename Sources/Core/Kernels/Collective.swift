import CKernels

// Local halves of collectives: combining members' buffers elementwise, and
// moving blocks along the leading axis. Communicators that hold every
// member's data in memory (in-process groups, small MPI messages) use these.

/// Checks that `op` is a reduction communicators support for `dtype`.
package func checkCollectiveReduction(_ op: ReduceOp, _ dtype: DType) throws {
    guard op == .sum || op == .max || op == .min || op == .prod else {
        throw FlockError("collective reduction \(op.rawValue) is not supported (use sum, max, min or prod)")
    }
    guard dtype != .bool else {
        throw FlockError("collective \(op.rawValue) of bool operands is not supported; convert to int32 first")
    }
}

/// `dst[i] = op(dst[i], src[i])` for `count` elements of `dtype`.
package func accumulate(
    _ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, count: Int, dtype: DType, _ op: ReduceOp
) {
    combine(UnsafeRawPointer(dst), src, into: dst, count: count, dtype: dtype, op)
}

/// `out[i] = op(a[i], b[i])` for `count` elements of `dtype`, in one pass;
/// `out` may be `a` but must not otherwise overlap `b`.
package func combine(
    _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer, count: Int, dtype: DType, _ op: ReduceOp
) {
    if dtype == .float32, AVX2Kernels.enabled, let code = AVX2Kernels.code(op) {
        flock_f32_binary(Int32(code), a.assumingMemoryBound(to: Float.self), 0, b.assumingMemoryBound(to: Float.self), 0,
                         out.assumingMemoryBound(to: Float.self), count)
        return
    }
    if UnsafeRawPointer(out) != a { out.copyMemory(from: a, byteCount: count * dtype.byteSize) }
    let (dst, src) = (out, b)
    switch dtype {
    case .float32: accumulateFloat(dst, src, count, op, Float.self)
    case .float64: accumulateFloat(dst, src, count, op, Double.self)
    case .int32: accumulateInteger(dst, src, count, op, Int32.self)
    case .uint32: accumulateInteger(dst, src, count, op, UInt32.self)
    case .int64: accumulateInteger(dst, src, count, op, Int64.self)
    case .uint64: accumulateInteger(dst, src, count, op, UInt64.self)
    case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(dtype)
    case .bool: preconditionFailure("accumulate: bool reductions are rejected by checkCollectiveReduction")
    }
}

@inline(__always)
private func accumulateLoop<T>(
    _ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, _ n: Int, _: T.Type, _ f: (T, T) -> T
) {
    let d = dst.assumingMemoryBound(to: T.self), s = src.assumingMemoryBound(to: T.self)
    for i in 0..<n { d[i] = f(d[i], s[i]) }
}

private func accumulateFloat<T: BinaryFloatingPoint>(
    _ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, _ n: Int, _ op: ReduceOp, _: T.Type
) {
    switch op {
    case .sum: accumulateLoop(dst, src, n, T.self) { $0 + $1 }
    case .prod: accumulateLoop(dst, src, n, T.self) { $0 * $1 }
    case .max: accumulateLoop(dst, src, n, T.self) { nanMax($0, $1) }
    case .min: accumulateLoop(dst, src, n, T.self) { nanMin($0, $1) }
    case .and, .or: preconditionFailure("accumulate: logical reductions are rejected by checkCollectiveReduction")
    }
}

private func accumulateInteger<T: FixedWidthInteger>(
    _ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, _ n: Int, _ op: ReduceOp, _: T.Type
) {
    switch op {
    case .sum: accumulateLoop(dst, src, n, T.self) { $0 &+ $1 }
    case .prod: accumulateLoop(dst, src, n, T.self) { $0 &* $1 }
    case .max: accumulateLoop(dst, src, n, T.self) { Swift.max($0, $1) }
    case .min: accumulateLoop(dst, src, n, T.self) { Swift.min($0, $1) }
    case .and, .or: preconditionFailure("accumulate: logical reductions are rejected by checkCollectiveReduction")
    }
}

/// The elementwise `op` of `count` elements at each of `sources`, folded in
/// order (so every member that folds the same sources gets the same bits).
package func combine(_ sources: [UnsafeRawPointer], count: Int, dtype: DType, _ op: ReduceOp, shape: [Int]) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: dtype)
    combine(sources, into: out.buffer.pointer, count: count, dtype: dtype, op)
    return out
}

/// The elementwise `op` of `count` elements at each of `sources`, folded in
/// order (the first two in one pass), written to `out` (which may not overlap
/// the sources after the first).
package func combine(_ sources: [UnsafeRawPointer], into out: UnsafeMutableRawPointer, count: Int, dtype: DType, _ op: ReduceOp) {
    guard let first = sources.first, count > 0 else { return }
    guard sources.count > 1 else {
        out.copyMemory(from: first, byteCount: count * dtype.byteSize)
        return
    }
    combine(first, sources[1], into: out, count: count, dtype: dtype, op)
    for s in sources.dropFirst(2) { accumulate(out, s, count: count, dtype: dtype, op) }
}

/// Block `index` of `x` along its leading axis, of `x.byteCount / blocks` bytes.
package func leadingBlock(_ x: DenseArray, _ index: Int, of blocks: Int) -> UnsafeRawPointer {
    UnsafeRawPointer(x.buffer.pointer) + index * (x.byteCount / blocks)
}

/// A new array of `shape` whose consecutive blocks are copied from `blocks`
/// (each `byteCount / blocks.count` bytes).
package func concatenateBlocks(_ blocks: [UnsafeRawPointer], shape: [Int], dtype: DType) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: dtype)
    guard !blocks.isEmpty else { return out }
    let blockBytes = out.byteCount / blocks.count
    for (i, b) in blocks.enumerated() where blockBytes > 0 {
        (out.buffer.pointer + i * blockBytes).copyMemory(from: b, byteCount: blockBytes)
    }
    return out
}

/// A copy of `byteCount` bytes at `p` as an array of `shape`.
package func arrayCopy(_ p: UnsafeRawPointer, shape: [Int], dtype: DType) -> DenseArray {
    concatenateBlocks([p], shape: shape, dtype: dtype)
}

/// Zeros of `shape` and `dtype`.
package func zeroArray(shape: [Int], dtype: DType) -> DenseArray {
    DenseArray(buffer: .zeroed(byteCount: shape.reduce(1, *) * dtype.byteSize), shape: shape, dtype: dtype)
}

extension DenseArray {
    /// The array with its axes permuted (`result.shape[i] == shape[perm[i]]`).
    package func transposed(_ perm: [Int]) -> DenseArray { evalTranspose(self, perm: perm) }
}
