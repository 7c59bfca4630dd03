// Which kernel a convolution's layout (dimension numbers) takes. The gemm
// formulations of Convolution+Gemm.swift read NC… / OI… operands, those of
// Convolution+ChannelsLast.swift N…C images (a channels-last forward
// convolution and its kernel gradient); other layouts are transposed to
// NC… / OI… (and the output back).

/// The convolution of `l` and `r` (any dimension numbers) into an array of `shape`.
func evalConvolution(_ l: DenseArray, _ r: DenseArray, p: ConvolutionParameters, shape: [Int]) -> DenseArray {
    if p.batchGroupCount > 1 {
        return withChannelsFirst(l, r, p, shape) { l, r, p, shape in
            let (lhs, q) = batchGroupsAsFeatureGroups(l, p)
            return evalConvolution(lhs, r, p: q, shape: shape)
        }
    }
    if let form = p.channelsLastForm {
        let out = DenseArray(uninitializedShape: shape, dtype: l.dtype)
        switch l.dtype {
        case .float32: runChannelsLastConvolution(Float.self, form, l, r, p, out)
        case .float64: runChannelsLastConvolution(Double.self, form, l, r, p, out)
        case .int32, .uint32, .bool, .int64, .uint64, .int8, .uint8, .int16, .uint16, .float16, .bfloat16:
            unreachableConvolutionDType(l.dtype)
        }
        return out
    }
    if let swapped = swappedFirstTwo(p.dimensionNumbers) {
        // NC… / CN… operands (the kernel-gradient conv of an NCHW convolution
        // swaps batch and features on all three): the kernel-gradient
        // formulation reads them in place, with no transposed copies.
        var q = p
        q.dimensionNumbers = .channelsFirst(spatialRank: p.windowStrides.count)
        let out = DenseArray(uninitializedShape: shape, dtype: l.dtype)
        switch l.dtype {
        case .float32:
            let gemm = ConvolutionGemm<Float>(l, r, q, out, swapped: swapped)
            if gemm.swappedOperandsSupported { gemm.run(); return out }
        case .float64:
            let gemm = ConvolutionGemm<Double>(l, r, q, out, swapped: swapped)
            if gemm.swappedOperandsSupported { gemm.run(); return out }
        case .int32, .uint32, .bool, .int64, .uint64, .int8, .uint8, .int16, .uint16, .float16, .bfloat16:
            unreachableConvolutionDType(l.dtype)
        }
    }
    return withChannelsFirst(l, r, p, shape) { l, r, p, shape in
        let out = DenseArray(uninitializedShape: shape, dtype: l.dtype)
        switch l.dtype {
        case .float32: ConvolutionGemm<Float>(l, r, p, out).run()
        case .float64: ConvolutionGemm<Double>(l, r, p, out).run()
        case .int32, .uint32, .bool, .int64, .uint64, .int8, .uint8, .int16, .uint16, .float16, .bfloat16:
            unreachableConvolutionDType(l.dtype)
        }
        return out
    }
}

/// Runs `body` on channels-first operands (`NC…`, `OI…`, output `NC…`):
/// other layouts are transposed to it, and the result back to `p`'s output layout.
func withChannelsFirst(
    _ l: DenseArray, _ r: DenseArray, _ p: ConvolutionParameters, _ shape: [Int],
    _ body: (DenseArray, DenseArray, ConvolutionParameters, [Int]) -> DenseArray
) -> DenseArray {
    let dn = p.dimensionNumbers
    if dn.isChannelsFirst { return body(l, r, p, shape) }
    var q = p
    q.dimensionNumbers = .channelsFirst(spatialRank: p.windowStrides.count)
    func canonical(_ x: DenseArray, _ spec: [Int]) -> DenseArray {
        spec == Array(spec.indices) ? x : evalTranspose(x, perm: spec)
    }
    let y = body(canonical(l, dn.lhsSpec), canonical(r, dn.rhsSpec), q,
                 ConvolutionDimensionNumbers.logical(shape, dn.outSpec))
    if dn.outSpec == Array(dn.outSpec.indices) { return y }
    // Output dimension outSpec[i] is logical dimension i.
    var inverse = dn.outSpec
    for (i, d) in dn.outSpec.enumerated() { inverse[d] = i }
    return evalTranspose(y, perm: inverse)
}

/// For dimension numbers whose specs are each NC… or CN… (the first two
/// dimensions swapped, the spatial ones in order) but not all NC…: which of
/// lhs, kernel and output are swapped. Nil for any other layout.
func swappedFirstTwo(_ dn: ConvolutionDimensionNumbers) -> (lhs: Bool, rhs: Bool, out: Bool)? {
    func swapped(_ spec: [Int]) -> Bool? {
        let identity = Array(spec.indices)
        if spec == identity { return false }
        return spec == [1, 0] + identity.dropFirst(2) ? true : nil
    }
    guard !dn.isChannelsFirst, let l = swapped(dn.lhsSpec), let r = swapped(dn.rhsSpec), let o = swapped(dn.outSpec) else { return nil }
    return (l, r, o)
}

/// A batch-grouped convolution as a feature-grouped one (channels-first):
/// lhs [N, C, sp…] → [G, N/G, C, sp…] → [N/G, G, C, sp…] → [N/G, G·C, sp…],
/// so that feature group g reads batch group g; the kernel and the output
/// are unchanged.
func batchGroupsAsFeatureGroups(_ l: DenseArray, _ p: ConvolutionParameters) -> (DenseArray, ConvolutionParameters) {
    let g = p.batchGroupCount, n = l.shape[0], c = l.shape[1], sp = Array(l.shape[2...])
    let moved = evalTranspose(l.reshaped([g, n / g, c] + sp), perm: [1, 0] + Array(2..<(3 + sp.count)))
    var q = p
    q.batchGroupCount = 1
    q.featureGroupCount = g
    return (moved.reshaped([n / g, g * c] + sp), q)
}
