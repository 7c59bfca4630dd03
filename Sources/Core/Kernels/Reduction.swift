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

/// Elements per block of a contiguous row reduction, and partial results
/// (lanes) per block. A row is reduced as XLA and numpy do in spirit: each
/// block of `rowBlock` elements by `rowLanes` interleaved partial results,
/// the block results pairwise (a binary counter of partial sums), so the
/// error grows with log(n) instead of n: float32 sums of 2^28 ones are exact.
let rowBlock = 1024
let rowLanes = 8
/// Levels of the pairwise tree over blocks: enough for 2^56 blocks.
let rowLevels = 56

/// Bytes of the state a row reduction done in pieces carries between pieces
/// (see ``accumulateRowBlock``): the lanes and the tree's levels.
package let rowReductionStateBytes = (rowLanes + rowLevels) * 8

@inline(__always)
func reduceTyped<T>(
    _ x: DenseArray, axes: [Int], shape: [Int], identity: T, _ combine: (T, T) -> T
) -> DenseArray {
    let (src, outer, reduced, inner) = reductionLayout(x, axes: axes)
    let out = DenseArray(uninitializedShape: shape, dtype: x.dtype)
    let s = src.pointer(T.self).baseAddress, d = out.mutablePointer(T.self).baseAddress!
    guard let s, reduced > 0 else {
        d.update(repeating: identity, count: out.count)
        return out
    }
    if inner == 1 {
        let state = UnsafeMutablePointer<T>.allocate(capacity: rowLanes + rowLevels)
        defer { state.deallocate() }
        for o in 0..<outer {
            accumulateRun(identity, combine, s + o * reduced, count: reduced, offset: 0, length: reduced, state, d + o)
        }
    } else {
        for o in 0..<outer {
            reduceColumns(identity, combine, s + o * reduced * inner, reduced: reduced, inner: inner, d + o * inner)
        }
    }
    return out
}

/// Rows of a [reduced, inner] block summed into `inner` results: blocks of
/// `columnBlock` rows in order, the block results pairwise.
@inline(__always)
private func reduceColumns<T>(
    _ identity: T, _ combine: (T, T) -> T, _ s: UnsafePointer<T>, reduced: Int, inner: Int, _ d: UnsafeMutablePointer<T>
) {
    let columnBlock = 128
    func block(_ b: Int, into acc: UnsafeMutablePointer<T>) {
        acc.update(repeating: identity, count: inner)
        for r in (b * columnBlock)..<min(reduced, (b + 1) * columnBlock) {
            let row = s + r * inner
            for i in 0..<inner { acc[i] = combine(acc[i], row[i]) }
        }
    }
    let blocks = (reduced + columnBlock - 1) / columnBlock
    if blocks == 1 { return block(0, into: d) }
    var levelCount = 1
    while 1 << levelCount <= blocks { levelCount += 1 }
    let levels = UnsafeMutablePointer<T>.allocate(capacity: (levelCount + 1) * inner)
    defer { levels.deallocate() }
    let carry = levels + levelCount * inner
    for b in 0..<blocks {
        block(b, into: carry)
        var j = b, k = 0
        while j & 1 == 1 {
            let level = levels + k * inner
            for i in 0..<inner { carry[i] = combine(level[i], carry[i]) }
            j >>= 1
            k += 1
        }
        (levels + k * inner).update(from: carry, count: inner)
    }
    var n = blocks, k = 0, first = true
    while n > 0 {
        if n & 1 == 1 {
            let level = levels + k * inner
            if first { d.update(from: level, count: inner) } else { for i in 0..<inner { d[i] = combine(level[i], d[i]) } }
            first = false
        }
        n >>= 1
        k += 1
    }
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
    case .int64: return reduceInt(op, x, axes, shape, Int64.self)
    case .uint64: return reduceInt(op, x, axes, shape, UInt64.self)
    case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(x.dtype)
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
    case .int64: argReduceTyped(op, x, axis: axis, shape: shape) { (_: Int64) in false }
    case .uint64: argReduceTyped(op, x, axis: axis, shape: shape) { (_: UInt64) in false }
    case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(x.dtype)
    case .bool: argReduceTyped(op, convertArray(x, to: .int32), axis: axis, shape: shape) { (_: Int32) in false }
    }
}

/// A cumulative reduction along `axis` in XLA CPU's order, so cumulative sums
/// equal JAX's bit for bit: XLA rewrites the reduce-window JAX lowers to into
/// rows of `scanBase` elements, each scanned in order, plus the scan of the
/// row totals added to the rows after (recursively). The error then grows
/// with log(n): a float32 cumsum of 2^25 ones is exact.
func scanTyped<T>(_ x: DenseArray, axis: Int, reverse: Bool, identity: T, _ combine: (T, T) -> T) -> DenseArray {
    let outer = x.shape[..<axis].reduce(1, *), n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
    let out = DenseArray(uninitializedShape: x.shape, dtype: x.dtype)
    guard out.count > 0 else { return out }
    let s = x.pointer(T.self).baseAddress!, d = out.mutablePointer(T.self).baseAddress!
    for o in 0..<outer {
        scanLine(s + o * n * inner, d + o * n * inner, n: n, inner: inner, reverse: reverse, identity, combine)
    }
    return out
}

private let scanBase = 16

/// Scans `n` vectors of `inner` elements (element k of vector i at k·inner + i).
private func scanLine<T>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, n: Int, inner: Int, reverse: Bool,
    _ identity: T, _ combine: (T, T) -> T
) {
    if n <= scanBase { return scanRow(x, y, length: n, inner: inner, reverse: reverse, identity, combine) }
    let rows = (n + scanBase - 1) / scanBase, rowSize = scanBase * inner
    // The operand padded with the identity to whole rows, each row scanned.
    let padded = UnsafeMutablePointer<T>.allocate(capacity: rows * rowSize)
    let scanned = UnsafeMutablePointer<T>.allocate(capacity: rows * rowSize)
    let totals = UnsafeMutablePointer<T>.allocate(capacity: 2 * rows * inner)
    defer { padded.deallocate(); scanned.deallocate(); totals.deallocate() }
    padded.update(from: x, count: n * inner)
    (padded + n * inner).update(repeating: identity, count: (rows * scanBase - n) * inner)
    for r in 0..<rows {
        scanRow(padded + r * rowSize, scanned + r * rowSize, length: scanBase, inner: inner, reverse: reverse, identity, combine)
    }
    // Row totals (a row's last element, its first when reversed), scanned.
    let total = reverse ? 0 : scanBase - 1
    for r in 0..<rows { (totals + r * inner).update(from: scanned + r * rowSize + total * inner, count: inner) }
    let carried = totals + rows * inner
    scanLine(totals, carried, n: rows, inner: inner, reverse: reverse, identity, combine)
    for r in 0..<rows {
        // What the rows before (after, when reversed) add: the identity for the first.
        let from = reverse ? r + 1 : r - 1
        let carry: UnsafePointer<T>? = from >= 0 && from < rows ? UnsafePointer(carried + from * inner) : nil
        for k in (r * scanBase)..<min(n, (r + 1) * scanBase) {
            let row = scanned + k * inner, dst = y + k * inner
            for i in 0..<inner { dst[i] = combine(row[i], carry?[i] ?? identity) }
        }
    }
}

/// One row as XLA's reduce-window computes it: every output its own window,
/// combined in order from the identity; reversed windows end in padding.
private func scanRow<T>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, length: Int, inner: Int, reverse: Bool,
    _ identity: T, _ combine: (T, T) -> T
) {
    for i in 0..<inner {
        if !reverse {
            var acc = identity
            for k in 0..<length {
                acc = combine(acc, x[k * inner + i])
                y[k * inner + i] = acc
            }
        } else {
            for j in 0..<length {
                var acc = identity
                for k in j..<length { acc = combine(acc, x[k * inner + i]) }
                y[j * inner + i] = j > 0 ? combine(acc, identity) : acc
            }
        }
    }
}

func evalCumsum(_ x: DenseArray, axis: Int, reverse: Bool) -> DenseArray {
    switch x.dtype {
    case .float32: scanTyped(x, axis: axis, reverse: reverse, identity: Float(0)) { $0 + $1 }
    case .float64: scanTyped(x, axis: axis, reverse: reverse, identity: Double(0)) { $0 + $1 }
    case .int32: scanTyped(x, axis: axis, reverse: reverse, identity: Int32(0)) { $0 &+ $1 }
    case .uint32: scanTyped(x, axis: axis, reverse: reverse, identity: UInt32(0)) { $0 &+ $1 }
    case .int64: scanTyped(x, axis: axis, reverse: reverse, identity: Int64(0)) { $0 &+ $1 }
    case .uint64: scanTyped(x, axis: axis, reverse: reverse, identity: UInt64(0)) { $0 &+ $1 }
    case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(x.dtype)
    case .bool: fatalError("unreachable: cumsum of bool is rejected by the shape rule")
    }
}

/// One piece of a row reduction done in pieces (jit's fused reductions): adds
/// the `count` elements at `x`, positions `offset..<offset + count` of a row
/// of `rowLength`, into the row's state at `partials`
/// (``rowReductionStateBytes``, reset when `offset` is 0); at the row's end
/// writes the result to `out`. The order depends only on the positions, so
/// a row reduced in pieces equals the same row reduced whole (the reduce
/// kernel), bit for bit.
package func accumulateRowBlock(
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

/// Positions `offset..<offset + count` of a row of `length` (> 0): position
/// p goes to lane p mod `rowLanes` of block p / `rowBlock`; a finished block
/// folds its lanes as a tree and enters the pairwise tree of blocks (level k
/// holds the result of 2^k blocks while block count has bit k set).
@inline(__always)
func accumulateRun<T>(
    _ identity: T, _ combine: (T, T) -> T, _ x: UnsafePointer<T>, count: Int, offset: Int, length: Int,
    _ state: UnsafeMutablePointer<T>, _ out: UnsafeMutablePointer<T>
) {
    let lanes = state, levels = state + rowLanes
    if offset == 0 { lanes.update(repeating: identity, count: rowLanes) }
    var r = offset, e = 0
    while e < count {
        let blockStart = r - r % rowBlock, blockEnd = min(blockStart + rowBlock, length)
        let stop = min(blockEnd, r + (count - e))
        while r < stop && r & 7 != 0 {
            lanes[r & 7] = combine(lanes[r & 7], x[e])
            r += 1
            e += 1
        }
        var a0 = lanes[0], a1 = lanes[1], a2 = lanes[2], a3 = lanes[3]
        var a4 = lanes[4], a5 = lanes[5], a6 = lanes[6], a7 = lanes[7]
        while r + 8 <= stop {
            a0 = combine(a0, x[e]); a1 = combine(a1, x[e + 1]); a2 = combine(a2, x[e + 2]); a3 = combine(a3, x[e + 3])
            a4 = combine(a4, x[e + 4]); a5 = combine(a5, x[e + 5]); a6 = combine(a6, x[e + 6]); a7 = combine(a7, x[e + 7])
            r += 8
            e += 8
        }
        lanes[0] = a0; lanes[1] = a1; lanes[2] = a2; lanes[3] = a3
        lanes[4] = a4; lanes[5] = a5; lanes[6] = a6; lanes[7] = a7
        while r < stop {
            lanes[r & 7] = combine(lanes[r & 7], x[e])
            r += 1
            e += 1
        }
        guard r == blockEnd else { continue }
        var carry = combine(combine(combine(lanes[0], lanes[1]), combine(lanes[2], lanes[3])),
                            combine(combine(lanes[4], lanes[5]), combine(lanes[6], lanes[7])))
        lanes.update(repeating: identity, count: rowLanes)
        var j = blockStart / rowBlock, k = 0
        while j & 1 == 1 {
            carry = combine(levels[k], carry)
            j >>= 1
            k += 1
        }
        levels[k] = carry
        if r == length {
            var n = blockStart / rowBlock + 1, k = 0, first = true
            while n > 0 {
                if n & 1 == 1 {
                    out[0] = first ? levels[k] : combine(levels[k], out[0])
                    first = false
                }
                n >>= 1
                k += 1
            }
        }
    }
}
