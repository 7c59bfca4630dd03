// Direct N-d convolution (XLA conv_general_dilated semantics, NC… / OI…
// layout; other layouts are transposed to it): strides, low/high padding, lhs (input) and rhs (kernel) dilation,
// feature groups. Output [N, O, spatial…]. It is the oracle the gemm paths
// (Convolution+Gemm.swift) are tested against, and the kernel of the
// configurations those paths do not take.

private func convTyped<T: KernelFloat>(_ l: DenseArray, _ r: DenseArray, _ p: ConvolutionParameters, _ shape: [Int], _: T.Type) -> DenseArray {
    let out = DenseArray(uninitializedShape: shape, dtype: l.dtype)
    let nsp = l.rank - 2
    let cin = l.shape[1], cout = r.shape[0], cinG = r.shape[1]
    let groups = p.featureGroupCount, coutG = cout / groups
    let inSp = Array(l.shape[2...]), kSp = Array(r.shape[2...]), outSp = Array(shape[2...])
    let inCount = inSp.reduce(1, *), kCount = kSp.reduce(1, *), outCount = outSp.reduce(1, *)
    let pl = l.pointer(T.self), pr = r.pointer(T.self), po = out.mutablePointer(T.self)
    // For every (output position, kernel position) pair, the input position or -1.
    var table = [Int](repeating: -1, count: outCount * kCount)
    var oi = [Int](repeating: 0, count: nsp), ki = [Int](repeating: 0, count: nsp)
    let inStrides = rowMajorStrides(inSp)
    for o in 0..<outCount {
        var rem = o
        for d in stride(from: nsp - 1, through: 0, by: -1) { oi[d] = rem % outSp[d]; rem /= outSp[d] }
        for kk in 0..<kCount {
            var remk = kk
            for d in stride(from: nsp - 1, through: 0, by: -1) { ki[d] = remk % kSp[d]; remk /= kSp[d] }
            var flat = 0
            var valid = true
            for d in 0..<nsp {
                // Position in the dilated, padded input.
                let pos = oi[d] * p.windowStrides[d] + ki[d] * p.rhsDilation[d] - p.padding[d][0]
                if pos < 0 || pos % p.lhsDilation[d] != 0 { valid = false; break }
                let q = pos / p.lhsDilation[d]
                if q >= inSp[d] { valid = false; break }
                flat += q * inStrides[d]
            }
            if valid { table[o * kCount + kk] = flat }
        }
    }
    // Batch groups: output feature group gb (of cout / batchGroups) reads lhs
    // image gb · outBatch + nb.
    let batchGroups = p.batchGroupCount, outBatch = shape[0], coutB = cout / batchGroups
    for nb in 0..<outBatch {
        for oc in 0..<cout {
            let g = oc / coutG
            let image = (oc / coutB) * outBatch + nb
            let dst = (nb * cout + oc) * outCount
            for o in 0..<outCount {
                var acc: T = 0
                for c in 0..<cinG {
                    let src = (image * cin + g * cinG + c) * inCount
                    let w = (oc * cinG + c) * kCount
                    for kk in 0..<kCount {
                        let q = table[o * kCount + kk]
                        if q >= 0 { acc += pl[src + q] * pr[w + kk] }
                    }
                }
                po[dst + o] = acc
            }
        }
    }
    return out
}

/// The direct loop, kept as the tests' oracle for the gemm paths (any dimension numbers).
func convolutionReference(_ l: DenseArray, _ r: DenseArray, p: ConvolutionParameters, shape: [Int]) -> DenseArray {
    withChannelsFirst(l, r, p, shape) { l, r, p, shape in
        switch l.dtype {
        case .float32: convTyped(l, r, p, shape, Float.self)
        case .float64: convTyped(l, r, p, shape, Double.self)
        case .int32, .uint32, .bool, .int64, .uint64, .int8, .uint8, .int16, .uint16, .float16, .bfloat16:
            unreachableConvolutionDType(l.dtype)
        }
    }
}

/// The convolution kernels' dtype switch past the shape rule, which rejects
/// non-float operands, and the widening of 16-bit floats: a broken invariant,
/// never a user's mistake.
func unreachableConvolutionDType(_ dtype: DType) -> Never {
    fatalError("internal: a \(dtype) operand reached a convolution kernel; the shape rule admits float32 and float64 only (16-bit floats are widened)")
}
