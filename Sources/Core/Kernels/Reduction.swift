// Reductions, arg-reductions and cumulative sums. Each views its operand as
// [outer, reduced, inner] (transposing first when the reduced axes are not
// contiguous) so the inner loop runs over contiguous memory.

/// Brings `axes` together (after the kept axes) when they are not already one
/// contiguous block; returns the array and the (outer, reduced, inner) sizes.
func reductionLayout(_ x: DenseArray, axes: [Int]) -> (DenseArray, Int, Int, Int) {
    let sorted = axes.sorted()
    if sorted.isEmpty { return (x, x.count, 1, 1) }
    if sorted.last! - sorted.first! + 1 == sorted.count {
        let outer = x.shape[..<sorted.first!].reduce(1, *)
        let reduced = sorted.map { x.shape[$0] }.reduce(1, *)
        let inner = x.shape[(sorted.last! + 1)...].reduce(1, *)
        return (x, outer, reduced, inner)
    }
    let kept = (0..<x.rank).filter { !sorted.contains($0) }
    let t = evalTranspose(x, perm: kept + sorted)
    return (t, kept.map { x.shape[$0] }.reduce(1, *), sorted.map { x.shape[$0] }.reduce(1, *), 1)
}

@inline(__always)
func reduceTyped<T>(
    _ x: DenseArray, axes: [Int], shape: [Int], identity: T, _ combine: (T, T) -> T
) -> DenseArray {
    let (src, outer, reduced, inner) = reductionLayout(x, axes: axes)
    let out = DenseArray(uninitializedShape: shape, dtype: x.dtype)
    let s = src.pointer(T.self).baseAddress, d = out.mutablePointer(T.self).baseAddress!
    for o in 0..<outer {
        let dst = d + o * inner
        for i in 0..<inner { dst[i] = identity }
        guard let s else { continue }
        if inner == 1 {
            // Contiguous run: four partial accumulators let the loop vectorise.
            var a0 = identity, a1 = identity, a2 = identity, a3 = identity
            let row = s + o * reduced
            var r = 0
            while r + 4 <= reduced {
                a0 = combine(a0, row[r]); a1 = combine(a1, row[r + 1])
                a2 = combine(a2, row[r + 2]); a3 = combine(a3, row[r + 3])
                r += 4
            }
            while r < reduced { a0 = combine(a0, row[r]); r += 1 }
            dst[0] = combine(combine(a0, a1), combine(a2, a3))
        } else {
            for r in 0..<reduced {
                let row = s + (o * reduced + r) * inner
                for i in 0..<inner { dst[i] = combine(dst[i], row[i]) }
            }
        }
    }
    return out
}

func reduceFloat<T: KernelFloat>(_ op: ReduceOp, _ x: DenseArray, _ axes: [Int], _ shape: [Int], _: T.Type) -> DenseArray {
    switch op {
    case .sum: reduceTyped(x, axes: axes, shape: shape, identity: T(0)) { $0 + $1 }
    case .prod: reduceTyped(x, axes: axes, shape: shape, identity: T(1)) { $0 * $1 }
    case .max: reduceTyped(x, axes: axes, shape: shape, identity: -T.infinity) { nanMax($0, $1) }
    case .min: reduceTyped(x, axes: axes, shape: shape, identity: T.infinity) { nanMin($0, $1) }
    case .and, .or: fatalError("unreachable: logical reduction of floats is rejected by the shape rule")
    }
}

func reduceInt<T: FixedWidthInteger & TensorElement>(_ op: ReduceOp, _ x: DenseArray, _ axes: [Int], _ shape: [Int], _: T.Type) -> DenseArray {
    switch op {
    case .sum: reduceTyped(x, axes: axes, shape: shape, identity: T(0)) { $0 &+ $1 }
    case .prod: reduceTyped(x, axes: axes, shape: shape, identity: T(1)) { $0 &* $1 }
    case .max: reduceTyped(x, axes: axes, shape: shape, identity: T.min) { Swift.max($0, $1) }
    case .min: reduceTyped(x, axes: axes, shape: shape, identity: T.max) { Swift.min($0, $1) }
    case .and, .or: fatalError("unreachable: logical reduction of integers is rejected by the shape rule")
    }
}

func evalReduce(_ op: ReduceOp, _ x: DenseArray, axes: [Int], shape: [Int]) -> DenseArray {
    switch x.dtype {
    case .float32: return reduceFloat(op, x, axes, shape, Float.self)
    case .float64: return reduceFloat(op, x, axes, shape, Double.self)
    case .int32: return reduceInt(op, x, axes, shape, Int32.self)
    case .uint32: return reduceInt(op, x, axes, shape, UInt32.self)
    case .bool:
        switch op {
        case .and, .min: return reduceTyped(x, axes: axes, shape: shape, identity: true) { $0 && $1 }
        case .or, .max: return reduceTyped(x, axes: axes, shape: shape, identity: false) { $0 || $1 }
        case .sum, .prod: fatalError("unreachable: sum/prod of bool is rejected by the shape rule")
        }
    }
}

/// Index of the first maximum (or minimum); a NaN counts as the extreme, as in numpy.
func argReduceTyped<T: Comparable>(_ op: ArgReduceOp, _ x: DenseArray, axis: Int, shape: [Int], isNaN: (T) -> Bool) -> DenseArray {
    let outer = x.shape[..<axis].reduce(1, *), n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
    let out = DenseArray(uninitializedShape: shape, dtype: .int32)
    let s = x.pointer(T.self), d = out.mutablePointer(Int32.self)
    for o in 0..<outer {
        for i in 0..<inner {
            var best = s[o * n * inner + i], bestIndex = 0
            if !isNaN(best) {
                for r in 1..<Swift.max(n, 1) {
                    let v = s[(o * n + r) * inner + i]
                    if isNaN(v) { bestIndex = r; break }
                    if op == .argmax ? v > best : v < best { best = v; bestIndex = r }
                }
            }
            d[o * inner + i] = Int32(bestIndex)
        }
    }
    return out
}

func evalArgReduce(_ op: ArgReduceOp, _ x: DenseArray, axis: Int, shape: [Int]) -> DenseArray {
    switch x.dtype {
    case .float32: argReduceTyped(op, x, axis: axis, shape: shape) { (v: Float) in v.isNaN }
    case .float64: argReduceTyped(op, x, axis: axis, shape: shape) { (v: Double) in v.isNaN }
    case .int32: argReduceTyped(op, x, axis: axis, shape: shape) { (_: Int32) in false }
    case .uint32: argReduceTyped(op, x, axis: axis, shape: shape) { (_: UInt32) in false }
    case .bool: argReduceTyped(op, convertArray(x, to: .int32), axis: axis, shape: shape) { (_: Int32) in false }
    }
}

func cumsumTyped<T>(_ x: DenseArray, axis: Int, reverse: Bool, zero: T, _ add: (T, T) -> T) -> DenseArray {
    let outer = x.shape[..<axis].reduce(1, *), n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
    let out = DenseArray(uninitializedShape: x.shape, dtype: x.dtype)
    let s = x.pointer(T.self), d = out.mutablePointer(T.self)
    for o in 0..<outer {
        for i in 0..<inner {
            var acc = zero
            for k in 0..<n {
                let r = reverse ? n - 1 - k : k
                let idx = (o * n + r) * inner + i
                acc = add(acc, s[idx])
                d[idx] = acc
            }
        }
    }
    return out
}

func evalCumsum(_ x: DenseArray, axis: Int, reverse: Bool) -> DenseArray {
    switch x.dtype {
    case .float32: cumsumTyped(x, axis: axis, reverse: reverse, zero: Float(0)) { $0 + $1 }
    case .float64: cumsumTyped(x, axis: axis, reverse: reverse, zero: Double(0)) { $0 + $1 }
    case .int32: cumsumTyped(x, axis: axis, reverse: reverse, zero: Int32(0)) { $0 &+ $1 }
    case .uint32: cumsumTyped(x, axis: axis, reverse: reverse, zero: UInt32(0)) { $0 &+ $1 }
    case .bool: fatalError("unreachable: cumsum of bool is rejected by the shape rule")
    }
}

/// One block of a row reduction done in pieces (jit's fused reductions): adds
/// the `count` elements at `x`, positions `offset..<offset + count` of a row
/// of `rowLength`, into the row's four partial results at `partials` (32
/// bytes, reset when `offset` is 0); at the row's end writes the result to
/// `out`. The order is ``reduceTyped``'s for a contiguous row, so a row
/// reduced in blocks equals the same row reduced whole, bit for bit.
public func accumulateRowBlock(
    _ op: ReduceOp, _ dtype: DType, _ x: UnsafeRawPointer, count: Int, offset: Int, rowLength: Int,
    partials: UnsafeMutableRawPointer, into out: UnsafeMutableRawPointer
) {
    func run<T: KernelFloat>(_: T.Type, _ identity: T, _ combine: (T, T) -> T) {
        accumulateRun(identity, combine, x.assumingMemoryBound(to: T.self), count: count, offset: offset, length: rowLength,
                      partials.assumingMemoryBound(to: T.self), out.assumingMemoryBound(to: T.self))
    }
    switch (dtype, op) {
    case (.float32, .sum): run(Float.self, 0) { $0 + $1 }
    case (.float32, .max): run(Float.self, -.infinity) { nanMax($0, $1) }
    case (.float32, .min): run(Float.self, .infinity) { nanMin($0, $1) }
    case (.float64, .sum): run(Double.self, 0) { $0 + $1 }
    case (.float64, .max): run(Double.self, -.infinity) { nanMax($0, $1) }
    case (.float64, .min): run(Double.self, .infinity) { nanMin($0, $1) }
    default: preconditionFailure("accumulateRowBlock: \(op) of \(dtype) is not a fused reduction")
    }
}

@inline(__always)
private func accumulateRun<T>(
    _ identity: T, _ combine: (T, T) -> T, _ x: UnsafePointer<T>, count: Int, offset: Int, length: Int,
    _ p: UnsafeMutablePointer<T>, _ out: UnsafeMutablePointer<T>
) {
    if offset == 0 { p.update(repeating: identity, count: 4) }
    var a0 = p[0], a1 = p[1], a2 = p[2], a3 = p[3]
    // Positions below `full` go to partial (position mod 4); the tail of the row to the first.
    let full = length - length % 4
    var r = offset, e = 0
    @inline(__always) func one(_ v: T) {
        if r >= full { a0 = combine(a0, v) } else {
            switch r & 3 {
            case 0: a0 = combine(a0, v)
            case 1: a1 = combine(a1, v)
            case 2: a2 = combine(a2, v)
            default: a3 = combine(a3, v)
            }
        }
        r += 1
        e += 1
    }
    while e < count && r & 3 != 0 { one(x[e]) }
    while e + 4 <= count && r + 4 <= full {
        a0 = combine(a0, x[e]); a1 = combine(a1, x[e + 1])
        a2 = combine(a2, x[e + 2]); a3 = combine(a3, x[e + 3])
        e += 4
        r += 4
    }
    while e < count { one(x[e]) }
    if r == length {
        out[0] = combine(combine(a0, a1), combine(a2, a3))
    } else {
        p[0] = a0; p[1] = a1; p[2] = a2; p[3] = a3
    }
}
