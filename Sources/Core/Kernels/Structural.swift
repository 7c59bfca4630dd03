// Layout kernels: broadcast, transpose, slice, pad, concatenate, dynamic slices,
// iota. All but iota reduce to one strided copy, specialised by element size.

#if canImport(Glibc)
import Glibc
#endif

/// Copies `src` into a fresh array of `shape`: output element at index `i`
/// reads `src[offset + Σ i[d]·strides[d]]` (strides in elements, may be 0).
func stridedCopy(_ src: DenseArray, shape: [Int], strides: [Int], offset: Int = 0) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: src.dtype)
    switch src.dtype.byteSize {
    case 1: stridedCopyTyped(src, out, strides, offset, UInt8.self)
    case 2: stridedCopyTyped(src, out, strides, offset, UInt16.self)
    case 4: stridedCopyTyped(src, out, strides, offset, UInt32.self)
    default: stridedCopyTyped(src, out, strides, offset, UInt64.self)
    }
    return out
}

private func stridedCopyTyped<T>(_ src: DenseArray, _ out: DenseArray, _ strides: [Int], _ offset: Int, _: T.Type) {
    let n = out.count
    if n == 0 { return }
    let s = src.buffer.pointer.assumingMemoryBound(to: T.self)
    let d = out.mutablePointer(T.self).baseAddress!
    let shape = out.shape
    let rank = shape.count
    if rank == 0 { d[0] = s[offset]; return }
    if strides.allSatisfy({ $0 == 0 }) {
        // One element everywhere (a broadcast scalar: the zeros a gradient is
        // scattered into): one fill, a memset for all-zero bits, instead of a
        // row-by-row walk — a 5 MB zero table took twice as long that way.
        let v = s[offset]
        if withUnsafeBytes(of: v, { $0.allSatisfy { $0 == 0 } }) {
            memset(d, 0, n * MemoryLayout<T>.stride)
        } else {
            d.update(repeating: v, count: n)
        }
        return
    }
    let inner = shape[rank - 1], innerStride = strides[rank - 1]
    var index = [Int](repeating: 0, count: rank)
    var base = offset
    var o = 0
    while o < n {
        if innerStride == 1 {
            (d + o).update(from: s + base, count: inner)
        } else if innerStride == 0 {
            (d + o).update(repeating: s[base], count: inner)
        } else {
            var p = base
            for k in 0..<inner { d[o + k] = s[p]; p += innerStride }
        }
        o += inner
        // Advance the multi-index over the outer dimensions.
        var dim = rank - 2
        while dim >= 0 {
            index[dim] += 1
            base += strides[dim]
            if index[dim] < shape[dim] { break }
            base -= strides[dim] * shape[dim]
            index[dim] = 0
            dim -= 1
        }
    }
}

func evalBroadcastInDim(_ x: DenseArray, shape: [Int], dims: [Int]) -> DenseArray {
    if x.shape == shape { return x }
    if x.count == shape.reduce(1, *) { return x.reshaped(shape) }  // only size-1 dims were added
    let inStrides = rowMajorStrides(x.shape)
    var strides = [Int](repeating: 0, count: shape.count)
    for (i, d) in dims.enumerated() where x.shape[i] != 1 { strides[d] = inStrides[i] }
    return stridedCopy(x, shape: shape, strides: strides)
}

func evalTranspose(_ x: DenseArray, perm: [Int]) -> DenseArray {
    if perm == Array(0..<perm.count) { return x }
    let inStrides = rowMajorStrides(x.shape)
    return stridedCopy(x, shape: perm.map { x.shape[$0] }, strides: perm.map { inStrides[$0] })
}

func evalReverse(_ x: DenseArray, axes: [Int]) -> DenseArray {
    if axes.isEmpty || x.count == 0 { return x }
    var strides = rowMajorStrides(x.shape)
    var offset = 0
    for a in axes {
        offset += (x.shape[a] - 1) * strides[a]
        strides[a] = -strides[a]
    }
    return stridedCopy(x, shape: x.shape, strides: strides, offset: offset)
}

func evalSlice(_ x: DenseArray, start: [Int], limit: [Int], steps: [Int], shape: [Int]) -> DenseArray {
    let inStrides = rowMajorStrides(x.shape)
    let offset = zip(start, inStrides).reduce(0) { $0 + $1.0 * $1.1 }
    return stridedCopy(x, shape: shape, strides: zip(inStrides, steps).map { $0 * $1 }, offset: offset)
}

/// Clamps dynamic start indices so the window of `sizes` fits inside `shape`.
func clampedStarts(_ starts: [DenseArray], shape: [Int], sizes: [Int]) -> [Int] {
    (0..<shape.count).map { d in
        let v = Int(starts[d].double(at: 0))
        return Swift.min(Swift.max(v, 0), shape[d] - sizes[d])
    }
}

func evalDynamicSlice(_ x: DenseArray, starts: [DenseArray], sizes: [Int]) -> DenseArray {
    let s = clampedStarts(starts, shape: x.shape, sizes: sizes)
    return evalSlice(x, start: s, limit: zip(s, sizes).map(+), steps: sizes.map { _ in 1 }, shape: sizes)
}

/// Writes `src` (shape `src.shape`) into `dst` at element offsets given by `place`.
private func scatterBlock(_ src: DenseArray, into dst: DenseArray, dstStrides: [Int], offset: Int) {
    let n = src.count
    if n == 0 { return }
    let es = src.dtype.byteSize
    let s = src.buffer.pointer, d = dst.buffer.pointer
    let shape = src.shape, rank = shape.count
    if rank == 0 { (d + offset * es).copyMemory(from: s, byteCount: es); return }
    let inner = shape[rank - 1]
    var index = [Int](repeating: 0, count: rank)
    var base = offset
    var o = 0
    while o < n {
        if dstStrides[rank - 1] == 1 {
            (d + base * es).copyMemory(from: s + o * es, byteCount: inner * es)
        } else {
            for k in 0..<inner {
                (d + (base + k * dstStrides[rank - 1]) * es).copyMemory(from: s + (o + k) * es, byteCount: es)
            }
        }
        o += inner
        var dim = rank - 2
        while dim >= 0 {
            index[dim] += 1
            base += dstStrides[dim]
            if index[dim] < shape[dim] { break }
            base -= dstStrides[dim] * shape[dim]
            index[dim] = 0
            dim -= 1
        }
    }
}

func copyArray(_ x: DenseArray) -> DenseArray {
    let out = DenseArray(uninitializedShape: x.shape, dtype: x.dtype)
    if x.byteCount > 0 { out.buffer.pointer.copyMemory(from: x.buffer.pointer, byteCount: x.byteCount) }
    return out
}

func evalDynamicUpdateSlice(_ x: DenseArray, _ update: DenseArray, starts: [DenseArray]) -> DenseArray {
    let out = copyArray(x)
    let s = clampedStarts(starts, shape: x.shape, sizes: update.shape)
    let strides = rowMajorStrides(x.shape)
    scatterBlock(update, into: out, dstStrides: strides, offset: zip(s, strides).reduce(0) { $0 + $1.0 * $1.1 })
    return out
}

func evalConcatenate(_ xs: [DenseArray], axis: Int, shape: [Int]) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: xs[0].dtype)
    let es = out.dtype.byteSize
    let outer = shape[..<axis].reduce(1, *)
    let outRow = shape[axis...].reduce(1, *) * es
    var col = 0
    for x in xs {
        let row = x.shape[axis...].reduce(1, *) * es
        if row > 0 {
            for o in 0..<outer {
                (out.buffer.pointer + o * outRow + col).copyMemory(from: x.buffer.pointer + o * row, byteCount: row)
            }
        }
        col += row
    }
    return out
}

func evalPad(_ x: DenseArray, value: DenseArray, low: [Int], high: [Int], interior: [Int], shape: [Int]) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: x.dtype)
    let es = x.dtype.byteSize, n = out.count
    for i in 0..<n { (out.buffer.pointer + i * es).copyMemory(from: value.buffer.pointer, byteCount: es) }
    if x.count == 0 { return out }
    // Place each input element at low + i·(interior + 1), skipping cropped ones.
    let outStrides = rowMajorStrides(shape)
    var index = [Int](repeating: 0, count: x.rank)
    for flat in 0..<x.count {
        var o = 0
        var inside = true
        for d in 0..<x.rank {
            let p = low[d] + index[d] * (interior[d] + 1)
            if p < 0 || p >= shape[d] { inside = false; break }
            o += p * outStrides[d]
        }
        if inside { (out.buffer.pointer + o * es).copyMemory(from: x.buffer.pointer + flat * es, byteCount: es) }
        var d = x.rank - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < x.shape[d] { break }
            index[d] = 0
            d -= 1
        }
    }
    return out
}

func evalIota(_ dtype: DType, shape: [Int], dimension: Int) -> DenseArray {
    let inner = shape[(dimension + 1)...].reduce(1, *)
    let size = shape[dimension]
    let n = shape.reduce(1, *)
    func fill<T>(_: T.Type, _ make: (Int) -> T) -> DenseArray {
        let out = DenseArray(uninitializedShape: shape, dtype: dtype)
        let p = out.mutablePointer(T.self)
        for i in 0..<n { p[i] = make((i / inner) % size) }
        return out
    }
    switch dtype {
    case .float32: return fill(Float.self) { Float($0) }
    case .float64: return fill(Double.self) { Double($0) }
    case .int32: return fill(Int32.self) { Int32(truncatingIfNeeded: $0) }
    case .uint32: return fill(UInt32.self) { UInt32(truncatingIfNeeded: $0) }
    case .int64: return fill(Int64.self) { Int64($0) }
    case .uint64: return fill(UInt64.self) { UInt64(truncatingIfNeeded: $0) }
    case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(dtype)
    case .bool: return fill(Bool.self) { $0 != 0 }
    }
}
