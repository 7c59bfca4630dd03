import CKernels
import Dispatch

// Gather and scatter with XLA's dimension-number semantics and JAX's index
// modes, at memory speed.
//
// Both kernels first resolve every index vector to the flat operand offset of
// its window (or -1 when the window is out of bounds and the mode fills or
// drops it), then move each window as a few *runs*: stretches contiguous in
// the operand and in the other array (the gather's output, the scatter's
// updates). A row gather (`take`, an embedding lookup, `x[idx]`) is one run
// per index — a memcpy-class copy; an element gather is runs of one. The
// element-by-element kernels of `Indexing+Reference.swift` define the
// semantics the tests hold these to.

/// Index vectors read as `Int`, whatever the integer dtype.
func readIndexVectors(_ a: DenseArray) -> [Int] {
    switch a.dtype {
    case .int32: let p = a.pointer(Int32.self); return p.map { Int($0) }
    case .uint32: let p = a.pointer(UInt32.self); return p.map { Int($0) }
    case .int64: let p = a.pointer(Int64.self); return p.map { Int($0) }
    case .uint64: let p = a.pointer(UInt64.self); return p.map { Int(clamping: $0) }
    case .float32, .float64, .bool, .int8, .uint8, .int16, .uint16, .float16, .bfloat16: return (0..<a.count).map { Int(a.double(at: $0)) }
    }
}

/// Where the windows of a gather or scatter start, and how one window splits
/// into runs contiguous in both the operand and the *side* array (the
/// gather's output or the scatter's updates).
struct IndexedWindows {
    /// Flat operand offset of each index vector's window; -1 when it is out
    /// of bounds and the mode fills (gather) or drops (scatter) it.
    var starts: [Int]
    /// Flat offset of each index vector's window in the side array.
    var sideBases: [Int]
    /// Offsets of a window's runs, relative to its start, in the operand and the side array.
    var runOperand: [Int] = [0]
    var runSide: [Int] = [0]
    /// Elements per run.
    var runLength = 1

    /// - Parameters:
    ///   - windowSizes: the window's extent along every operand dimension.
    ///   - windowOperandDims / windowSideDims: the window's dimensions in the
    ///     operand and the side array, paired in order; the side's other
    ///     dimensions are the index batch dimensions, in order.
    ///   - clamp: clamp starts so windows fit (else out-of-bounds windows get -1).
    init(
        operandShape: [Int], indices: DenseArray, startIndexMap: [Int], operandBatchingDims: [Int],
        indicesBatchingDims: [Int], windowSizes: [Int], windowOperandDims: [Int], sideShape: [Int],
        windowSideDims: [Int], clamp: Bool
    ) {
        let idx = readIndexVectors(indices)
        let k = startIndexMap.count
        let batchShape = Array(indices.shape.dropLast())
        let batchCount = batchShape.reduce(1, *)
        let xStrides = rowMajorStrides(operandShape), sStrides = rowMajorStrides(sideShape)
        let batchSideDims = (0..<sideShape.count).filter { !windowSideDims.contains($0) }
        let upper = startIndexMap.map { operandShape[$0] - windowSizes[$0] }
        let mapStrides = startIndexMap.map { xStrides[$0] }
        // Per batch dimension: its stride in the side array and, for batching
        // dimensions, in the operand (0 for the others).
        let sideStep = batchSideDims.map { sStrides[$0] }
        var operandStep = [Int](repeating: 0, count: batchShape.count)
        for (j, od) in operandBatchingDims.enumerated() { operandStep[indicesBatchingDims[j]] += xStrides[od] }
        var starts = [Int](repeating: 0, count: batchCount)
        var sideBases = [Int](repeating: 0, count: batchCount)
        // Raw pointers: this loop runs once per index (4096 times for an
        // embedding step), so bounds checks and array bookkeeping would cost
        // as much as the row copies themselves.
        starts.withUnsafeMutableBufferPointer { startsOut in
            sideBases.withUnsafeMutableBufferPointer { basesOut in
                idx.withUnsafeBufferPointer { idx in
                    if k == 1 && batchShape.count <= 1 && operandStep.allSatisfy({ $0 == 0 }) {
                        // One index per window, one batch dimension: `take`, `x[idx]`, `.at[idx]`.
                        let hi = upper[0], stride = mapStrides[0], step = sideStep.first ?? 0
                        for b in 0..<batchCount {
                            var v = idx[b]
                            if v < 0 || v > hi {
                                if clamp { v = Swift.min(Swift.max(v, 0), hi) } else { v = -1 }
                            }
                            startsOut[b] = v < 0 ? -1 : v * stride
                            basesOut[b] = b * step
                        }
                        return
                    }
                    var coordinate = [Int](repeating: 0, count: batchShape.count)
                    var operandBase = 0, sideBase = 0
                    for b in 0..<batchCount {
                        var offset = operandBase, inBounds = true
                        for j in 0..<k {
                            var v = idx[b * k + j]
                            if v < 0 || v > upper[j] {
                                if clamp { v = Swift.min(Swift.max(v, 0), upper[j]) } else { inBounds = false; break }
                            }
                            offset += v * mapStrides[j]
                        }
                        startsOut[b] = inBounds ? offset : -1
                        basesOut[b] = sideBase
                        // Next batch coordinate (row-major odometer), bases kept in step.
                        var d = batchShape.count - 1
                        while d >= 0 {
                            coordinate[d] += 1
                            operandBase += operandStep[d]
                            sideBase += sideStep[d]
                            if coordinate[d] < batchShape[d] { break }
                            operandBase -= operandStep[d] * batchShape[d]
                            sideBase -= sideStep[d] * batchShape[d]
                            coordinate[d] = 0
                            d -= 1
                        }
                    }
                }
            }
        }
        self.starts = starts
        self.sideBases = sideBases
        // Window dimensions of extent > 1: a trailing group contiguous on both
        // sides forms the run; the rest are enumerated.
        let dims = zip(windowOperandDims, windowSideDims).filter { windowSizes[$0.0] > 1 }
            .map { (x: xStrides[$0.0], s: sStrides[$0.1], n: windowSizes[$0.0]) }
        var outer = dims.count
        while outer > 0, dims[outer - 1].x == runLength, dims[outer - 1].s == runLength {
            runLength *= dims[outer - 1].n
            outer -= 1
        }
        for d in dims.prefix(outer) {
            runOperand = runOperand.flatMap { o in (0..<d.n).map { o + $0 * d.x } }
            runSide = runSide.flatMap { o in (0..<d.n).map { o + $0 * d.s } }
        }
    }

    var batchCount: Int { starts.count }
    var windowCount: Int { runLength * runOperand.count }
}

// MARK: - Gather

/// The value out-of-bounds windows read: `fill`, or JAX's default for the dtype.
func gatherFill(_ dtype: DType, _ fill: Double?) -> DenseArray {
    switch dtype {
    case .float32: DenseArray([fill.map { Float($0) } ?? .nan], shape: [])
    case .float64: DenseArray([fill ?? .nan], shape: [])
    case .int32: DenseArray([fill.map { Int32(clamping: Int(exactly: $0.rounded(.towardZero)) ?? 0) } ?? .min], shape: [])
    case .uint32: DenseArray([fill.map { UInt32(clamping: Int(exactly: $0.rounded(.towardZero)) ?? 0) } ?? .max], shape: [])
    case .int64: DenseArray([fill.map { Int64(clamping: Int(exactly: $0.rounded(.towardZero)) ?? 0) } ?? .min], shape: [])
    case .uint64: DenseArray([fill.map { UInt64(clamping: Int(exactly: $0.rounded(.towardZero)) ?? 0) } ?? .max], shape: [])
    case .int8, .uint8, .int16, .uint16, .float16, .bfloat16: unreachableWidened(dtype)
    case .bool: DenseArray([fill.map { $0 != 0 } ?? true], shape: [])
    }
}

func evalGather(
    _ x: DenseArray, _ indices: DenseArray, dn: GatherDimensionNumbers, sliceSizes: [Int],
    mode: GatherScatterMode, fill: Double?, shape: [Int]
) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: x.dtype)
    if out.count == 0 { return out }
    if let rows = RowIndexing(
        operandShape: x.shape, indices: indices, indexMap: dn.startIndexMap, collapsed: dn.collapsedSliceDims,
        batching: dn.operandBatchingDims, windowDims: dn.offsetDims, windowShape: sliceSizes, sideShape: shape)
    {
        takeRows(x, indices, out, rows, clamp: mode != .fillOrDrop, fill: gatherFill(x.dtype, fill))
        return out
    }
    let windowDims = (0..<x.rank).filter { !dn.collapsedSliceDims.contains($0) && !dn.operandBatchingDims.contains($0) }
    let w = IndexedWindows(
        operandShape: x.shape, indices: indices, startIndexMap: dn.startIndexMap,
        operandBatchingDims: dn.operandBatchingDims, indicesBatchingDims: dn.startIndicesBatchingDims,
        windowSizes: sliceSizes, windowOperandDims: windowDims, sideShape: shape, windowSideDims: dn.offsetDims,
        clamp: mode != .fillOrDrop)
    switch x.dtype.byteSize {
    case 1: gatherRuns(UInt8.self, x, out, w, fill: gatherFill(x.dtype, fill))
    case 2: gatherRuns(UInt16.self, x, out, w, fill: gatherFill(x.dtype, fill))
    case 4: gatherRuns(UInt32.self, x, out, w, fill: gatherFill(x.dtype, fill))
    default: gatherRuns(UInt64.self, x, out, w, fill: gatherFill(x.dtype, fill))
    }
    return out
}

/// A gather or scatter that moves whole rows along axis 0 — `take` along axis
/// 0, an embedding lookup, `x[idx]`, `.at[idx]` — with 32- or 64-bit
/// indices: the C loops read the indices themselves, so no offset arrays are
/// built (they were about a tenth of a 4096-row lookup).
struct RowIndexing {
    /// Rows of the operand, and elements per row.
    var rows: Int
    var rowElements: Int
    /// Index vectors (the side array's rows).
    var count: Int
    /// 64-bit indices (else 32-bit).
    var wide: Bool

    /// Nil unless the dimension numbers describe a row gather (scatter): one
    /// index into operand axis 0, no batching dimensions, a window of one
    /// whole row (axis 0 collapsed or of size 1), the window dimensions
    /// trailing in the side array (the gather's output, the scatter's updates).
    init?(
        operandShape: [Int], indices: DenseArray, indexMap: [Int], collapsed: [Int], batching: [Int], windowDims: [Int],
        windowShape: [Int], sideShape: [Int]
    ) {
        guard indices.dtype == .int32 || indices.dtype == .int64, indexMap == [0], batching.isEmpty,
            collapsed == [0] || collapsed.isEmpty, let k = indices.shape.last, k == 1, !operandShape.isEmpty
        else { return nil }
        let batchRank = indices.rank - 1
        guard windowDims == Array(batchRank..<sideShape.count),
            Array(sideShape.prefix(batchRank)) == Array(indices.shape.prefix(batchRank))
        else { return nil }
        // The window's extent along every operand dimension: the gather's
        // slice sizes, or the scatter's update window with the inserted axis.
        let window = windowShape.count == operandShape.count ? windowShape : [1] + windowShape
        guard window.count == operandShape.count, window[0] == 1, Array(window.dropFirst()) == Array(operandShape.dropFirst()),
            Array(sideShape.dropFirst(batchRank)) == (collapsed.isEmpty ? window : Array(window.dropFirst()))
        else { return nil }
        rows = operandShape[0]
        rowElements = operandShape.dropFirst().reduce(1, *)
        count = indices.count
        wide = indices.dtype == .int64
    }
}

/// The row gather: each index vector's row, copied by the C loop, threads
/// over index vectors only above `gatherParallelBytes`.
private func takeRows(_ x: DenseArray, _ indices: DenseArray, _ out: DenseArray, _ r: RowIndexing, clamp: Bool, fill: DenseArray) {
    let size = x.dtype.byteSize, rowBytes = r.rowElements * size
    let src = UncheckedSendable(UnsafeRawPointer(x.buffer.pointer).assumingMemoryBound(to: CChar.self))
    let dst = UncheckedSendable(out.buffer.pointer.assumingMemoryBound(to: CChar.self))
    let idx = UncheckedSendable(UnsafeRawPointer(indices.buffer.pointer))
    let f = UncheckedSendable(UnsafeRawPointer(fill.buffer.pointer))
    let avx2: Int32 = AVX2Kernels.enabled ? 1 : 0
    let threshold = Swift.max(1, gatherParallelBytes / Swift.max(1, rowBytes))
    forEachChunk(r.count, threshold: threshold) { lo, hi in
        flock_take_rows(
            avx2, dst.value, src.value, idx.value, r.wide ? 1 : 0, lo, hi, r.rows, rowBytes, clamp ? 1 : 0, size, f.value)
    }
}

/// Copies every window's runs (elements moved as `T`, a type of the dtype's
/// size), threading over the index vectors.
/// Bytes a gather copies before it is split over threads.
let gatherParallelBytes = 8 << 20

private func gatherRuns<T: Sendable>(_: T.Type, _ x: DenseArray, _ out: DenseArray, _ w: IndexedWindows, fill: DenseArray) {
    let src = UncheckedSendable(x.buffer.pointer.assumingMemoryBound(to: T.self))
    let dst = UncheckedSendable(out.buffer.pointer.assumingMemoryBound(to: T.self))
    let f = fill.buffer.pointer.assumingMemoryBound(to: T.self).pointee
    let n = w.runLength
    // Copies split over threads only when each thread gets enough bytes to
    // pay for waking it: a 2 MB lookup ran slower on two threads than on one.
    let threshold = Swift.max(1, gatherParallelBytes / Swift.max(1, w.windowCount * MemoryLayout<T>.size))
    if w.runOperand.count == 1, n * MemoryLayout<T>.size >= 16 {
        // One contiguous run per window (an embedding lookup's rows): the C
        // loop copies it inline and prefetches later windows' rows.
        let avx2: Int32 = AVX2Kernels.enabled ? 1 : 0
        let fillValue = UncheckedSendable(fill.buffer.pointer)
        let size = MemoryLayout<T>.size
        w.starts.withUnsafeBufferPointer { starts in
            w.sideBases.withUnsafeBufferPointer { side in
                let st = UncheckedSendable(starts.baseAddress!), sd = UncheckedSendable(side.baseAddress!)
                forEachChunk(w.batchCount, threshold: threshold) { lo, hi in
                    flock_gather_runs(
                        avx2, UnsafeMutableRawPointer(dst.value).assumingMemoryBound(to: CChar.self),
                        UnsafeRawPointer(src.value).assumingMemoryBound(to: CChar.self), st.value, sd.value, lo, hi,
                        n * size, size, fillValue.value)
                }
            }
        }
        return
    }
    forEachChunk(w.batchCount, threshold: threshold) { lo, hi in
        let s = src.value, d = dst.value
        for b in lo..<hi {
            let start = w.starts[b], base = w.sideBases[b]
            for r in 0..<w.runOperand.count {
                let o = d + base + w.runSide[r]
                if start < 0 {
                    o.initialize(repeating: f, count: n)
                } else if n == 1 {
                    o.pointee = s[start + w.runOperand[r]]
                } else {
                    o.update(from: s + start + w.runOperand[r], count: n)
                }
            }
        }
    }
}

// MARK: - Scatter

/// Element types a scatter combines, with XLA's semantics for each op
/// (integers wrap; min/max propagate NaN; bool: or/and).
protocol ScatterElement {
    static func scatterAdd(_ a: Self, _ b: Self) -> Self
    static func scatterMul(_ a: Self, _ b: Self) -> Self
    static func scatterMin(_ a: Self, _ b: Self) -> Self
    static func scatterMax(_ a: Self, _ b: Self) -> Self
}
extension Float: ScatterElement {}
extension Double: ScatterElement {}
extension ScatterElement where Self: BinaryFloatingPoint {
    @inline(__always) static func scatterAdd(_ a: Self, _ b: Self) -> Self { a + b }
    @inline(__always) static func scatterMul(_ a: Self, _ b: Self) -> Self { a * b }
    @inline(__always) static func scatterMin(_ a: Self, _ b: Self) -> Self { a < b || a != a ? a : b }
    @inline(__always) static func scatterMax(_ a: Self, _ b: Self) -> Self { a > b || a != a ? a : b }
}
extension Int32: ScatterElement {}
extension UInt32: ScatterElement {}
extension Int64: ScatterElement {}
extension UInt64: ScatterElement {}
// The 8/16-bit types scatter in their own type (not widened): XLA rounds or
// wraps after every combined update, which matters for repeated indices.
extension Int8: ScatterElement {}
extension UInt8: ScatterElement {}
extension Int16: ScatterElement {}
extension UInt16: ScatterElement {}
extension Float16: ScatterElement {}
extension BFloat16: ScatterElement {
    @inline(__always) static func scatterAdd(_ a: Self, _ b: Self) -> Self { BFloat16(a.floatValue + b.floatValue) }
    @inline(__always) static func scatterMul(_ a: Self, _ b: Self) -> Self { BFloat16(a.floatValue * b.floatValue) }
    @inline(__always) static func scatterMin(_ a: Self, _ b: Self) -> Self { a.floatValue < b.floatValue || a.isNaN ? a : b }
    @inline(__always) static func scatterMax(_ a: Self, _ b: Self) -> Self { a.floatValue > b.floatValue || a.isNaN ? a : b }
}
extension ScatterElement where Self: FixedWidthInteger {
    @inline(__always) static func scatterAdd(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inline(__always) static func scatterMul(_ a: Self, _ b: Self) -> Self { a &* b }
    @inline(__always) static func scatterMin(_ a: Self, _ b: Self) -> Self { a < b ? a : b }
    @inline(__always) static func scatterMax(_ a: Self, _ b: Self) -> Self { a > b ? a : b }
}
extension Bool: ScatterElement {
    @inline(__always) static func scatterAdd(_ a: Bool, _ b: Bool) -> Bool { a || b }
    @inline(__always) static func scatterMul(_ a: Bool, _ b: Bool) -> Bool { a && b }
    @inline(__always) static func scatterMin(_ a: Bool, _ b: Bool) -> Bool { a && b }
    @inline(__always) static func scatterMax(_ a: Bool, _ b: Bool) -> Bool { a || b }
}

/// One scatter op as a type, so each (op, dtype) loop is specialised and vectorised.
protocol ScatterCombiner { static func apply<T: ScatterElement>(_ a: T, _ b: T) -> T }
private enum ReplaceCombiner: ScatterCombiner { @inline(__always) static func apply<T: ScatterElement>(_: T, _ b: T) -> T { b } }
private enum AddCombiner: ScatterCombiner { @inline(__always) static func apply<T: ScatterElement>(_ a: T, _ b: T) -> T { T.scatterAdd(a, b) } }
private enum MulCombiner: ScatterCombiner { @inline(__always) static func apply<T: ScatterElement>(_ a: T, _ b: T) -> T { T.scatterMul(a, b) } }
private enum MinCombiner: ScatterCombiner { @inline(__always) static func apply<T: ScatterElement>(_ a: T, _ b: T) -> T { T.scatterMin(a, b) } }
private enum MaxCombiner: ScatterCombiner { @inline(__always) static func apply<T: ScatterElement>(_ a: T, _ b: T) -> T { T.scatterMax(a, b) } }

/// The operand with the updates scattered into it (a copy; see ``scatterInPlace``).
func evalScatter(
    _ op: ScatterOp, _ x: DenseArray, _ indices: DenseArray, _ updates: DenseArray, dn: ScatterDimensionNumbers,
    mode: GatherScatterMode
) -> DenseArray {
    let out = copyArray(x)
    scatterInPlace(op, into: out, indices, updates, dn: dn, mode: mode)
    return out
}

/// Scatters `updates` into `out`'s buffer, which holds the operand.
///
/// Deterministic whatever the thread count: the threads split the *operand*
/// into ranges, each applies, in the updates' order, the parts of every run
/// that land in its range — so each element sees its updates in the same
/// order as on one thread, and the bits are those of a sequential scatter.
package func scatterInPlace(
    _ op: ScatterOp, into out: DenseArray, _ indices: DenseArray, _ updates: DenseArray, dn: ScatterDimensionNumbers,
    mode: GatherScatterMode
) {
    if updates.count == 0 || out.count == 0 { return }
    if op == .add, out.dtype == .float32, AVX2Kernels.enabled, scatterRunsOnOneThread(updates: updates.count, operand: out.count),
        let rows = RowIndexing(
            operandShape: out.shape, indices: indices, indexMap: dn.scatterDimsToOperandDims, collapsed: dn.insertedWindowDims,
            batching: dn.operandBatchingDims, windowDims: dn.updateWindowDims,
            windowShape: Array(updates.shape.dropFirst(indices.rank - 1)), sideShape: updates.shape)
    {
        // The gradient of an embedding lookup: rows added in index order.
        flock_f32_scatter_add_rows(
            out.buffer.pointer.assumingMemoryBound(to: Float.self),
            UnsafeRawPointer(updates.buffer.pointer).assumingMemoryBound(to: Float.self),
            UnsafeRawPointer(indices.buffer.pointer), rows.wide ? 1 : 0, rows.count, rows.rows, rows.rowElements,
            mode == .clip ? 1 : 0)
        return
    }
    let windowOperandDims = (0..<out.rank).filter { !dn.insertedWindowDims.contains($0) && !dn.operandBatchingDims.contains($0) }
    var windowSizes = [Int](repeating: 1, count: out.rank)
    for (j, d) in windowOperandDims.enumerated() { windowSizes[d] = updates.shape[dn.updateWindowDims[j]] }
    let w = IndexedWindows(
        operandShape: out.shape, indices: indices, startIndexMap: dn.scatterDimsToOperandDims,
        operandBatchingDims: dn.operandBatchingDims, indicesBatchingDims: dn.scatterIndicesBatchingDims,
        windowSizes: windowSizes, windowOperandDims: windowOperandDims, sideShape: updates.shape,
        windowSideDims: dn.updateWindowDims, clamp: mode == .clip)
    switch out.dtype {
    case .float32: scatterTyped(op, Float.self, out, updates, w)
    case .float64: scatterTyped(op, Double.self, out, updates, w)
    case .int32: scatterTyped(op, Int32.self, out, updates, w)
    case .uint32: scatterTyped(op, UInt32.self, out, updates, w)
    case .int64: scatterTyped(op, Int64.self, out, updates, w)
    case .uint64: scatterTyped(op, UInt64.self, out, updates, w)
    case .bool: scatterTyped(op, Bool.self, out, updates, w)
    case .int8: scatterTyped(op, Int8.self, out, updates, w)
    case .uint8: scatterTyped(op, UInt8.self, out, updates, w)
    case .int16: scatterTyped(op, Int16.self, out, updates, w)
    case .uint16: scatterTyped(op, UInt16.self, out, updates, w)
    case .float16: scatterTyped(op, Float16.self, out, updates, w)
    case .bfloat16: scatterTyped(op, BFloat16.self, out, updates, w)
    }
}

private func scatterTyped<T: ScatterElement>(_ op: ScatterOp, _: T.Type, _ out: DenseArray, _ u: DenseArray, _ w: IndexedWindows) {
    switch op {
    case .replace: scatterRanges(ReplaceCombiner.self, T.self, out, u, w)
    case .add: scatterRanges(AddCombiner.self, T.self, out, u, w)
    case .mul: scatterRanges(MulCombiner.self, T.self, out, u, w)
    case .min: scatterRanges(MinCombiner.self, T.self, out, u, w)
    case .max: scatterRanges(MaxCombiner.self, T.self, out, u, w)
    }
}

/// Updates below this many elements are scattered on the calling thread.
let scatterParallelThreshold = 1 << 21

/// Whether a scatter of `updates` elements into an operand of `operand`
/// elements runs on the calling thread. A scatter waits on memory (random
/// destination rows): measured on this 2-core machine, a 4096 × 128
/// scatter-add took ~75 µs on one thread and ~145 µs split over two, so only
/// much larger scatters are threaded.
func scatterRunsOnOneThread(updates: Int, operand: Int) -> Bool {
    let threads = FlockThreads.count
    return threads == 1 || updates < scatterParallelThreshold || operand < 64 * threads
}

private func scatterRanges<C: ScatterCombiner, T: ScatterElement>(
    _: C.Type, _: T.Type, _ out: DenseArray, _ updates: DenseArray, _ w: IndexedWindows
) {
    let o = UncheckedSendable(out.buffer.pointer.assumingMemoryBound(to: T.self))
    let u = UncheckedSendable(UnsafePointer(updates.buffer.pointer.assumingMemoryBound(to: T.self)))
    let threads = FlockThreads.count
    let total = out.count
    if scatterRunsOnOneThread(updates: updates.count, operand: total) {
        w.starts.withUnsafeBufferPointer { starts in
            w.sideBases.withUnsafeBufferPointer { bases in
                scatterRange(C.self, o.value, u.value, w, starts.baseAddress!, bases.baseAddress!, starts.count, 0, total)
            }
        }
        return
    }
    // Pieces of whole cache lines, four per thread, taken dynamically (a
    // descheduled thread on a shared machine then delays a quarter of its
    // share). Each piece gets the windows that reach it, in update order —
    // a stable bucketing, not a sort — so no thread scans every index.
    let pieces = 4 * threads
    let chunk = ((total + pieces - 1) / pieces + 15) & ~15
    let extent = (w.runOperand.max() ?? 0) + w.runLength  // a window reaches start ..< start + extent
    var counts = [Int](repeating: 0, count: pieces + 1)
    for start in w.starts where start >= 0 {
        for p in (start / chunk)...Swift.min(pieces - 1, (start + extent - 1) / chunk) { counts[p + 1] += 1 }
    }
    for p in 0..<pieces { counts[p + 1] += counts[p] }
    var fill = counts
    var listStarts = [Int](repeating: 0, count: counts[pieces]), listBases = listStarts
    for (b, start) in w.starts.enumerated() where start >= 0 {
        for p in (start / chunk)...Swift.min(pieces - 1, (start + extent - 1) / chunk) {
            listStarts[fill[p]] = start
            listBases[fill[p]] = w.sideBases[b]
            fill[p] += 1
        }
    }
    let next = AtomicCounter()
    listStarts.withUnsafeBufferPointer { starts in
        listBases.withUnsafeBufferPointer { bases in
            let lists = UncheckedSendable((starts.baseAddress!, bases.baseAddress!))
            counts.withUnsafeBufferPointer { bounds in
                let bounds = UncheckedSendable(bounds.baseAddress!)
                let flushing = SubnormalMode.isFlushing
                DispatchQueue.concurrentPerform(iterations: threads) { _ in SubnormalMode.asCaller(flushing) {
                    while true {
                        let p = next.increment()
                        if p >= pieces { break }
                        let lo = Swift.min(total, p * chunk), hi = Swift.min(total, lo + chunk)
                        let first = bounds.value[p], count = bounds.value[p + 1] - first
                        if lo < hi && count > 0 {
                            scatterRange(C.self, o.value, u.value, w, lists.value.0 + first, lists.value.1 + first, count, lo, hi)
                        }
                    }
                } }
            }
        }
    }
}

/// Applies the parts of the runs of windows `starts[0..<count]` (their side
/// bases in `bases`) that fall in operand elements `lo..<hi`, in order.
@inline(__always)
private func scatterRange<C: ScatterCombiner, T: ScatterElement>(
    _: C.Type, _ o: UnsafeMutablePointer<T>, _ u: UnsafePointer<T>, _ w: IndexedWindows,
    _ starts: UnsafePointer<Int>, _ bases: UnsafePointer<Int>, _ count: Int, _ lo: Int, _ hi: Int
) {
    let n = w.runLength
    if C.self == AddCombiner.self, T.self == Float.self, w.runOperand.count == 1, AVX2Kernels.enabled {
        // The gradient of an embedding lookup: one run per index (a table
        // row), 8 lanes wide, with the next rows prefetched.
        flock_f32_scatter_add_runs(
            UnsafeMutableRawPointer(o).assumingMemoryBound(to: Float.self),
            UnsafeRawPointer(u).assumingMemoryBound(to: Float.self), starts, bases, count, n, lo, hi)
        return
    }
    w.runOperand.withUnsafeBufferPointer { runOperand in
        w.runSide.withUnsafeBufferPointer { runSide in
            for b in 0..<count {
                let start = starts[b]
                if start < 0 { continue }
                let base = bases[b]
                for r in 0..<runOperand.count {
                    var d = start + runOperand[r], s = base + runSide[r], m = n
                    if d >= hi || d + m <= lo { continue }
                    if d < lo { s += lo - d; m -= lo - d; d = lo }
                    if d + m > hi { m = hi - d }
                    let od = o + d, us = u + s
                    for i in 0..<m { od[i] = C.apply(od[i], us[i]) }
                }
            }
        }
    }
}
