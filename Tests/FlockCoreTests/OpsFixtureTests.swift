// Oracle tests: every case of Fixtures/ops.json (generated from JAX by
// tools/make_fixtures.py) runs through Flock's API and must match JAX.
// A case whose `fn` has no entry in `fixtureOps` fails.

import Testing
@testable import FlockCore

typealias FixtureOp = @Sendable (_ args: [Tensor], _ params: FixtureParams) throws -> [Tensor]

@Test func fixturesLoad() throws {
    let cases = try FixtureCase.loaded.get()
    #expect(cases.count > 500, "ops.json holds only \(cases.count) cases")
    #expect(Set(cases.map(\.name)).count == cases.count, "case names must be unique")
}

@Test(arguments: FixtureCase.all.filter { $0.fn != "repr" })
func matchesJAX(_ c: FixtureCase) throws {
    guard let op = fixtureOps[c.fn] else {
        Issue.record("\(c.name): no Swift mapping for fn \"\(c.fn)\" (add it to fixtureOps)")
        return
    }
    let args = try c.args.map { try $0.tensor() }
    let outputs = try catchingErrors { try op(args, c.params) }
    guard outputs.count == c.out.count else {
        Issue.record("\(c.name): \(outputs.count) outputs, JAX has \(c.out.count)")
        return
    }
    for (i, (got, want)) in zip(outputs, c.out).enumerated() {
        try expectMatches(got, want, rtol: c.rtol, atol: c.atol, label: "\(c.name) out[\(i)]")
    }
}

@Test(arguments: FixtureCase.all.filter { $0.fn == "repr" })
func printsLikeJAX(_ c: FixtureCase) throws {
    let x = try c.args[0].tensor()
    let expected = try c.params.string("expected")
    #expect(x.description == expected, "\(c.name)")
}

// MARK: - fn name → Flock

private func unary(_ f: @escaping @Sendable (Tensor) -> Tensor) -> FixtureOp { { args, _ in [f(args[0])] } }
private func binary(_ f: @escaping @Sendable (Tensor, Tensor) -> Tensor) -> FixtureOp { { args, _ in [f(args[0], args[1])] } }

private func reduction(_ f: @escaping @Sendable (Tensor, [Int]?, Bool) -> Tensor) -> FixtureOp {
    { args, p in [f(args[0], try p.optionalInts("axes"), try p.bool("keepdims"))] }
}

private func indexItems(_ p: FixtureParams, _ arrays: ArraySlice<Tensor>) throws -> [TensorIndex] {
    guard case .array(let items) = p.values["items"] ?? .null else { throw FixtureError("index: missing items") }
    return try items.map { item in
        guard case .object(let o) = item, case .string(let kind) = o["kind"] ?? .null else {
            throw FixtureError("index: bad item \(item)")
        }
        let fields = FixtureParams(values: o)
        switch kind {
        case "index": return .index(try fields.int("i"))
        case "slice":
            let step = try fields.optionalInt("step") ?? 1
            return .slice(start: try fields.optionalInt("start"), stop: try fields.optionalInt("stop"), step: step)
        case "newaxis": return .insertAxis
        case "ellipsis": return .remainingAxes
        case "array": return .array(arrays[arrays.startIndex + (try fields.int("arg"))])
        default: throw FixtureError("index: unknown item kind \(kind)")
        }
    }
}

private func convolutionPadding(_ p: FixtureParams) throws -> ConvolutionPadding {
    if case .string(let s) = p.values["padding"] ?? .null {
        switch s {
        case "SAME": return .same
        case "VALID": return .valid
        default: throw FixtureError("conv: unknown padding \(s)")
        }
    }
    return .explicit(try p.intLists("padding"))
}

let fixtureOps: [String: FixtureOp] = [
    // Unary elementwise.
    "neg": unary { -$0 },
    "exp": unary(exp), "log": unary(log), "log1p": unary(log1p), "expm1": unary(expm1),
    "sin": unary(sin), "cos": unary(cos), "tan": unary(tan), "tanh": unary(tanh),
    "sigmoid": unary(sigmoid), "sqrt": unary(sqrt), "rsqrt": unary(rsqrt), "abs": unary(abs),
    "sign": unary(sign), "floor": unary(floor), "ceil": unary(ceil), "round": unary(round),
    "erf": unary(erf), "erf_inv": unary(erfInv), "isfinite": unary(isFinite), "isnan": unary(isNaN),
    "isinf": unary(isInf), "square": unary(square), "reciprocal": unary(reciprocal),
    "log2": unary(log2), "log10": unary(log10), "logical_not": unary(logicalNot),
    "bitwise_not": unary(bitwiseNot),

    // Binary elementwise.
    "add": binary(+), "subtract": binary(-), "multiply": binary(*), "divide": binary(/),
    "remainder": binary(remainder), "floor_divide": binary(floorDivide), "power": binary(pow),
    "maximum": binary(maximum), "minimum": binary(minimum), "arctan2": binary(atan2),
    "equal": binary(.==), "not_equal": binary(.!=), "less": binary(.<), "less_equal": binary(.<=),
    "greater": binary(.>), "greater_equal": binary(.>=),
    "bitwise_and": binary(.&), "bitwise_or": binary(.|), "bitwise_xor": binary(.^),
    "left_shift": binary(shiftLeft), "right_shift": binary(shiftRight),
    "shift_right_logical": binary(shiftRightLogical),
    "lax.div": binary { bind1(.binary(.div), $0, $1) },
    "lax.rem": binary { bind1(.binary(.rem), $0, $1) },

    // Selection and conversion.
    "where": { a, _ in [`where`(a[0], a[1], a[2])] },
    "lax.select": { a, _ in [select(a[0], a[1], a[2])] },
    "lax.clamp": { a, _ in [bind1(.clamp, a[0], a[1], a[2])] },
    "clip": { a, p in
        switch try p.string("bounds") {
        case "both": return [clip(a[0], min: a[1], max: a[2])]
        case "min": return [clip(a[0], min: a[1])]
        case "max": return [clip(a[0], max: a[1])]
        case let b: throw FixtureError("clip: unknown bounds \(b)")
        }
    },
    "astype": { a, p in [a[0].converted(to: try p.dtype("dtype"))] },
    "lax.bitcast_convert_type": { a, p in [a[0].bitcast(to: try p.dtype("dtype"))] },

    // Reductions.
    "sum": reduction { $0.sum(axes: $1, keepDims: $2) },
    "prod": reduction { $0.prod(axes: $1, keepDims: $2) },
    "max": reduction { $0.max(axes: $1, keepDims: $2) },
    "min": reduction { $0.min(axes: $1, keepDims: $2) },
    "mean": reduction { $0.mean(axes: $1, keepDims: $2) },
    "all": reduction { $0.all(axes: $1, keepDims: $2) },
    "any": reduction { $0.any(axes: $1, keepDims: $2) },
    "var": { a, p in [a[0].variance(axes: try p.optionalInts("axes"), ddof: try p.int("ddof"), keepDims: try p.bool("keepdims"))] },
    "std": { a, p in
        [a[0].standardDeviation(axes: try p.optionalInts("axes"), ddof: try p.int("ddof"), keepDims: try p.bool("keepdims"))]
    },
    "lax.reduce_max": { a, p in [bind1(.reduce(.max, axes: try p.ints("axes")), a[0])] },
    "lax.reduce_min": { a, p in [bind1(.reduce(.min, axes: try p.ints("axes")), a[0])] },
    "argmax": { a, p in [a[0].argmax(axis: try p.optionalInt("axis"), keepDims: try p.bool("keepdims"))] },
    "argmin": { a, p in [a[0].argmin(axis: try p.optionalInt("axis"), keepDims: try p.bool("keepdims"))] },
    "cumsum": { a, p in [a[0].cumsum(axis: try p.int("axis"))] },
    "lax.cumsum": { a, p in [a[0].cumsum(axis: try p.int("axis"), reverse: try p.bool("reverse"))] },

    // Shapes.
    "broadcast_to": { a, p in [a[0].broadcast(to: try p.ints("shape"))] },
    "reshape": { a, p in [a[0].reshaped(try p.ints("shape"))] },
    "transpose": { a, p in [a[0].transposed(try p.optionalInts("axes"))] },
    "flip": { a, p in [a[0].flipped(try p.optionalInts("axes"))] },
    "squeeze": { a, p in [a[0].squeezed(try p.optionalInts("axes"))] },
    "expand_dims": { a, p in [a[0].expandingDims(try p.int("axis"))] },
    "swapaxes": { a, p in [a[0].swappedAxes(try p.int("axis1"), try p.int("axis2"))] },
    "moveaxis": { a, p in [a[0].movedAxis(from: try p.int("source"), to: try p.int("destination"))] },
    "index": { a, p in [a[0].index(try indexItems(p, a.dropFirst()))] },
    "take": { a, p in [take(a[0], a[1], axis: try p.int("axis"))] },
    "concatenate": { a, p in [concatenate(a, axis: try p.int("axis"))] },
    "stack": { a, p in [stack(a, axis: try p.int("axis"))] },
    "split": { a, p in
        p.has("sections")
            ? split(a[0], sections: try p.int("sections"), axis: try p.int("axis"))
            : split(a[0], indices: try p.ints("indices"), axis: try p.int("axis"))
    },
    "pad": { a, p in [pad(a[0], try p.intLists("widths").map { ($0[0], $0[1]) }, value: try p.double("value"))] },
    "lax.pad": { a, p in
        [bind1(.pad(low: try p.ints("low"), high: try p.ints("high"), interior: try p.ints("interior")), a[0], a[1])]
    },
    "lax.slice": { a, p in
        [bind1(.slice(start: try p.ints("start"), limit: try p.ints("limit"), strides: try p.ints("strides")), a[0])]
    },
    "lax.dynamic_slice": { a, p in bind(.dynamicSlice(sizes: try p.ints("sizes")), a) },
    "lax.dynamic_update_slice": { a, _ in bind(.dynamicUpdateSlice, a) },

    // Creation.
    "lax.iota": { _, p in [bind1(.iota(try p.dtype("dtype"), shape: try p.ints("shape"), dimension: try p.int("dimension")))] },
    "arange": { _, p in
        guard p.has("start") else { return [arange(try p.int("stop"))] }
        return [arange(try p.double("start"), try p.double("stop"), step: try p.double("step"), dtype: try p.optionalDType("dtype"))]
    },
    "linspace": { _, p in
        [linspace(try p.double("start"), try p.double("stop"), count: try p.int("num"), endpoint: try p.bool("endpoint"),
                  dtype: try p.dtype("dtype"))]
    },
    "eye": { _, p in [eye(try p.int("n"), try p.optionalInt("m"), k: try p.int("k"), dtype: try p.dtype("dtype"))] },
    "zeros": { _, p in [zeros(try p.ints("shape"), dtype: try p.dtype("dtype"))] },
    "ones": { _, p in [ones(try p.ints("shape"), dtype: try p.dtype("dtype"))] },
    "full": { _, p in [full(try p.ints("shape"), try p.double("value"), dtype: try p.dtype("dtype"))] },

    // Contractions and convolutions.
    "matmul": binary(matmul), "dot": binary(dot), "outer": binary(outer), "inner": binary(inner),
    "lax.dot_general": { a, p in
        [dotGeneral(a[0], a[1], DotDimensionNumbers(
            lhsContracting: try p.ints("lhs_contracting"), rhsContracting: try p.ints("rhs_contracting"),
            lhsBatch: try p.ints("lhs_batch"), rhsBatch: try p.ints("rhs_batch")))]
    },
    "lax.conv_general_dilated": { a, p in
        [convolution(a[0], a[1], strides: try p.ints("strides"), padding: try convolutionPadding(p),
                     lhsDilation: try p.ints("lhs_dilation"), rhsDilation: try p.ints("rhs_dilation"),
                     featureGroupCount: try p.int("feature_group_count"))]
    },

    // Sorting.
    "sort": { a, p in [sort(a[0], axis: try p.int("axis"))] },
    "argsort": { a, p in [argsort(a[0], axis: try p.int("axis"), descending: try p.bool("descending"))] },
    "lax.sort": { a, p in sort(a, axis: try p.int("dimension"), numKeys: try p.int("num_keys")) },

    // Gather and scatter with explicit dimension numbers.
    "lax.gather": { a, p in
        let dn = GatherDimensionNumbers(
            offsetDims: try p.ints("offset_dims"), collapsedSliceDims: try p.ints("collapsed_slice_dims"),
            startIndexMap: try p.ints("start_index_map"),
            operandBatchingDims: try p.optionalInts("operand_batching_dims") ?? [],
            startIndicesBatchingDims: try p.optionalInts("start_indices_batching_dims") ?? [])
        return [bind1(.gather(dn, sliceSizes: try p.ints("slice_sizes"), mode: .clip, fillValue: nil), a[0], a[1])]
    },
    "lax.scatter_add": { a, p in
        let dn = ScatterDimensionNumbers(
            updateWindowDims: try p.ints("update_window_dims"), insertedWindowDims: try p.ints("inserted_window_dims"),
            scatterDimsToOperandDims: try p.ints("scatter_dims_to_operand_dims"),
            operandBatchingDims: try p.optionalInts("operand_batching_dims") ?? [],
            scatterIndicesBatchingDims: try p.optionalInts("scatter_indices_batching_dims") ?? [])
        return [bind1(.scatter(.add, dn, mode: .fillOrDrop), a[0], a[1], a[2])]
    },

    // Neural-network functions.
    "softmax": { a, p in [softmax(a[0], axis: try p.int("axis"))] },
    "log_softmax": { a, p in [logSoftmax(a[0], axis: try p.int("axis"))] },
    "logsumexp": { a, p in [logSumExp(a[0], axes: try p.optionalInts("axes"), keepDims: try p.bool("keepdims"))] },
    "relu": unary(relu), "softplus": unary(softplusValue), "silu": unary(silu),
    "one_hot": { a, p in [oneHot(a[0], numClasses: try p.int("num_classes"), dtype: try p.dtype("dtype"))] },
]

/// The value of FlockTransforms' `softplus` (logAddExp(x, 0), which needs a
/// custom derivative and so lives there): the same primitives in the same
/// order, for this Core-only target. KinkTests checks the function itself.
private func softplusValue(_ x: Tensor) -> Tensor {
    let zero = Tensor(0, dtype: x.dtype, weakType: true)
    let delta = x - zero
    return `where`(delta .!= delta, x + zero, maximum(x, zero) + log1p(exp(-abs(delta))))
}
