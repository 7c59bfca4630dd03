import FlockTestSupport
import Testing

@testable import FlockCore

/// The run-based gather/scatter kernels against the element-by-element
/// reference kernels (bit for bit), scatter determinism across thread counts,
/// and the index-mode errors.
@Suite(.serialized) struct IndexingKernelTests {
    /// A gather or scatter configuration: operand shape, dimension numbers, index batch shape.
    struct Layout: Sendable, CustomStringConvertible {
        let name: String
        let operand: [Int]
        let dn: GatherDimensionNumbers
        let sliceSizes: [Int]
        let batch: [Int]
        var description: String { name }
    }

    static let layouts: [Layout] = [
        // take along axis 0 (an embedding lookup): one contiguous run per index.
        Layout(name: "rows", operand: [7, 6], dn: .init(offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0]),
            sliceSizes: [1, 6], batch: [9]),
        // take along axis 1: runs of one element.
        Layout(name: "columns", operand: [4, 7], dn: .init(offsetDims: [0], collapsedSliceDims: [1], startIndexMap: [1]),
            sliceSizes: [4, 1], batch: [5]),
        // x[i, j]: elements, 2-D batch.
        Layout(name: "elements", operand: [5, 6], dn: .init(offsetDims: [], collapsedSliceDims: [0, 1], startIndexMap: [0, 1]),
            sliceSizes: [1, 1], batch: [3, 4]),
        // Dynamic-slice windows (2 × 3 blocks at 2-D starts), window not contiguous.
        Layout(name: "blocks", operand: [6, 7], dn: .init(offsetDims: [1, 2], collapsedSliceDims: [], startIndexMap: [0, 1]),
            sliceSizes: [2, 3], batch: [5]),
        // Rows of a 3-D operand, trailing window [1, 4, 5] with the middle dim partial.
        Layout(name: "partial", operand: [3, 6, 5], dn: .init(offsetDims: [1, 2], collapsedSliceDims: [0], startIndexMap: [0, 1]),
            sliceSizes: [1, 4, 5], batch: [6]),
        // Batching dimensions (vmap of take): operand dim 0 walks with index dim 0.
        Layout(name: "batching", operand: [4, 6, 3],
            dn: .init(offsetDims: [2], collapsedSliceDims: [1], startIndexMap: [1], operandBatchingDims: [0], startIndicesBatchingDims: [0]),
            sliceSizes: [1, 1, 3], batch: [4, 5]),
        // Window dims in the middle of the output (x[:, idx, :]).
        Layout(name: "middle", operand: [3, 8, 4], dn: .init(offsetDims: [0, 3], collapsedSliceDims: [1], startIndexMap: [1]),
            sliceSizes: [3, 1, 4], batch: [2, 3]),
        // Long rows (the C row-copy loop: 128-byte blocks, 32-byte steps and a tail for every element size).
        Layout(name: "long rows", operand: [9, 37], dn: .init(offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0]),
            sliceSizes: [1, 37], batch: [11]),
        // Rows of a 3-D operand under a 2-D index batch (the row C loops, whole [3, 4] rows).
        Layout(name: "rows 3-D", operand: [5, 3, 4], dn: .init(offsetDims: [2, 3], collapsedSliceDims: [0], startIndexMap: [0]),
            sliceSizes: [1, 3, 4], batch: [2, 3]),
        // Rows with axis 0 kept as a window dimension of size 1 (x[idx][:, None]-style).
        Layout(name: "rows kept", operand: [7, 6], dn: .init(offsetDims: [1, 2], collapsedSliceDims: [], startIndexMap: [0]),
            sliceSizes: [1, 6], batch: [9]),
        // take from a vector: rows of one element.
        Layout(name: "vector", operand: [9], dn: .init(offsetDims: [], collapsedSliceDims: [0], startIndexMap: [0]),
            sliceSizes: [1], batch: [13]),
        // Empty index batch.
        Layout(name: "empty", operand: [5, 3], dn: .init(offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0]),
            sliceSizes: [1, 3], batch: [0]),
    ]

    /// The index dtypes the kernels read directly (others are converted first).
    static let indexTypes: [DType] = [.int32, .int64]

    static func indices(_ l: Layout, seed: UInt64, dtype: DType = .int32) -> DenseArray {
        var rng = SplitMix64(seed: seed)
        let k = l.dn.startIndexMap.count
        var values: [Int32] = []
        for _ in 0..<(l.batch.reduce(1, *)) {
            for j in 0..<k {
                let n = l.operand[l.dn.startIndexMap[j]]
                values.append(Int32(rng.int(-3...(n + 2))))  // some out of bounds on both sides
            }
        }
        let a = DenseArray(values, shape: l.batch + [k])
        return dtype == .int32 ? a : convertArray(a, to: dtype)
    }

    static func operand(_ shape: [Int], _ dtype: DType, seed: UInt64) -> DenseArray {
        var rng = SplitMix64(seed: seed)
        let n = shape.reduce(1, *)
        switch dtype {
        case .float32: return DenseArray((0..<n).map { _ in rng.float() }, shape: shape)
        case .float64: return DenseArray((0..<n).map { _ in Double(rng.float()) / 3 }, shape: shape)
        case .int32: return DenseArray((0..<n).map { _ in Int32(rng.int(-9...9)) }, shape: shape)
        case .uint32: return DenseArray((0..<n).map { _ in UInt32(rng.int(0...9)) }, shape: shape)
        case .bool: return DenseArray((0..<n).map { _ in rng.int(0...1) == 1 }, shape: shape)
        default: return convertArray(operand(shape, .int32, seed: seed), to: dtype)
        }
    }

    static func bytes(_ a: DenseArray) -> [UInt8] {
        Swift.Array(UnsafeRawBufferPointer(start: a.buffer.pointer, count: a.byteCount))
    }

    static func gatherShape(_ l: Layout) -> [Int] {
        let windowDims = (0..<l.operand.count).filter { !l.dn.collapsedSliceDims.contains($0) && !l.dn.operandBatchingDims.contains($0) }
        var shape: [Int] = []
        var b = 0, w = 0
        for d in 0..<(l.batch.count + windowDims.count) {
            if l.dn.offsetDims.contains(d) { shape.append(l.sliceSizes[windowDims[w]]); w += 1 } else { shape.append(l.batch[b]); b += 1 }
        }
        return shape
    }

    @Test(arguments: layouts)
    func gatherMatchesReference(_ l: Layout) {
        let shape = Self.gatherShape(l)
        for dtype in DType.allCases where !dtype.isWidened {  // kernels see compute types only
            let x = Self.operand(l.operand, dtype, seed: 1)
            for indexType in Self.indexTypes {
                let idx = Self.indices(l, seed: 2, dtype: indexType)
                for mode in GatherScatterMode.allCases {
                    for fill in [nil, 3.0] as [Double?] {
                        let fast = evalGather(x, idx, dn: l.dn, sliceSizes: l.sliceSizes, mode: mode, fill: fill, shape: shape)
                        let slow = referenceGather(x, idx, dn: l.dn, sliceSizes: l.sliceSizes, mode: mode, fill: fill, shape: shape)
                        #expect(
                            Self.bytes(fast) == Self.bytes(slow), "\(l) \(dtype) \(indexType) \(mode) fill \(String(describing: fill))")
                    }
                }
            }
        }
    }

    /// Which layouts take the row loops (the others' runs go through IndexedWindows):
    /// both paths are held to the reference above, this says each is exercised.
    @Test(arguments: layouts)
    func rowLayoutsAreRecognised(_ l: Layout) {
        let rowLayouts: Set = ["rows", "long rows", "rows 3-D", "rows kept", "vector", "empty"]
        for indexType in DType.allCases where !indexType.isWidened {
            let rows = RowIndexing(
                operandShape: l.operand, indices: Self.indices(l, seed: 1, dtype: indexType), indexMap: l.dn.startIndexMap,
                collapsed: l.dn.collapsedSliceDims, batching: l.dn.operandBatchingDims, windowDims: l.dn.offsetDims,
                windowShape: l.sliceSizes, sideShape: Self.gatherShape(l))
            #expect((rows != nil) == (rowLayouts.contains(l.name) && Self.indexTypes.contains(indexType)), "\(l) \(indexType)")
        }
    }

    /// The scatter that is the gather's transpose, with updates shaped like the gather's output.
    static func scatterNumbers(_ l: Layout) -> ScatterDimensionNumbers {
        ScatterDimensionNumbers(
            updateWindowDims: l.dn.offsetDims, insertedWindowDims: l.dn.collapsedSliceDims,
            scatterDimsToOperandDims: l.dn.startIndexMap, operandBatchingDims: l.dn.operandBatchingDims,
            scatterIndicesBatchingDims: l.dn.startIndicesBatchingDims)
    }

    @Test(arguments: layouts)
    func scatterMatchesReference(_ l: Layout) {
        let dn = Self.scatterNumbers(l)
        for dtype in DType.allCases where !dtype.isWidened {  // kernels see compute types only
            let x = Self.operand(l.operand, dtype, seed: 3)
            let u = Self.operand(Self.gatherShape(l), dtype, seed: 4)
            for indexType in Self.indexTypes {
                let idx = Self.indices(l, seed: 5, dtype: indexType)
                for mode in GatherScatterMode.allCases {
                    for op in ScatterOp.allCases {
                        let fast = evalScatter(op, x, idx, u, dn: dn, mode: mode)
                        let slow = referenceScatter(op, x, idx, u, dn: dn, mode: mode)
                        #expect(Self.bytes(fast) == Self.bytes(slow), "\(l) \(dtype) \(indexType) \(mode) \(op)")
                    }
                }
            }
        }
    }

    /// A scatter-add big enough to thread (rows of a table, many repeated):
    /// the same bits on 1…4 threads and on every run, equal to the sequential reference.
    @Test func scatterAddIsDeterministicAcrossThreadCounts() {
        let rows = 300, width = 512, count = 4096  // count × width ≥ scatterParallelThreshold: threaded
        #expect(count * width >= scatterParallelThreshold)
        var rng = SplitMix64(seed: 9)
        let idx = DenseArray((0..<count).map { _ in Int32(rng.int(0...(rows - 1))) }, shape: [count, 1])
        let x = Self.operand([rows, width], .float32, seed: 10)
        let u = Self.operand([count, width], .float32, seed: 11)
        let dn = ScatterDimensionNumbers(updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0])
        let reference = Self.bytes(referenceScatter(.add, x, idx, u, dn: dn, mode: .fillOrDrop))
        let saved = FlockThreads.count
        defer { FlockThreads.count = saved }
        for threads in 1...4 {
            FlockThreads.count = threads
            for run in 0..<3 {
                let y = evalScatter(.add, x, idx, u, dn: dn, mode: .fillOrDrop)
                #expect(Self.bytes(y) == reference, "\(threads) threads, run \(run)")
            }
        }
    }

    /// A threaded scatter whose windows are columns (runs of one element
    /// strided over the whole operand, so each window reaches every piece the
    /// threads split the operand into), for every op, with out-of-bounds
    /// indices dropped: bit for bit the sequential reference on 1…3 threads.
    @Test func columnScatterIsTheSameOnEveryThreadCount() {
        let rows = 4096, cols = 40, count = 600  // count × rows ≥ scatterParallelThreshold: threaded
        #expect(count * rows >= scatterParallelThreshold)
        var rng = SplitMix64(seed: 12)
        let idx = DenseArray((0..<count).map { _ in Int32(rng.int(-2...(cols + 1))) }, shape: [count, 1])
        let x = Self.operand([rows, cols], .float32, seed: 13)
        let u = Self.operand([rows, count], .float32, seed: 14)
        let dn = ScatterDimensionNumbers(updateWindowDims: [0], insertedWindowDims: [1], scatterDimsToOperandDims: [1])
        let saved = FlockThreads.count
        defer { FlockThreads.count = saved }
        for op in ScatterOp.allCases {
            let reference = Self.bytes(referenceScatter(op, x, idx, u, dn: dn, mode: .fillOrDrop))
            for threads in 1...3 {
                FlockThreads.count = threads
                let y = evalScatter(op, x, idx, u, dn: dn, mode: .fillOrDrop)
                #expect(Self.bytes(y) == reference, "\(op) on \(threads) threads")
            }
        }
    }

    /// The row-copy loop without AVX2 (the baseline build) gives the same bytes.
    @Test func rowGatherWithoutAVX2MatchesReference() {
        let l = Self.layouts.first { $0.name == "long rows" }!
        let saved = Configuration.disableAVX2
        defer { Configuration.disableAVX2 = saved }
        Configuration.disableAVX2 = true
        for dtype in [DType.float32, .float64, .int32, .bool] {
            let x = Self.operand(l.operand, dtype, seed: 5)
            let idx = Self.indices(l, seed: 6)
            for mode in GatherScatterMode.allCases {
                let fast = evalGather(x, idx, dn: l.dn, sliceSizes: l.sliceSizes, mode: mode, fill: 3, shape: Self.gatherShape(l))
                let slow = referenceGather(x, idx, dn: l.dn, sliceSizes: l.sliceSizes, mode: mode, fill: 3, shape: Self.gatherShape(l))
                #expect(Self.bytes(fast) == Self.bytes(slow), "\(dtype) \(mode)")
            }
        }
    }

    @Test func gatherIsTheSameOnEveryThreadCount() {
        // 33000 rows of 256 bytes: above the 8 MB a gather copies before it is split over threads.
        let l = Layout(name: "big rows", operand: [1000, 64], dn: .init(offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0]),
            sliceSizes: [1, 64], batch: [33000])
        let x = Self.operand(l.operand, .float32, seed: 12)
        let idx = Self.indices(l, seed: 13)
        let shape = Self.gatherShape(l)
        let reference = Self.bytes(referenceGather(x, idx, dn: l.dn, sliceSizes: l.sliceSizes, mode: .fillOrDrop, fill: nil, shape: shape))
        let saved = FlockThreads.count
        defer { FlockThreads.count = saved }
        for threads in 1...3 {
            FlockThreads.count = threads
            let y = evalGather(x, idx, dn: l.dn, sliceSizes: l.sliceSizes, mode: .fillOrDrop, fill: nil, shape: shape)
            #expect(Self.bytes(y) == reference, "\(threads) threads")
        }
    }

    static let modeErrors: [(String, @Sendable () -> Void, String)] = [
        ("take drop", { _ = take(Tensor([1, 2, 3] as [Float]), Tensor([0] as [Int32]), mode: .drop) },
            "take: index mode drop is not supported; expected fill, clip or wrap"),
        ("take promiseInBounds", { _ = take(Tensor([1, 2, 3] as [Float]), Tensor([0] as [Int32]), mode: .promiseInBounds) },
            "take: index mode promiseInBounds is not supported; expected fill, clip or wrap"),
        ("at.set wrap", { _ = Tensor([1, 2, 3] as [Float]).at(Tensor([0] as [Int32])).set(Tensor(Float(1)), mode: .wrap) },
            "at.set: index mode wrap is not supported; expected promiseInBounds, clip, drop or fill"),
        ("at.get wrap", { _ = Tensor([1, 2, 3] as [Float]).at(Tensor([0] as [Int32])).get(mode: .wrap) },
            "at.get: index mode wrap is not supported; expected promiseInBounds, clip, drop or fill"),
        ("take float indices", { _ = take(Tensor([1, 2, 3] as [Float]), Tensor([0] as [Float])) },
            "take: indices must be integers, got float32 [1]"),
        ("take from empty axis", { _ = take(zeros([0, 2]), Tensor([0] as [Int32]), axis: 0) },
            "take: cannot take [1] indices from the empty axis 0 of [0, 2]"),
    ]

    @Test(arguments: modeErrors.indices)
    func badModesAreErrors(_ i: Int) {
        let (name, body, message) = Self.modeErrors[i]
        #expect(errorMessage(body) == message, "\(name)")
    }
}
