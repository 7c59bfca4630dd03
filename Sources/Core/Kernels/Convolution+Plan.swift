// How a convolution's gemm formulation tiles its work, from shapes alone: the
// kernel (`ConvolutionGemm`) runs these tilings, and `plannedConvolutionScratchBytes`
// reports the memory they take, so the scratch bound is testable without
// allocating the operands.

/// Shapes, formulation and tilings of one convolution (NC… lhs, OI… rhs, NC… output).
struct ConvolutionPlan {
    let batch, cin, cout, groups, cinG, coutG: Int
    let inCount, kCount, outCount: Int
    let lhsDilated: Bool
    /// Scratch elements a single work item may use.
    let scratchElements: Int
    let forcedPath: ConvolutionPath?
    /// Whether a kernel row's channels are adjacent ([O, I, k…] in memory);
    /// otherwise (a kernel with its first two dimensions swapped) the
    /// kernel-gradient form contracts one channel per gemm.
    let kernelChannelsAdjacent: Bool

    init(lhs: [Int], rhs: [Int], out: [Int], _ p: ConvolutionParameters,
         scratchElements: Int, path: ConvolutionPath? = nil, kernelChannelsAdjacent: Bool = true) {
        self.kernelChannelsAdjacent = kernelChannelsAdjacent
        batch = lhs[0]; cin = lhs[1]; cout = rhs[0]; cinG = rhs[1]
        groups = p.featureGroupCount; coutG = cout / groups
        inCount = lhs[2...].reduce(1, *); kCount = rhs[2...].reduce(1, *); outCount = out[2...].reduce(1, *)
        lhsDilated = p.lhsDilation.contains(where: { $0 > 1 })
        self.scratchElements = scratchElements
        forcedPath = path
    }

    /// The formulation this problem takes (see Convolution+Gemm.swift).
    var path: ConvolutionPath {
        if let forcedPath { return forcedPath }
        if lhsDilated { return .lhsDilated }
        if outCount < kCount && coutG * batch * outCount <= 1 << 20 { return .kernelGradient }
        return .forward
    }

    /// Whether the kernel does any arithmetic (otherwise it writes zeros or nothing).
    var isTrivial: Bool { batch * cout * outCount == 0 || cinG == 0 || kCount == 0 || inCount == 0 }

    /// Forward: output positions per tile, the tile count and the work items.
    var forwardTiling: (tile: Int, tiles: Int, items: Int, scratch: Int) {
        let kRows = cinG * kCount
        let tile = max(1, min(outCount, scratchElements / kRows))
        let tiles = (outCount + tile - 1) / tile
        return (tile, tiles, batch * groups * tiles, kRows * tile)
    }

    /// Kernel-gradient form: channels per chunk, (b, t) rows per tile, their
    /// counts, the work items and the per-item scratch.
    var kernelGradientTiling: (cc: Int, rowTile: Int, chunks: Int, rowTiles: Int, items: Int, scratch: Int) {
        let rows = batch * outCount
        let cc = kernelChannelsAdjacent ? max(1, min(cinG, scratchElements / max(1, rows * kCount))) : 1
        let rowTile = rows * kCount * cc <= scratchElements ? rows : max(1, scratchElements / kCount)
        let chunks = (cinG + cc - 1) / cc, rowTiles = (rows + rowTile - 1) / rowTile
        return (cc, rowTile, chunks, rowTiles, groups * chunks * rowTiles, min(rows, rowTile) * cc * kCount)
    }

    /// lhs-dilated: input positions per tile, the work items and the per-item scratch.
    var lhsDilatedTiling: (tile: Int, items: Int, scratch: Int) {
        let zRows = coutG * kCount
        let tile = max(1, min(inCount, scratchElements / zRows))
        return (tile, batch * groups, zRows * tile)
    }

    /// Elements of temporary memory the kernel allocates with `threads` threads:
    /// per-thread scratch, plus the per-thread accumulators of the
    /// kernel-gradient form or the transposed kernel of the lhs-dilated form.
    func temporaryElements(threads: Int) -> Int {
        if isTrivial { return 0 }
        func workers(_ items: Int) -> Int { max(1, min(threads, items)) }
        switch path {
        case .forward:
            let t = forwardTiling
            return workers(t.items) * max(1, t.scratch)
        case .kernelGradient:
            let t = kernelGradientTiling
            return workers(t.items) * (max(1, t.scratch) + cout * batch * outCount)
        case .lhsDilated:
            let t = lhsDilatedTiling
            return workers(t.items) * max(1, t.scratch) + cout * kCount * cinG
        }
    }
}

/// Bytes of temporary memory (im2col scratch, accumulators) the convolution
/// kernel allocates for these shapes with `threads` threads; 16-bit floats
/// count as the float32 they are widened to (the widened operands themselves
/// are not counted).
package func plannedConvolutionScratchBytes(
    lhs: [Int], rhs: [Int], out: [Int], parameters: ConvolutionParameters, dtype: DType, threads: Int
) -> Int {
    let element = dtype == .float64 ? 8 : 4
    let scratchElements = max(1, convolutionScratchBytes / element)
    if let form = parameters.channelsLastForm {
        let plan = ChannelsLastPlan(form, lhs: lhs, rhs: rhs, out: out, parameters, scratchElements: scratchElements)
        return plan.temporaryElements(threads: threads) * element
    }
    // Other layouts: the gemm's scratch (the transposed operand copies are not counted).
    let dn = parameters.dimensionNumbers
    // A kernel with its first two dimensions swapped is read in place by the
    // kernel-gradient form (see evalConvolution): one kernel channel per gemm.
    let plan = ConvolutionPlan(
        lhs: ConvolutionDimensionNumbers.logical(lhs, dn.lhsSpec), rhs: ConvolutionDimensionNumbers.logical(rhs, dn.rhsSpec),
        out: ConvolutionDimensionNumbers.logical(out, dn.outSpec), parameters, scratchElements: scratchElements,
        kernelChannelsAdjacent: !(swappedFirstTwo(dn)?.rhs ?? false))
    return plan.temporaryElements(threads: threads) * element
}
