// numpy-style indexing: integers, ranges, strides, new axes, ellipsis, and
// integer/bool arrays ("advanced" indexing, lowered to gather).

/// One entry of a subscript: `x[0, 1..<3, .newAxis, .ellipsis, idx]`.
public enum TensorIndex: Sendable {
    /// A single position (negative counts from the end); removes the axis.
    case index(Int)
    /// Python's `start:stop:step`; nil bounds mean the ends; step may be negative.
    case slice(start: Int?, stop: Int?, step: Int)
    /// Inserts a size-1 axis (`None` in numpy); written `.newAxis` in subscripts.
    case insertAxis
    /// Stands for as many full slices as needed (`...`); written `.ellipsis` in subscripts.
    case remainingAxes
    /// An integer or bool array of indices.
    case array(Tensor)

    /// All of an axis (`:`).
    public static let all = TensorIndex.slice(start: nil, stop: nil, step: 1)
    /// `start:stop:step`.
    public static func stride(_ start: Int? = nil, _ stop: Int? = nil, by step: Int) -> TensorIndex {
        .slice(start: start, stop: stop, step: step)
    }
}

/// Types usable in a ``Tensor`` subscript.
public protocol TensorIndexConvertible: Sendable { var tensorIndex: TensorIndex { get } }
extension TensorIndex: TensorIndexConvertible { public var tensorIndex: TensorIndex { self } }
extension Int: TensorIndexConvertible { public var tensorIndex: TensorIndex { .index(self) } }
extension Range: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: lowerBound, stop: upperBound, step: 1) }
}
extension ClosedRange: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: lowerBound, stop: upperBound == -1 ? nil : upperBound + 1, step: 1) }
}
extension PartialRangeFrom: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: lowerBound, stop: nil, step: 1) }
}
extension PartialRangeUpTo: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: nil, stop: upperBound, step: 1) }
}
extension PartialRangeThrough: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: nil, stop: upperBound == -1 ? nil : upperBound + 1, step: 1) }
}
extension Tensor: TensorIndexConvertible { public var tensorIndex: TensorIndex { .array(self) } }

/// Python's `slice.indices(n)`: concrete start, stop and count for a step.
func sliceBounds(_ start: Int?, _ stop: Int?, _ step: Int, _ n: Int) -> (start: Int, count: Int) {
    func clampIndex(_ v: Int?, _ dflt: Int, lo: Int, hi: Int) -> Int {
        guard var v else { return dflt }
        if v < 0 { v += n }
        return Swift.min(Swift.max(v, lo), hi)
    }
    if step > 0 {
        let s = clampIndex(start, 0, lo: 0, hi: n), e = clampIndex(stop, n, lo: 0, hi: n)
        return (s, e > s ? (e - s + step - 1) / step : 0)
    }
    let s = clampIndex(start, n - 1, lo: -1, hi: n - 1), e = clampIndex(stop, -1, lo: -1, hi: n - 1)
    return (s, s > e ? (s - e + (-step) - 1) / (-step) : 0)
}

extension Tensor {
    /// numpy indexing: `x[1]`, `x[0..<2, .all]`, `x[.ellipsis, 0]`, `x[.newAxis]`,
    /// `x[.stride(by: -1)]`, `x[indexTensor]`, `x[mask]` (bool masks only outside tracing).
    ///
    /// Out-of-bounds integer *constants* are errors; negative indices count
    /// from the end; out-of-bounds integer-array indices are clamped, as JAX's
    /// default (`promise_in_bounds`) gather does on CPU. `x.at(…).get(mode:)`
    /// chooses another mode.
    public subscript(_ indices: any TensorIndexConvertible...) -> Tensor { index(indices.map(\.tensorIndex)) }

    /// Indexing with an explicit list of ``TensorIndex`` entries.
    public func index(_ indices: [TensorIndex]) -> Tensor { index(indices, mode: .promiseInBounds, fillValue: nil) }

    /// Indexing whose index arrays gather in `mode`. In `.fillOrDrop` mode
    /// integer constants are index arrays too: out of bounds, they read `fillValue`.
    func index(_ indices: [TensorIndex], mode: GatherScatterMode, fillValue: Double?) -> Tensor {
        // Expand bool masks into integer index arrays (needs concrete values).
        // A mask covers as many axes as its rank, and must match their sizes (numpy, JAX).
        func axesTaken(_ i: TensorIndex) -> Int {
            switch i {
            case .insertAxis, .remainingAxes: 0
            case .array(let t) where t.dtype == .bool: t.rank
            default: 1
            }
        }
        var items: [TensorIndex] = []
        for (k, i) in indices.enumerated() {
            if case .array(let t) = i, t.dtype == .bool {
                let ellipsisBefore = indices[..<k].contains { if case .remainingAxes = $0 { true } else { false } }
                let start = ellipsisBefore ? rank - indices[k...].map(axesTaken).reduce(0, +) : indices[..<k].map(axesTaken).reduce(0, +)
                if start >= 0, start + t.rank <= rank, Array(shape[start..<(start + t.rank)]) != t.shape {
                    raise(FlockError(
                        "index: boolean index of shape \(t.shape) does not match the indexed dimensions "
                            + "\(Array(shape[start..<(start + t.rank)])) (from axis \(start)) of the array of shape \(shape)"))
                    return poison
                }
                guard let a = t.concreteOrRaise("boolean indexing") else { return poison }
                items.append(contentsOf: nonzero(Tensor(concrete: a)).map { .array($0) })
            } else {
                items.append(i)
            }
        }
        var consumed = 0
        var ellipses = 0
        for i in items {
            switch i {
            case .insertAxis: break
            case .remainingAxes: ellipses += 1
            default: consumed += 1
            }
        }
        guard ellipses <= 1 else {
            raise(FlockError("index: an index can only have a single ellipsis, got \(ellipses)"))
            return poison
        }
        guard consumed <= rank else {
            raise(FlockError("index: too many indices for array: array is \(rank)-dimensional, but \(consumed) were indexed"))
            return poison
        }
        let fill = [TensorIndex](repeating: .all, count: rank - consumed)
        if let e = items.firstIndex(where: { if case .remainingAxes = $0 { true } else { false } }) {
            items.replaceSubrange(e...e, with: fill)
        } else {
            items += fill
        }
        // numpy: next to an index array, an integer index is an index array too
        // (it takes part in broadcasting and in placing the indexed dimensions).
        let hasArrays = items.contains {
            switch $0 {
            case .array: true
            case .index: mode == .fillOrDrop
            default: false
            }
        }
        // Basic indexing: one slice over the whole array, reversal for negative steps.
        var start = [Int](), limit = [Int](), steps = [Int](), reversed = [Int]()
        var resultShape = [Int]()
        var advanced: [(position: Int, index: Tensor, size: Int)] = []
        var d = 0
        for item in items {
            switch item {
            case .insertAxis:
                resultShape.append(1)
            case .remainingAxes:
                break
            case .index(let i) where mode == .fillOrDrop:
                // As an index array: out of bounds, it reads the fill value.
                start.append(0); limit.append(shape[d]); steps.append(1)
                advanced.append((resultShape.count, Tensor(Int32(clamping: i)), shape[d]))
                resultShape.append(shape[d])
                d += 1
            case .index(let i):
                let n = shape[d]
                guard i >= -n && i < n else {
                    raise(FlockError("index: index \(i) is out of bounds for axis \(d) with size \(n) (array shape \(shape))"))
                    return poison
                }
                let j = i < 0 ? i + n : i
                if hasArrays {
                    start.append(0); limit.append(n); steps.append(1)
                    advanced.append((resultShape.count, Tensor(Int32(j)), n))
                    resultShape.append(n)
                } else {
                    start.append(j); limit.append(j + 1); steps.append(1)
                }
                d += 1
            case .slice(let s, let e, let step):
                guard step != 0 else {
                    raise(FlockError("index: slice step cannot be zero (axis \(d))"))
                    return poison
                }
                let n = shape[d]
                let (first, count) = sliceBounds(s, e, step, n)
                if step > 0 {
                    start.append(first); limit.append(first + (count == 0 ? 0 : (count - 1) * step + 1)); steps.append(step)
                } else {
                    // In the reversed axis, element j sits at n - 1 - j.
                    reversed.append(d)
                    let rs = n - 1 - first
                    start.append(count == 0 ? 0 : rs); limit.append(count == 0 ? 0 : rs + (count - 1) * (-step) + 1); steps.append(-step)
                }
                resultShape.append(count)
                d += 1
            case .array(let t):
                guard t.dtype.isInteger else {
                    raise(FlockError("index: indexer must be an integer or bool array, got \(t.dtype) \(t.shape)"))
                    return poison
                }
                start.append(0); limit.append(shape[d]); steps.append(1)
                advanced.append((resultShape.count, t, shape[d]))
                resultShape.append(shape[d])
                d += 1
            }
        }
        var y = self
        if !reversed.isEmpty { y = bind1(.reverse(axes: reversed), y) }
        if start != [Int](repeating: 0, count: rank) || limit != shape || steps.contains(where: { $0 != 1 }) {
            y = bind1(.slice(start: start, limit: limit, strides: steps), y)
        }
        y = y.reshaped(resultShape)
        if advanced.isEmpty { return y }
        return advancedGather(y, advanced, mode: mode, fillValue: fillValue)
    }

    func advancedGather(
        _ y: Tensor, _ advanced: [(position: Int, index: Tensor, size: Int)], mode: GatherScatterMode, fillValue: Double?
    ) -> Tensor {
        var batch: [Int] = []
        for a in advanced {
            guard let b = try? broadcastShapes(batch, a.index.shape) else {
                raise(FlockError("index: shape mismatch: indexing arrays could not be broadcast together with shapes \(advanced.map { $0.index.shape })"))
                return poison
            }
            batch = b
        }
        // Normalise negative indices, then stack into [batch…, k] int32 index vectors.
        let columns = advanced.map { a -> Tensor in
            let i = a.index.converted(to: .int32)
            return `where`(i .< Tensor(Int32(0)), i + Tensor(Int32(a.size)), i).broadcast(to: batch).expandingDims(-1)
        }
        let indices = columns.count == 1 ? columns[0] : concatenate(columns, axis: -1)
        let positions = advanced.map(\.position)
        let adjacent = positions == Array(positions[0]..<(positions[0] + positions.count))
        var sliceSizes = y.shape
        for p in positions { sliceSizes[p] = 1 }
        let rest = y.rank - positions.count
        let front = adjacent ? positions[0] : 0
        let offsetDims = Array(0..<front) + Array((front + batch.count)..<(batch.count + rest))
        let dn = GatherDimensionNumbers(offsetDims: offsetDims, collapsedSliceDims: positions, startIndexMap: positions)
        return bind1(.gather(dn, sliceSizes: sliceSizes, mode: mode, fillValue: canonicalFill(fillValue, y.dtype)), y, indices)
    }
}

/// Indices of the nonzero elements, one int32 array per axis (`jnp.nonzero`);
/// needs a concrete value (the result's size depends on it).
public func nonzero(_ x: Tensor) -> [Tensor] {
    guard let a = x.concreteOrRaise("nonzero") else { return [] }
    let strides = rowMajorStrides(a.shape)
    var columns = [[Int32]](repeating: [], count: a.rank)
    for i in 0..<a.count where a.double(at: i) != 0 {
        for d in 0..<a.rank { columns[d].append(Int32((i / strides[d]) % a.shape[d])) }
    }
    return columns.map { Tensor($0) }
}

/// Elements of `x` at `indices` along `axis` (`jnp.take`).
///
/// - Parameters:
///   - axis: the axis to index; nil (JAX's default) indexes the flattened array.
///   - mode: `.fill` (JAX's default: negative indices count from the end,
///     out-of-bounds ones read `fillValue`), `.clip` (clamped into the axis,
///     negative indices too) or `.wrap` (taken modulo the axis size). Other
///     modes are an error, as in JAX.
///   - fillValue: what `.fill` reads out of bounds; nil is NaN for floats,
///     the minimum of signed and the maximum of unsigned integers, true for bool.
///
/// ```swift
/// let rows = take(table, ids, axis: 0)            // an embedding lookup
/// take(Tensor([1, 2, 3] as [Float]), Tensor([5] as [Int32]))   // [nan]
/// ```
public func take(_ x: Tensor, _ indices: Tensor, axis: Int? = nil, mode: IndexMode = .fill, fillValue: Double? = nil) -> Tensor {
    let (x, a) = axis.map { (x, $0) } ?? (x.flattened(), 0)
    guard let a = normalizeAxis(a, rank: x.rank, "take") else { return poison }
    guard indices.dtype.isInteger && indices.dtype != .bool else {
        raise(FlockError("take: indices must be integers, got \(indices.dtype) \(indices.shape)"))
        return poison
    }
    let n = x.shape[a]
    var idx = indices.converted(to: .int32)
    let gatherMode: GatherScatterMode
    switch mode {
    case .fill:
        gatherMode = .fillOrDrop
        idx = `where`(idx .< Tensor(Int32(0)), idx + Tensor(Int32(n)), idx)
    case .clip:
        gatherMode = .clip
    case .wrap:
        gatherMode = .promiseInBounds
        if n > 0 { idx = remainder(idx, Tensor(Int32(n))) }
    case .drop, .promiseInBounds:
        raise(FlockError("take: index mode \(mode) is not supported; expected fill, clip or wrap"))
        return poison
    }
    if n == 0 {
        guard indices.count == 0 else {
            raise(FlockError("take: cannot take \(indices.shape) indices from the empty axis \(a) of \(x.shape)"))
            return poison
        }
    }
    if indices.count == 0 || n == 0 {
        return zeros(Array(x.shape[..<a]) + indices.shape + Array(x.shape[(a + 1)...]), dtype: x.dtype)
    }
    var sliceSizes = x.shape
    sliceSizes[a] = 1
    let r = indices.rank
    let dn = GatherDimensionNumbers(
        offsetDims: Array(0..<a) + Array((a + r)..<(x.rank + r - 1)), collapsedSliceDims: [a], startIndexMap: [a])
    return bind1(.gather(dn, sliceSizes: sliceSizes, mode: gatherMode, fillValue: canonicalFill(fillValue, x.dtype)), x, idx.expandingDims(-1))
}

/// A fill value as the primitive holds it: NaN for a float is the default
/// (nil), so that equal gathers stay equal (NaN ≠ NaN) for jit's cache.
package func canonicalFill(_ fill: Double?, _ dtype: DType) -> Double? {
    guard let f = fill else { return nil }
    return f.isNaN && dtype.isFloatingPoint ? nil : f
}

// Lets `.all`, `.newAxis`, `.ellipsis` and `.stride(by:)` be written directly in subscripts.
extension TensorIndexConvertible where Self == TensorIndex {
    public static var all: TensorIndex { TensorIndex.all }
    public static var newAxis: TensorIndex { TensorIndex.insertAxis }
    public static var ellipsis: TensorIndex { TensorIndex.remainingAxes }
    public static func stride(_ start: Int? = nil, _ stop: Int? = nil, by step: Int) -> TensorIndex {
        TensorIndex.slice(start: start, stop: stop, step: step)
    }
}
