/// The eval table: runs each primitive's CPU kernel on concrete arrays whose
/// shapes the shape rule has already checked (`outAvals` is its result).
extension Primitive {
    public func evaluate(_ x: [DenseArray], outAvals: [AbstractValue]) throws -> [DenseArray] {
        let shape = outAvals[0].shape
        switch self {
        case .unary(let op): return [evalUnary(op, x[0])]
        case .binary(let op): return [evalBinary(op, x[0], x[1], shape: shape)]
        case .compare(let op): return [evalCompare(op, x[0], x[1], shape: shape)]
        case .select: return [evalSelect(x[0], x[1], x[2])]
        case .clamp: return [evalClamp(x[0], x[1], x[2])]
        case .convert(let dtype, _): return [convertArray(x[0], to: dtype)]
        case .bitcast(let dtype): return [bitcastArray(x[0], to: dtype)]
        case .reduce(let op, let axes): return [evalReduce(op, x[0], axes: axes, shape: shape)]
        case .argReduce(let op, let axis): return [evalArgReduce(op, x[0], axis: axis, shape: shape)]
        case .broadcastInDim(let s, let dims): return [evalBroadcastInDim(x[0], shape: s, dims: dims)]
        case .reshape(let s): return [x[0].reshaped(s)]
        case .transpose(let perm): return [evalTranspose(x[0], perm: perm)]
        case .reverse(let axes): return [evalReverse(x[0], axes: axes)]
        case .slice(let start, let limit, let strides):
            return [evalSlice(x[0], start: start, limit: limit, steps: strides, shape: shape)]
        case .dynamicSlice(let sizes): return [evalDynamicSlice(x[0], starts: Array(x[1...]), sizes: sizes)]
        case .dynamicUpdateSlice: return [evalDynamicUpdateSlice(x[0], x[1], starts: Array(x[2...]))]
        case .gather(let dn, let sliceSizes):
            return [evalGather(x[0], x[1], dn: dn, sliceSizes: sliceSizes, shape: shape)]
        case .scatterAdd(let dn): return [evalScatterAdd(x[0], x[1], x[2], dn: dn)]
        case .concatenate(let axis): return [evalConcatenate(x, axis: axis, shape: shape)]
        case .pad(let low, let high, let interior):
            return [evalPad(x[0], value: x[1], low: low, high: high, interior: interior, shape: shape)]
        case .iota(let dtype, let s, let dimension): return [evalIota(dtype, shape: s, dimension: dimension)]
        case .dotGeneral(let dn): return [evalDotGeneral(x[0], x[1], dn: dn, shape: shape)]
        case .convolution(let p): return [evalConvolution(x[0], x[1], p: p, shape: shape)]
        case .cumsum(let axis, let reverse): return [evalCumsum(x[0], axis: axis, reverse: reverse)]
        case .sort(let dimension, let numKeys): return evalSort(x, dimension: dimension, numKeys: numKeys)
        case .threefry2x32: return evalThreefry(x[0], x[1], x[2], x[3])
        }
    }
}
