// reduceWindow and its derivatives with XLA's semantics: each output element
// reduces one window of the operand after base dilation and padding. The
// leading dimensions are walked through per-dimension offset tables; trailing
// dimensions the windows do not touch (the features of NHWC pooling) form a
// contiguous block the inner loops run over, so those loops vectorise.

/// Where the elements of every window live in the operand.
struct WindowGeometry: Sendable {
    /// Dimensions walked through the tables; the others form the contiguous block.
    let leading: Int
    /// Elements of the contiguous block (product of the trailing dimensions).
    let inner: Int
    /// Output sizes of the leading dimensions.
    let outShape: [Int]
    let window: [Int]
    /// Elements in one window (over the leading dimensions).
    let windowCount: Int
    /// Window element `e`'s index along leading dimension `d`: `windowIndex[e * leading + d]`
    /// (row-major window order, the order XLA visits them).
    let windowIndex: [Int]
    /// `offsets[tableStart[d] + o * window[d] + k]`: the operand offset (in
    /// elements) of window index `k` of output index `o` along dimension `d`, or
    /// -1 in padding or a dilation hole.
    let offsets: [Int]
    let tableStart: [Int]
    /// Whether distinct outputs along dimension 0 read disjoint operand slices.
    let disjointAlongFirst: Bool

    init(operand: [Int], output: [Int], _ w: WindowParameters) {
        var lead = operand.count
        while lead > 0 {
            let d = lead - 1
            guard w.windowDimensions[d] == 1, w.windowStrides[d] == 1, w.padding[d] == [0, 0], w.baseDilation[d] == 1
            else { break }
            lead -= 1
        }
        leading = lead
        inner = operand[lead...].reduce(1, *)
        outShape = Array(output[..<lead])
        window = Array(w.windowDimensions[..<lead])
        windowCount = window.reduce(1, *)
        var index: [Int] = []
        index.reserveCapacity(windowCount * lead)
        var k = [Int](repeating: 0, count: lead)
        for _ in 0..<windowCount {
            index += k
            var d = lead - 1
            while d >= 0 {
                k[d] += 1
                if k[d] < window[d] { break }
                k[d] = 0
                d -= 1
            }
        }
        windowIndex = index
        let strides = rowMajorStrides(operand)
        var table: [Int] = [], starts: [Int] = []
        for d in 0..<lead {
            starts.append(table.count)
            for o in 0..<outShape[d] {
                for kk in 0..<window[d] {
                    // Position in the dilated, padded operand, then in the operand.
                    let pos = o * w.windowStrides[d] + kk * w.windowDilation[d] - w.padding[d][0]
                    let q = pos / w.baseDilation[d]
                    let inside = pos >= 0 && pos % w.baseDilation[d] == 0 && q < operand[d]
                    table.append(inside ? q * strides[d] : -1)
                }
            }
        }
        offsets = table
        tableStart = starts
        disjointAlongFirst = lead >= 1 && w.windowStrides[0] >= (w.windowDimensions[0] - 1) * w.windowDilation[0] + 1
    }

    var outerCount: Int { outShape.reduce(1, *) }

    /// Calls `body(m, offsets)` for each outer output position `m` in
    /// `lo..<hi` (row-major over the leading dimensions), where `offsets[e]` is
    /// the operand offset of window element `e`, or -1 in padding or a hole.
    @inline(__always)
    func forEachOutput(_ lo: Int, _ hi: Int, _ body: (Int, UnsafePointer<Int>) -> Void) {
        guard lo < hi else { return }
        let lead = leading, count = windowCount
        let o = UnsafeMutablePointer<Int>.allocate(capacity: Swift.max(lead, 1))
        let found = UnsafeMutablePointer<Int>.allocate(capacity: count)
        defer { o.deallocate(); found.deallocate() }
        var r = lo
        for d in stride(from: lead - 1, through: 0, by: -1) {
            o[d] = r % outShape[d]
            r /= outShape[d]
        }
        offsets.withUnsafeBufferPointer { table in
            windowIndex.withUnsafeBufferPointer { index in
                tableStart.withUnsafeBufferPointer { start in
                    window.withUnsafeBufferPointer { win in
                        outShape.withUnsafeBufferPointer { shape in
                            for m in lo..<hi {
                                for e in 0..<count {
                                    var off = 0
                                    for d in 0..<lead {
                                        let t = table[start[d] + o[d] * win[d] + index[e * lead + d]]
                                        if t < 0 { off = -1; break }
                                        off += t
                                    }
                                    found[e] = off
                                }
                                body(m, found)
                                var d = lead - 1
                                while d >= 0 {
                                    o[d] += 1
                                    if o[d] < shape[d] { break }
                                    o[d] = 0
                                    d -= 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Outer positions below which one thread does the work.
    var threshold: Int { Swift.max(1, parallelThreshold / Swift.max(1, inner * windowCount)) }
}

/// A reduction's identity and combine step as static members, so the kernel
/// specialises on them (a closure would cost a call per element).
private protocol WindowMonoid {
    associatedtype T: Sendable
    static var identity: T { get }
    static func combine(_ a: T, _ b: T) -> T
}
private enum FloatSum<T: KernelFloat & Sendable>: WindowMonoid {
    static var identity: T { 0 }
    @inline(__always) static func combine(_ a: T, _ b: T) -> T { a + b }
}
private enum FloatMax<T: KernelFloat & Sendable>: WindowMonoid {
    static var identity: T { -T.infinity }
    @inline(__always) static func combine(_ a: T, _ b: T) -> T { nanMax(a, b) }
}
private enum FloatMin<T: KernelFloat & Sendable>: WindowMonoid {
    static var identity: T { T.infinity }
    @inline(__always) static func combine(_ a: T, _ b: T) -> T { nanMin(a, b) }
}
private enum IntSum<T: FixedWidthInteger & Sendable>: WindowMonoid {
    static var identity: T { 0 }
    @inline(__always) static func combine(_ a: T, _ b: T) -> T { a &+ b }
}
private enum IntMax<T: FixedWidthInteger & Sendable>: WindowMonoid {
    static var identity: T { T.min }
    @inline(__always) static func combine(_ a: T, _ b: T) -> T { Swift.max(a, b) }
}
private enum IntMin<T: FixedWidthInteger & Sendable>: WindowMonoid {
    static var identity: T { T.max }
    @inline(__always) static func combine(_ a: T, _ b: T) -> T { Swift.min(a, b) }
}

private func reduceWindowTyped<M: WindowMonoid>(_ x: DenseArray, _ g: WindowGeometry, shape: [Int], _: M.Type) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: x.dtype)
    let inner = g.inner
    guard out.count > 0 else { return out }
    let dst = UncheckedSendable(out.mutablePointer(M.T.self).baseAddress!)
    guard let base = x.pointer(M.T.self).baseAddress else {
        for i in 0..<out.count { dst.value[i] = M.identity }
        return out
    }
    let src = UncheckedSendable(base)
    forEachChunk(g.outerCount, threshold: g.threshold) { lo, hi in
        g.forEachOutput(lo, hi) { m, offsets in
            let d = dst.value + m * inner
            for c in 0..<inner { d[c] = M.identity }
            for e in 0..<g.windowCount {
                let off = offsets[e]
                if off < 0 { continue }
                let s = src.value + off
                for c in 0..<inner { d[c] = M.combine(d[c], s[c]) }
            }
        }
    }
    return out
}

private func reduceWindowFloat<T: KernelFloat & Sendable>(
    _ op: ReduceWindowOp, _ x: DenseArray, _ g: WindowGeometry, _ shape: [Int], _: T.Type
) -> DenseArray {
    switch op {
    case .sum: reduceWindowTyped(x, g, shape: shape, FloatSum<T>.self)
    case .max: reduceWindowTyped(x, g, shape: shape, FloatMax<T>.self)
    case .min: reduceWindowTyped(x, g, shape: shape, FloatMin<T>.self)
    }
}

private func reduceWindowInt<T: FixedWidthInteger & Sendable>(
    _ op: ReduceWindowOp, _ x: DenseArray, _ g: WindowGeometry, _ shape: [Int], _: T.Type
) -> DenseArray {
    switch op {
    case .sum: reduceWindowTyped(x, g, shape: shape, IntSum<T>.self)
    case .max: reduceWindowTyped(x, g, shape: shape, IntMax<T>.self)
    case .min: reduceWindowTyped(x, g, shape: shape, IntMin<T>.self)
    }
}

func evalReduceWindow(_ op: ReduceWindowOp, _ x: DenseArray, _ w: WindowParameters, shape: [Int]) -> DenseArray {
    if let rows = reduceWindowRows(op, x, w, shape: shape) { return rows }
    return evalReduceWindowGeneral(op, x, w, shape: shape)
}

/// Any window geometry and dtype, through the per-dimension offset tables: the
/// oracle the row kernels (ReduceWindow+Rows.swift) are tested against.
func evalReduceWindowGeneral(_ op: ReduceWindowOp, _ x: DenseArray, _ w: WindowParameters, shape: [Int]) -> DenseArray {
    let g = WindowGeometry(operand: x.shape, output: shape, w)
    switch x.dtype {
    case .float32: return reduceWindowFloat(op, x, g, shape, Float.self)
    case .float64: return reduceWindowFloat(op, x, g, shape, Double.self)
    case .int32: return reduceWindowInt(op, x, g, shape, Int32.self)
    case .uint32: return reduceWindowInt(op, x, g, shape, UInt32.self)
    case .int64: return reduceWindowInt(op, x, g, shape, Int64.self)
    case .uint64: return reduceWindowInt(op, x, g, shape, UInt64.self)
    case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(x.dtype)
    case .bool: fatalError("unreachable: reduce_window of bool is rejected by the shape rule")
    }
}

/// For every window, the tangent of the element `select` picks, visiting the
/// real elements in window order from (identity, 0) and replacing the choice
/// unless `select(chosen, candidate)` holds — XLA's variadic reduce_window
/// that JAX lowers `select_and_gather_add` to on CPU.
private func selectAndGatherTyped<T: KernelFloat & Sendable>(
    _ isMax: Bool, _ t: DenseArray, _ x: DenseArray, _ g: WindowGeometry, shape: [Int], _: T.Type
) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: x.dtype)
    let inner = g.inner
    guard out.count > 0 else { return out }
    let dst = UncheckedSendable(out.mutablePointer(T.self).baseAddress!)
    let xs = UncheckedSendable(x.pointer(T.self).baseAddress), ts = UncheckedSendable(t.pointer(T.self).baseAddress)
    let identity: T = isMax ? -T.infinity : T.infinity
    forEachChunk(g.outerCount, threshold: g.threshold) { lo, hi in
        var best = [T](repeating: identity, count: inner)
        best.withUnsafeMutableBufferPointer { b in
            g.forEachOutput(lo, hi) { m, offsets in
                let d = dst.value + m * inner
                for c in 0..<inner { b[c] = identity; d[c] = 0 }
                for e in 0..<g.windowCount {
                    let off = offsets[e]
                    if off < 0 { continue }
                    let xv = xs.value! + off, tv = ts.value! + off
                    if isMax {
                        for c in 0..<inner where !(b[c] >= xv[c]) { b[c] = xv[c]; d[c] = tv[c] }
                    } else {
                        for c in 0..<inner where !(b[c] <= xv[c]) { b[c] = xv[c]; d[c] = tv[c] }
                    }
                }
            }
        }
    }
    return out
}

/// Adds each source element at the operand position its window selects. Every
/// window position is a candidate (padding and holes with the identity value,
/// and a cotangent that lands there is dropped): the first one, replaced by a
/// later candidate unless `select(chosen, candidate)` holds — XLA's
/// SelectAndScatter over the operand JAX pads explicitly on CPU.
private func selectAndScatterTyped<T: KernelFloat & Sendable>(
    _ isMax: Bool, _ source: DenseArray, _ x: DenseArray, _ g: WindowGeometry, _: T.Type
) -> DenseArray {
    let out = DenseArray(uninitializedShape: x.shape, dtype: x.dtype)
    guard out.count > 0 else { return out }
    let dst = UncheckedSendable(out.mutablePointer(T.self).baseAddress!)
    dst.value.update(repeating: 0, count: out.count)
    guard source.count > 0 else { return out }
    let inner = g.inner
    let xs = UncheckedSendable(x.pointer(T.self).baseAddress!), ss = UncheckedSendable(source.pointer(T.self).baseAddress!)
    let identity: T = isMax ? -T.infinity : T.infinity
    // Outputs along dimension 0 are split between threads only when their
    // windows never share an operand element (no two threads add to one place).
    let rows = g.leading == 0 ? 1 : g.outShape[0]
    let perRow = g.outerCount / Swift.max(rows, 1)
    let body: @Sendable (Int, Int) -> Void = { lo, hi in
        let best = UnsafeMutablePointer<T>.allocate(capacity: inner), chosen = UnsafeMutablePointer<Int>.allocate(capacity: inner)
        defer { best.deallocate(); chosen.deallocate() }
        g.forEachOutput(lo * perRow, hi * perRow) { m, offsets in
            for e in 0..<g.windowCount {
                let off = offsets[e]
                if e == 0 || off < 0 {
                    for c in 0..<inner {
                        let v = off < 0 ? identity : xs.value[off + c]
                        if e == 0 || !(isMax ? best[c] >= v : best[c] <= v) {
                            best[c] = v
                            chosen[c] = off < 0 ? -1 : off + c
                        }
                    }
                    continue
                }
                let xv = xs.value + off
                if isMax {
                    for c in 0..<inner where !(best[c] >= xv[c]) { best[c] = xv[c]; chosen[c] = off + c }
                } else {
                    for c in 0..<inner where !(best[c] <= xv[c]) { best[c] = xv[c]; chosen[c] = off + c }
                }
            }
            let s = ss.value + m * inner
            for c in 0..<inner where chosen[c] >= 0 { dst.value[chosen[c]] += s[c] }
        }
    }
    if g.disjointAlongFirst {
        forEachChunk(rows, threshold: Swift.max(1, g.threshold / Swift.max(perRow, 1)), body)
    } else {
        body(0, rows)
    }
    return out
}

func evalSelectAndGatherAdd(_ select: CompareOp, _ t: DenseArray, _ x: DenseArray, _ w: WindowParameters, shape: [Int]) -> DenseArray {
    let g = WindowGeometry(operand: x.shape, output: shape, w)
    switch x.dtype {
    case .float32: return selectAndGatherTyped(select == .ge, t, x, g, shape: shape, Float.self)
    case .float64: return selectAndGatherTyped(select == .ge, t, x, g, shape: shape, Double.self)
    case .int32, .uint32, .bool, .int64, .uint64, .int8, .uint8, .int16, .uint16, .float16, .bfloat16: fatalError("unreachable: select_and_gather_add of non-floats is rejected by the shape rule")
    }
}

func evalSelectAndScatterAdd(_ select: CompareOp, _ source: DenseArray, _ x: DenseArray, _ w: WindowParameters) -> DenseArray {
    let g = WindowGeometry(operand: x.shape, output: source.shape, w)
    switch x.dtype {
    case .float32: return selectAndScatterTyped(select == .ge, source, x, g, Float.self)
    case .float64: return selectAndScatterTyped(select == .ge, source, x, g, Double.self)
    case .int32, .uint32, .bool, .int64, .uint64, .int8, .uint8, .int16, .uint16, .float16, .bfloat16: fatalError("unreachable: select_and_scatter_add of non-floats is rejected by the shape rule")
    }
}
