@_spi(Engine) import FlockCore

// Helpers shared by the JVP, transpose and batching rules (and the control-flow
// functions that build closed jaxprs). Operations on tensors are in `lax`
// (FlockCore/Lax); what is here is about symbolic zeros, index bookkeeping and
// jaxpr signatures.

// MARK: - Symbolic zeros

/// Zeros with the shape and dtype of `aval`.
func zeros(like aval: AbstractValue) -> Tensor { full(aval.shape, 0, dtype: aval.dtype) }

/// `t`, or zeros like `aval` for a symbolic zero.
func instantiate(_ t: Tensor?, _ aval: AbstractValue) -> Tensor { t ?? zeros(like: aval) }

// MARK: - Gather and scatter

/// The gather that reads back, for each update element, the operand element it lands on.
func inverseGatherDimensions(_ dn: ScatterDimensionNumbers) -> GatherDimensionNumbers {
    GatherDimensionNumbers(
        offsetDims: dn.updateWindowDims, collapsedSliceDims: dn.insertedWindowDims,
        startIndexMap: dn.scatterDimsToOperandDims, operandBatchingDims: dn.operandBatchingDims,
        startIndicesBatchingDims: dn.scatterIndicesBatchingDims)
}

/// Slice sizes of ``inverseGatherDimensions(_:)``: the update window's extents.
func inverseSliceSizes(_ dn: ScatterDimensionNumbers, _ operandShape: [Int], _ updatesShape: [Int]) -> [Int] {
    let windowOperandDims = (0..<operandShape.count).filter { !dn.insertedWindowDims.contains($0) && !dn.operandBatchingDims.contains($0) }
    var sliceSizes = [Int](repeating: 1, count: operandShape.count)
    for (k, od) in windowOperandDims.enumerated() { sliceSizes[od] = updatesShape[dn.updateWindowDims[k]] }
    return sliceSizes
}

// MARK: - Closed jaxprs

/// Inserts unused inputs so jaxprs built separately share one signature.
func withExtraInputs(_ j: Jaxpr, before: [AbstractValue], after: [AbstractValue] = []) -> Jaxpr {
    if before.isEmpty && after.isEmpty { return j }
    // Negative ids cannot collide with the tracer-assigned (positive) ones.
    let minID = (j.inputs + j.equations.flatMap(\.outputs)).map(\.id).min() ?? 0
    var next = Swift.min(minID, 0) - 1
    func dummy(_ a: AbstractValue) -> Var {
        defer { next -= 1 }
        return Var(id: next, aval: a)
    }
    let pre = before.map(dummy), post = after.map(dummy)
    return Jaxpr(inputs: pre + j.inputs + post, constVars: j.constVars, consts: j.consts, equations: j.equations, outputs: j.outputs)
}

/// Gives closed jaxprs with different closure constants one shared input list:
/// returns jaxprs taking `allConsts + original inputs`.
func unifyClosures(_ parts: [(jaxpr: Jaxpr, constArgs: [Tensor])]) -> ([Jaxpr], [Tensor]) {
    let allConsts = parts.flatMap(\.constArgs)
    var offset = 0
    var out: [Jaxpr] = []
    for part in parts {
        let before = allConsts[..<offset].map(\.aval)
        let after = allConsts[(offset + part.constArgs.count)...].map(\.aval)
        // part.jaxpr inputs are (own consts) + (original inputs); put other consts around own ones.
        let own = Array(part.jaxpr.inputs.prefix(part.constArgs.count))
        let rest = Array(part.jaxpr.inputs.dropFirst(part.constArgs.count))
        let tmp = Jaxpr(inputs: own, constVars: [], consts: [], equations: [], outputs: [])
        let padded = withExtraInputs(tmp, before: Array(before), after: Array(after))
        out.append(Jaxpr(inputs: padded.inputs + rest, constVars: part.jaxpr.constVars, consts: part.jaxpr.consts,
                         equations: part.jaxpr.equations, outputs: part.jaxpr.outputs))
        offset += part.constArgs.count
    }
    return (out, allConsts)
}
