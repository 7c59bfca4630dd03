/// Shape and dtype rules: the abstract evaluation table.
///
/// Each rule checks its operands and says what the result looks like; errors name
/// the operation, the operands' shapes and what was expected.
extension Primitive {
    /// The results' abstract values for operands `inputs`, after checking the
    /// operands and that every result's size fits in 64 bits
    /// (``validateShape(_:dtype:operation:)``: a shape too large is an error here,
    /// not an overflow in a kernel).
    package func abstractEval(_ inputs: [AbstractValue]) throws -> [AbstractValue] {
        let outs = try shapeRule(inputs)
        // An output of an operand's shape and at most its element size is
        // valid as the operand is (the common elementwise case: no check).
        for o in outs where !inputs.contains(where: { $0.shape == o.shape && $0.dtype.byteSize >= o.dtype.byteSize }) {
            try validateShape(o.shape, dtype: o.dtype, operation: name)
        }
        return outs
    }

    private func shapeRule(_ inputs: [AbstractValue]) throws -> [AbstractValue] {
        func fail(_ message: String) -> FlockError { FlockError("\(name): \(message)") }
        func expectCount(_ n: Int) throws {
            if inputs.count != n { throw fail("expected \(n) operands, got \(inputs.count)") }
        }
        func shapes() -> String { inputs.map { "\($0.shape)" }.joined(separator: ", ") }

        switch self {
        case .unary(let op):
            try expectCount(1)
            let x = inputs[0]
            switch op {
            case .isFinite:
                guard x.dtype.isFloatingPoint else { throw fail("expected a floating-point operand, got \(x.dtype)") }
                return [AbstractValue(shape: x.shape, dtype: .bool)]
            case .not:
                guard !x.dtype.isFloatingPoint else { throw fail("expected a bool or integer operand, got \(x.dtype)") }
            case .neg, .abs, .sign:
                guard x.dtype != .bool else { throw fail("expected a numeric operand, got bool") }
            case .exp, .log, .log1p, .expm1, .sin, .cos, .tan, .tanh, .logistic, .sqrt, .rsqrt,
                .floor, .ceil, .round, .erf, .erfc, .erfInv:
                guard x.dtype.isFloatingPoint else {
                    throw fail("expected a floating-point operand, got \(x.dtype) \(x.shape)")
                }
            }
            return [x]

        case .binary(let op):
            try expectCount(2)
            let (a, b) = (inputs[0], inputs[1])
            guard a.dtype == b.dtype else {
                throw fail("operands must have the same dtype, got \(a.dtype) \(a.shape) and \(b.dtype) \(b.shape)")
            }
            switch op {
            case .and, .or, .xor:
                guard !a.dtype.isFloatingPoint else { throw fail("expected bool or integer operands, got \(a.dtype)") }
            case .shiftLeft, .shiftRightLogical:
                guard a.dtype.isInteger else { throw fail("expected integer operands, got \(a.dtype)") }
            case .atan2:
                guard a.dtype.isFloatingPoint else { throw fail("expected floating-point operands, got \(a.dtype)") }
            case .add, .sub, .mul, .div, .rem, .pow, .max, .min:
                if a.dtype == .bool && op != .max && op != .min && op != .add && op != .mul {
                    throw fail("not defined for bool operands")
                }
            }
            return [AbstractValue(shape: try elementwiseShape(a, b), dtype: a.dtype, weakType: a.weakType && b.weakType)]

        case .compare:
            try expectCount(2)
            let (a, b) = (inputs[0], inputs[1])
            guard a.dtype == b.dtype else {
                throw fail("operands must have the same dtype, got \(a.dtype) \(a.shape) and \(b.dtype) \(b.shape)")
            }
            return [AbstractValue(shape: try elementwiseShape(a, b), dtype: .bool)]

        case .select:
            try expectCount(3)
            let (p, t, f) = (inputs[0], inputs[1], inputs[2])
            guard p.dtype == .bool else { throw fail("predicate must be bool, got \(p.dtype) \(p.shape)") }
            guard t.dtype == f.dtype else {
                throw fail("branches must have the same dtype, got \(t.dtype) \(t.shape) and \(f.dtype) \(f.shape)")
            }
            guard t.shape == f.shape else { throw fail("branches must have the same shape, got \(t.shape) and \(f.shape)") }
            guard p.shape.isEmpty || p.shape == t.shape else {
                throw fail("predicate shape \(p.shape) must be [] or equal the branches' shape \(t.shape)")
            }
            return [AbstractValue(shape: t.shape, dtype: t.dtype, weakType: t.weakType && f.weakType)]

        case .clamp:
            try expectCount(3)
            let (lo, x, hi) = (inputs[0], inputs[1], inputs[2])
            guard lo.dtype == x.dtype, hi.dtype == x.dtype else {
                throw fail("operands must have the same dtype, got \(lo.dtype), \(x.dtype), \(hi.dtype)")
            }
            for (n, v) in [("min", lo), ("max", hi)] where !(v.shape.isEmpty || v.shape == x.shape) {
                throw fail("\(n) shape \(v.shape) must be [] or equal the operand's shape \(x.shape)")
            }
            return [x]

        case .fma:
            try expectCount(3)
            guard inputs[1].dtype == inputs[0].dtype, inputs[2].dtype == inputs[0].dtype, inputs[0].dtype.isFloatingPoint else {
                throw fail("expected floating-point operands of one dtype, got \(inputs.map(\.dtype))")
            }
            let shape = inputs.first(where: { !$0.shape.isEmpty })?.shape ?? []
            for v in inputs where !(v.shape.isEmpty || v.shape == shape) {
                throw fail("operand shapes must be [] or equal, got \(shapes())")
            }
            return [AbstractValue(shape: shape, dtype: inputs[0].dtype, weakType: inputs.allSatisfy(\.weakType))]

        case .convert(let dtype, let weak):
            try expectCount(1)
            return [AbstractValue(shape: inputs[0].shape, dtype: dtype, weakType: weak)]

        case .bitcast(let dtype):
            try expectCount(1)
            guard inputs[0].dtype.byteSize == dtype.byteSize else {
                throw fail("cannot reinterpret \(inputs[0].dtype) as \(dtype): element sizes differ")
            }
            return [AbstractValue(shape: inputs[0].shape, dtype: dtype)]

        case .reduce(let op, let axes):
            try expectCount(1)
            let x = inputs[0]
            try checkAxes(axes, rank: x.rank, unique: true, fail)
            if (op == .and || op == .or) && x.dtype != .bool { throw fail("expected a bool operand, got \(x.dtype)") }
            if (op == .sum || op == .prod) && x.dtype == .bool { throw fail("expected a numeric operand, got bool") }
            let shape = x.shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
            return [AbstractValue(shape: shape, dtype: x.dtype, weakType: x.weakType)]

        case .argReduce(_, let axis):
            try expectCount(1)
            let x = inputs[0]
            try checkAxes([axis], rank: x.rank, unique: true, fail)
            if x.shape[axis] == 0 { throw fail("attempt to get \(name) of an empty sequence (shape \(x.shape), axis \(axis))") }
            var shape = x.shape
            shape.remove(at: axis)
            return [AbstractValue(shape: shape, dtype: .int32)]

        case .broadcastInDim(let shape, let dims):
            try expectCount(1)
            let x = inputs[0]
            guard dims.count == x.rank else {
                throw fail("operand \(x.shape) needs \(x.rank) broadcast dimensions, got \(dims)")
            }
            guard dims == dims.sorted(), Set(dims).count == dims.count, dims.allSatisfy({ $0 >= 0 && $0 < shape.count }) else {
                throw fail("broadcast dimensions \(dims) must be strictly increasing and within the output rank \(shape.count)")
            }
            for (i, d) in dims.enumerated() where x.shape[i] != 1 && x.shape[i] != shape[d] {
                throw fail("cannot broadcast operand \(x.shape) to \(shape): dimension \(i) (\(x.shape[i])) must be 1 or \(shape[d])")
            }
            return [AbstractValue(shape: shape, dtype: x.dtype, weakType: x.weakType)]

        case .reshape(let shape):
            try expectCount(1)
            let x = inputs[0]
            guard checkedElementCount(shape) == x.count else {
                throw fail("cannot reshape array of shape \(x.shape) (size \(x.count)) into shape \(shape)")
            }
            return [AbstractValue(shape: shape, dtype: x.dtype, weakType: x.weakType)]

        case .transpose(let perm):
            try expectCount(1)
            let x = inputs[0]
            guard perm.count == x.rank, perm.sorted() == Array(0..<x.rank) else {
                throw fail("permutation \(perm) is not a permutation of the axes of operand \(x.shape)")
            }
            return [AbstractValue(shape: perm.map { x.shape[$0] }, dtype: x.dtype, weakType: x.weakType)]

        case .reverse(let axes):
            try expectCount(1)
            try checkAxes(axes, rank: inputs[0].rank, unique: true, fail)
            return [inputs[0]]

        case .slice(let start, let limit, let strides):
            try expectCount(1)
            let x = inputs[0]
            guard start.count == x.rank, limit.count == x.rank, strides.count == x.rank else {
                throw fail("start \(start), limit \(limit) and strides \(strides) must each have \(x.rank) entries for operand \(x.shape)")
            }
            var shape: [Int] = []
            for i in 0..<x.rank {
                guard start[i] >= 0, start[i] <= limit[i], limit[i] <= x.shape[i], strides[i] >= 1 else {
                    throw fail("invalid slice of dimension \(i) of operand \(x.shape): start \(start[i]), limit \(limit[i]), stride \(strides[i])")
                }
                shape.append(limit[i] == start[i] ? 0 : (limit[i] - start[i] - 1) / strides[i] + 1)
            }
            return [AbstractValue(shape: shape, dtype: x.dtype, weakType: x.weakType)]

        case .dynamicSlice(let sizes):
            guard let x = inputs.first else { throw fail("missing operand") }
            guard inputs.count == 1 + x.rank, sizes.count == x.rank else {
                throw fail("operand \(x.shape) needs \(x.rank) start indices and slice sizes, got \(inputs.count - 1) and \(sizes)")
            }
            try checkIndexScalars(inputs.dropFirst(), fail)
            for i in 0..<x.rank where sizes[i] < 0 || sizes[i] > x.shape[i] {
                throw fail("slice size \(sizes[i]) out of range for dimension \(i) of operand \(x.shape)")
            }
            return [AbstractValue(shape: sizes, dtype: x.dtype, weakType: x.weakType)]

        case .dynamicUpdateSlice:
            guard inputs.count >= 2 else { throw fail("expected operand and update") }
            let (x, u) = (inputs[0], inputs[1])
            guard inputs.count == 2 + x.rank else {
                throw fail("operand \(x.shape) needs \(x.rank) start indices, got \(inputs.count - 2)")
            }
            guard x.dtype == u.dtype else { throw fail("update dtype \(u.dtype) must match operand dtype \(x.dtype)") }
            guard u.rank == x.rank, zip(u.shape, x.shape).allSatisfy({ $0 <= $1 }) else {
                throw fail("update \(u.shape) must have the operand's rank and fit inside operand \(x.shape)")
            }
            try checkIndexScalars(inputs.dropFirst(2), fail)
            return [x]

        case .gather(let dn, let sliceSizes, _, _):
            try expectCount(2)
            return [try gatherShape(inputs[0], inputs[1], dn, sliceSizes, fail)]

        case .scatter(_, let dn, _):
            try expectCount(3)
            try checkScatter(inputs[0], inputs[1], inputs[2], dn, fail)
            return [inputs[0]]

        case .concatenate(let axis):
            guard let first = inputs.first else { throw fail("needs at least one operand") }
            try checkAxes([axis], rank: first.rank, unique: true, fail)
            var total = 0
            for x in inputs {
                guard x.dtype == first.dtype else { throw fail("operands must share a dtype, got \(inputs.map { "\($0.dtype)" })") }
                guard x.rank == first.rank,
                    (0..<x.rank).allSatisfy({ $0 == axis || x.shape[$0] == first.shape[$0] })
                else { throw fail("operand shapes \(shapes()) must agree except along axis \(axis)") }
                total = try checkedAdd(total, x.shape[axis], "the concatenated size along axis \(axis) of \(shapes())", fail)
            }
            var shape = first.shape
            shape[axis] = total
            return [AbstractValue(shape: shape, dtype: first.dtype, weakType: inputs.allSatisfy(\.weakType))]

        case .pad(let low, let high, let interior):
            try expectCount(2)
            let (x, v) = (inputs[0], inputs[1])
            guard v.rank == 0, v.dtype == x.dtype else {
                throw fail("padding value must be a scalar of the operand's dtype \(x.dtype), got \(v.dtype) \(v.shape)")
            }
            guard low.count == x.rank, high.count == x.rank, interior.count == x.rank else {
                throw fail("low \(low), high \(high), interior \(interior) must each have \(x.rank) entries for operand \(x.shape)")
            }
            var shape: [Int] = []
            for i in 0..<x.rank {
                guard interior[i] >= 0 else { throw fail("interior padding must be non-negative, got \(interior)") }
                let what = "the padded size of dimension \(i) of operand \(x.shape) (low \(low[i]), high \(high[i]), interior \(interior[i]))"
                let spread = x.shape[i] == 0 ? 0 : try checkedMultiply(x.shape[i] - 1, interior[i], what, fail)
                let n = try checkedAdd(try checkedAdd(try checkedAdd(x.shape[i], spread, what, fail), low[i], what, fail), high[i], what, fail)
                guard n >= 0 else { throw fail("padding \(low[i]), \(high[i]) of dimension \(i) gives a negative size for operand \(x.shape)") }
                shape.append(n)
            }
            return [AbstractValue(shape: shape, dtype: x.dtype, weakType: x.weakType)]

        case .iota(let dtype, let shape, let dimension):
            try expectCount(0)
            guard dimension >= 0, dimension < shape.count, shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("dimension \(dimension) out of range for shape \(shape)")
            }
            guard dtype != .bool else { throw fail("dtype must be numeric") }
            return [AbstractValue(shape: shape, dtype: dtype)]

        case .dotGeneral(let dn):
            try expectCount(2)
            return [try dotShape(inputs[0], inputs[1], dn, fail)]

        case .convolution(let p):
            try expectCount(2)
            return [try convolutionShape(inputs[0], inputs[1], p, fail)]

        case .reduceWindow(_, let w):
            try expectCount(1)
            let x = inputs[0]
            guard x.dtype != .bool else { throw fail("expected a numeric operand, got bool \(x.shape)") }
            return [AbstractValue(shape: try windowedShape(x.shape, w, fail), dtype: x.dtype, weakType: x.weakType)]

        case .selectAndScatterAdd(let select, let w):
            try expectCount(2)
            let (source, operand) = (inputs[0], inputs[1])
            try checkWindowSelection(select, source, operand, fail)
            let expected = try windowedShape(operand.shape, w, fail)
            guard source.shape == expected else {
                throw fail("source \(source.shape) must have the windows' output shape \(expected) for operand \(operand.shape)")
            }
            return [AbstractValue(shape: operand.shape, dtype: operand.dtype)]

        case .selectAndGatherAdd(let select, let w):
            try expectCount(2)
            let (tangents, operand) = (inputs[0], inputs[1])
            try checkWindowSelection(select, tangents, operand, fail)
            guard tangents.shape == operand.shape else {
                throw fail("tangents \(tangents.shape) and operand \(operand.shape) must have the same shape")
            }
            return [AbstractValue(shape: try windowedShape(operand.shape, w, fail), dtype: operand.dtype)]

        case .cumsum(let axis, _):
            try expectCount(1)
            try checkAxes([axis], rank: inputs[0].rank, unique: true, fail)
            guard inputs[0].dtype != .bool else { throw fail("expected a numeric operand, got bool") }
            return [inputs[0]]

        case .sort(let dimension, let numKeys):
            guard let first = inputs.first else { throw fail("needs at least one operand") }
            try checkAxes([dimension], rank: first.rank, unique: true, fail)
            guard numKeys >= 1, numKeys <= inputs.count else { throw fail("numKeys \(numKeys) must be in 1...\(inputs.count)") }
            guard inputs.allSatisfy({ $0.shape == first.shape }) else { throw fail("operands must share a shape, got \(shapes())") }
            return inputs

        case .threefry2x32:
            try expectCount(4)
            guard inputs.allSatisfy({ $0.dtype == .uint32 }) else {
                throw fail("operands must be uint32, got \(inputs.map { "\($0.dtype)" })")
            }
            let shape = inputs[2].shape
            guard inputs.allSatisfy({ $0.shape == shape || $0.shape.isEmpty }) else {
                throw fail("operand shapes \(shapes()) must agree (keys may be scalars)")
            }
            return [AbstractValue(shape: shape, dtype: .uint32), AbstractValue(shape: shape, dtype: .uint32)]

        case .stopGradient:
            try expectCount(1)
            return inputs

        case .debugCallback:
            return []

        case .customVJPLinear(_, _, let outs):
            return outs

        case .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast:
            return try collectiveAbstractEval(inputs)

        case .call(let j, _), .customJVP(let j, _), .customVJP(let j, _), .checkpoint(let j):
            try checkJaxprInputs(j, inputs[...], name)
            return j.outputAvals

        case .cond(let branches):
            guard let first = branches.first else { throw fail("needs at least one branch") }
            guard let index = inputs.first, index.rank == 0, index.dtype == .int32 else {
                throw fail("branch index must be an int32 scalar, got \(inputs.first.map { "\($0)" } ?? "nothing")")
            }
            for (i, b) in branches.enumerated() {
                try checkJaxprInputs(b, inputs.dropFirst(), "\(name) branch \(i)")
                guard b.outputAvals.map(\.shape) == first.outputAvals.map(\.shape),
                    b.outputAvals.map(\.dtype) == first.outputAvals.map(\.dtype)
                else {
                    throw fail("branches must return the same types: branch 0 returns \(first.outputAvals), branch \(i) returns \(b.outputAvals)")
                }
            }
            return first.outputAvals

        case .whileLoop(let cond, let body, let nc, let nb):
            let carry = inputs.dropFirst(nc + nb)
            try checkJaxprInputs(cond, inputs.prefix(nc) + carry, "\(name) cond")
            try checkJaxprInputs(body, inputs.dropFirst(nc).prefix(nb) + carry, "\(name) body")
            guard cond.outputAvals.count == 1, cond.outputAvals[0].shape == [], cond.outputAvals[0].dtype == .bool else {
                throw fail("cond function must return a bool scalar, got \(cond.outputAvals)")
            }
            guard body.outputAvals.map(\.shape) == carry.map(\.shape), body.outputAvals.map(\.dtype) == carry.map(\.dtype) else {
                throw fail("body function must return the carry type \(Array(carry)), got \(body.outputAvals)")
            }
            return Array(carry)

        case .scan(let body, let length, _, let nConsts, let nCarry):
            let consts = inputs.prefix(nConsts), carry = inputs.dropFirst(nConsts).prefix(nCarry)
            let xs = inputs.dropFirst(nConsts + nCarry)
            var slices: [AbstractValue] = []
            for x in xs {
                guard x.rank >= 1, x.shape[0] == length else {
                    throw fail("scanned input \(x) must have leading axis of length \(length)")
                }
                slices.append(AbstractValue(shape: Array(x.shape.dropFirst()), dtype: x.dtype, weakType: x.weakType))
            }
            try checkJaxprInputs(body, consts + carry + slices, "\(name) body")
            let outs = body.outputAvals
            guard outs.count >= nCarry, outs.prefix(nCarry).map(\.shape) == carry.map(\.shape),
                outs.prefix(nCarry).map(\.dtype) == carry.map(\.dtype)
            else {
                throw fail("body must return the carry type \(Array(carry)) first, got \(outs)")
            }
            return Array(carry) + outs.dropFirst(nCarry).map {
                AbstractValue(shape: [length] + $0.shape, dtype: $0.dtype, weakType: $0.weakType)
            }
        }
    }
}

/// Elementwise operands: equal shapes, or one of them rank-0.
func elementwiseShape(_ a: AbstractValue, _ b: AbstractValue) throws -> [Int] {
    if a.shape == b.shape || b.shape.isEmpty { return a.shape }
    if a.shape.isEmpty { return b.shape }
    throw FlockError("shapes must be equal or one of them a scalar, got \(a.shape) and \(b.shape)")
}

func checkAxes(_ axes: [Int], rank: Int, unique: Bool, _ fail: (String) -> FlockError) throws {
    for a in axes where a < 0 || a >= rank {
        throw fail("axis \(a) is out of bounds for an array of rank \(rank)")
    }
    if unique && Set(axes).count != axes.count { throw fail("repeated axis in \(axes)") }
}

func checkIndexScalars(_ xs: ArraySlice<AbstractValue>, _ fail: (String) -> FlockError) throws {
    for x in xs where !(x.rank == 0 && x.dtype.isInteger) {
        throw fail("start indices must be integer scalars, got \(x.dtype) \(x.shape)")
    }
}

func dotShape(
    _ l: AbstractValue, _ r: AbstractValue, _ dn: DotDimensionNumbers, _ fail: (String) -> FlockError
) throws -> AbstractValue {
    guard l.dtype == r.dtype else {
        throw fail("operands must have the same dtype, got lhs \(l.dtype) \(l.shape) and rhs \(r.dtype) \(r.shape)")
    }
    guard l.dtype != .bool else { throw fail("bool operands are not supported") }
    guard dn.lhsContracting.count == dn.rhsContracting.count, dn.lhsBatch.count == dn.rhsBatch.count else {
        throw fail("lhs and rhs must name as many contracting and batch dimensions, got \(dn)")
    }
    try checkAxes(dn.lhsContracting + dn.lhsBatch, rank: l.rank, unique: true, fail)
    try checkAxes(dn.rhsContracting + dn.rhsBatch, rank: r.rank, unique: true, fail)
    for (a, b) in zip(dn.lhsContracting, dn.rhsContracting) where l.shape[a] != r.shape[b] {
        throw fail("contracting dimensions differ: lhs \(l.shape) dim \(a) = \(l.shape[a]), rhs \(r.shape) dim \(b) = \(r.shape[b])")
    }
    for (a, b) in zip(dn.lhsBatch, dn.rhsBatch) where l.shape[a] != r.shape[b] {
        throw fail("batch dimensions differ: lhs \(l.shape) dim \(a) = \(l.shape[a]), rhs \(r.shape) dim \(b) = \(r.shape[b])")
    }
    let lFree = (0..<l.rank).filter { !dn.lhsContracting.contains($0) && !dn.lhsBatch.contains($0) }
    let rFree = (0..<r.rank).filter { !dn.rhsContracting.contains($0) && !dn.rhsBatch.contains($0) }
    let shape = dn.lhsBatch.map { l.shape[$0] } + lFree.map { l.shape[$0] } + rFree.map { r.shape[$0] }
    return AbstractValue(shape: shape, dtype: l.dtype, weakType: l.weakType && r.weakType)
}

func convolutionShape(
    _ l: AbstractValue, _ r: AbstractValue, _ p: ConvolutionParameters, _ fail: (String) -> FlockError
) throws -> AbstractValue {
    guard l.dtype == r.dtype, l.dtype.isFloatingPoint else {
        throw fail("operands must share a floating-point dtype, got lhs \(l.dtype) and rhs \(r.dtype)")
    }
    let n = l.rank - 2
    guard n >= 1, r.rank == l.rank else {
        throw fail("lhs [N, C, spatial…] and rhs [O, I, spatial…] must have equal rank ≥ 3, got lhs \(l.shape), rhs \(r.shape)")
    }
    let dn = p.dimensionNumbers
    let permutation = Array(0..<l.rank)
    guard dn.lhsSpec.sorted() == permutation, dn.rhsSpec.sorted() == permutation, dn.outSpec.sorted() == permutation else {
        throw fail("dimension numbers must each be a permutation of the \(l.rank) operand dimensions, got lhs spec \(dn.lhsSpec), rhs spec \(dn.rhsSpec), out spec \(dn.outSpec) for lhs \(l.shape), rhs \(r.shape)")
    }
    // Logical order from here on: lhs (N, C, spatial…), rhs (O, I, spatial…).
    let ls = ConvolutionDimensionNumbers.logical(l.shape, dn.lhsSpec)
    let rs = ConvolutionDimensionNumbers.logical(r.shape, dn.rhsSpec)
    guard p.windowStrides.count == n, p.padding.count == n, p.padding.allSatisfy({ $0.count == 2 }),
        p.lhsDilation.count == n, p.rhsDilation.count == n
    else { throw fail("strides, padding and dilations must each have \(n) entries for lhs \(l.shape)") }
    let g = p.featureGroupCount
    guard g >= 1 else { throw fail("feature_group_count must be at least 1, got \(g) for lhs \(l.shape), rhs \(r.shape)") }
    guard ls[1] % g == 0 else {
        throw fail("feature_group_count \(g) does not divide the input features \(ls[1]) of lhs \(l.shape) (rhs \(r.shape))")
    }
    guard rs[0] % g == 0 else {
        throw fail("feature_group_count \(g) does not divide the output features \(rs[0]) of rhs \(r.shape) (lhs \(l.shape))")
    }
    guard ls[1] / g == rs[1] else {
        throw fail("input features differ: lhs \(l.shape) has \(ls[1]) features in \(g) group(s) of \(ls[1] / g), rhs \(r.shape) expects \(rs[1]) per group")
    }
    let bg = p.batchGroupCount
    guard bg >= 1 else { throw fail("batch_group_count must be at least 1, got \(bg) for lhs \(l.shape), rhs \(r.shape)") }
    guard bg == 1 || g == 1 else {
        throw fail("feature_group_count \(g) and batch_group_count \(bg) cannot both exceed 1 (lhs \(l.shape), rhs \(r.shape))")
    }
    guard ls[0] % bg == 0 else {
        throw fail("batch_group_count \(bg) does not divide the batch \(ls[0]) of lhs \(l.shape) (rhs \(r.shape))")
    }
    guard rs[0] % bg == 0 else {
        throw fail("batch_group_count \(bg) does not divide the output features \(rs[0]) of rhs \(r.shape) (lhs \(l.shape))")
    }
    var shape = [ls[0] / bg, rs[0]]
    for i in 0..<n {
        guard p.windowStrides[i] >= 1, p.lhsDilation[i] >= 1, p.rhsDilation[i] >= 1 else {
            throw fail("strides and dilations must be positive, got \(p)")
        }
        let what = "the padded, dilated size of spatial dimension \(i) (lhs \(l.shape), rhs \(r.shape), \(p))"
        let inSize = ls[2 + i] == 0 ? 0 : try checkedAdd(checkedMultiply(ls[2 + i] - 1, p.lhsDilation[i], what, fail), 1, what, fail)
        let padded = try checkedAdd(try checkedAdd(inSize, p.padding[i][0], what, fail), p.padding[i][1], what, fail)
        let window = rs[2 + i] == 0 ? 0 : try checkedAdd(checkedMultiply(rs[2 + i] - 1, p.rhsDilation[i], what, fail), 1, what, fail)
        // An empty input gives an empty output; a window that outgrows a
        // non-empty padded input is a mistake (JAX would silently give size 0).
        if padded < window && inSize > 0 {
            throw fail("window \(window) of spatial dimension \(i) (rhs \(r.shape), rhs dilation \(p.rhsDilation[i])) is larger than the padded input \(padded) (lhs \(l.shape), padding \(p.padding[i]), lhs dilation \(p.lhsDilation[i]))")
        }
        shape.append(padded < window ? 0 : (padded - window) / p.windowStrides[i] + 1)
    }
    return AbstractValue(shape: ConvolutionDimensionNumbers.physical(shape, dn.outSpec), dtype: l.dtype)
}

/// The output shape of windows `w` over an operand of `shape` (JAX's
/// `reduce_window_shape_tuple`), after checking the parameters against it.
func windowedShape(_ shape: [Int], _ w: WindowParameters, _ fail: (String) -> FlockError) throws -> [Int] {
    let n = shape.count
    guard w.windowDimensions.count == n else {
        throw fail("window_dimensions \(w.windowDimensions) must have one entry per dimension of operand \(shape) (rank \(n))")
    }
    for (name, v) in [("window_strides", w.windowStrides), ("base_dilation", w.baseDilation), ("window_dilation", w.windowDilation)] {
        guard v.count == n else { throw fail("\(name) \(v) must have \(n) entries for operand \(shape)") }
        guard v.allSatisfy({ $0 >= 1 }) else { throw fail("\(name) must be positive, got \(v) for operand \(shape)") }
    }
    guard w.padding.count == n, w.padding.allSatisfy({ $0.count == 2 }) else {
        throw fail("padding \(w.padding) must have one (low, high) pair per dimension of operand \(shape)")
    }
    guard w.windowDimensions.allSatisfy({ $0 >= 1 }) else {
        throw fail("window_dimensions must be positive, got \(w.windowDimensions) for operand \(shape)")
    }
    return try (0..<n).map { d in
        let what = "the padded, dilated size of dimension \(d) of operand \(shape) (\(w))"
        let dilated = shape[d] == 0 ? 0 : try checkedAdd(checkedMultiply(shape[d] - 1, w.baseDilation[d], what, fail), 1, what, fail)
        let padded = try checkedAdd(try checkedAdd(dilated, w.padding[d][0], what, fail), w.padding[d][1], what, fail)
        let window = try checkedAdd(checkedMultiply(w.windowDimensions[d] - 1, w.windowDilation[d], what, fail), 1, what, fail)
        return padded < window ? 0 : (padded - window) / w.windowStrides[d] + 1
    }
}

/// Operands of `selectAndScatterAdd` / `selectAndGatherAdd`: a `.ge` or `.le`
/// selection over floating-point operands of one dtype.
func checkWindowSelection(
    _ select: CompareOp, _ values: AbstractValue, _ operand: AbstractValue, _ fail: (String) -> FlockError
) throws {
    guard select == .ge || select == .le else { throw fail("select must be ge (max) or le (min), got \(select)") }
    guard values.dtype == operand.dtype, operand.dtype.isFloatingPoint else {
        throw fail("operands must share a floating-point dtype, got \(values.dtype) \(values.shape) and \(operand.dtype) \(operand.shape)")
    }
}

func gatherShape(
    _ x: AbstractValue, _ idx: AbstractValue, _ dn: GatherDimensionNumbers, _ sliceSizes: [Int],
    _ fail: (String) -> FlockError
) throws -> AbstractValue {
    guard idx.dtype.isInteger else { throw fail("indices must be integers, got \(idx.dtype) \(idx.shape)") }
    guard idx.rank >= 1 else { throw fail("indices must have an index-vector dimension, got shape \(idx.shape)") }
    guard idx.shape.last! == dn.startIndexMap.count else {
        throw fail("index vector length \(idx.shape.last!) of indices \(idx.shape) must equal start_index_map \(dn.startIndexMap)")
    }
    guard sliceSizes.count == x.rank else { throw fail("slice sizes \(sliceSizes) must have \(x.rank) entries for operand \(x.shape)") }
    try checkAxes(dn.startIndexMap, rank: x.rank, unique: true, fail)
    try checkAxes(dn.collapsedSliceDims + dn.operandBatchingDims, rank: x.rank, unique: true, fail)
    for i in 0..<x.rank where sliceSizes[i] < 0 || sliceSizes[i] > x.shape[i] {
        throw fail("slice size \(sliceSizes[i]) out of range for dimension \(i) of operand \(x.shape)")
    }
    for d in dn.collapsedSliceDims + dn.operandBatchingDims where sliceSizes[d] > 1 {
        throw fail("collapsed/batching dimension \(d) must have slice size ≤ 1, got \(sliceSizes[d])")
    }
    let batchShape = Array(idx.shape.dropLast())
    let offsetSizes = (0..<x.rank).filter { !dn.collapsedSliceDims.contains($0) && !dn.operandBatchingDims.contains($0) }.map { sliceSizes[$0] }
    guard dn.offsetDims.count == offsetSizes.count else {
        throw fail("offset_dims \(dn.offsetDims) must name \(offsetSizes.count) output dimensions")
    }
    let outRank = batchShape.count + offsetSizes.count
    try checkAxes(dn.offsetDims, rank: outRank, unique: true, fail)
    guard dn.offsetDims == dn.offsetDims.sorted() else { throw fail("offset_dims \(dn.offsetDims) must be sorted") }
    var shape = [Int](repeating: 0, count: outRank)
    var bi = 0, oi = 0
    for d in 0..<outRank {
        if dn.offsetDims.contains(d) { shape[d] = offsetSizes[oi]; oi += 1 } else { shape[d] = batchShape[bi]; bi += 1 }
    }
    return AbstractValue(shape: shape, dtype: x.dtype, weakType: x.weakType)
}

func checkScatter(
    _ x: AbstractValue, _ idx: AbstractValue, _ upd: AbstractValue, _ dn: ScatterDimensionNumbers,
    _ fail: (String) -> FlockError
) throws {
    guard idx.dtype.isInteger else { throw fail("indices must be integers, got \(idx.dtype) \(idx.shape)") }
    guard upd.dtype == x.dtype else { throw fail("updates dtype \(upd.dtype) must match operand dtype \(x.dtype)") }
    guard idx.rank >= 1, idx.shape.last! == dn.scatterDimsToOperandDims.count else {
        throw fail("index vector length of indices \(idx.shape) must equal scatter_dims_to_operand_dims \(dn.scatterDimsToOperandDims)")
    }
    try checkAxes(dn.scatterDimsToOperandDims, rank: x.rank, unique: true, fail)
    try checkAxes(dn.insertedWindowDims + dn.operandBatchingDims, rank: x.rank, unique: true, fail)
    let batchRank = idx.rank - 1
    guard upd.rank == batchRank + dn.updateWindowDims.count,
        dn.updateWindowDims.count + dn.insertedWindowDims.count + dn.operandBatchingDims.count == x.rank
    else {
        throw fail("updates \(upd.shape) do not match operand \(x.shape) and indices \(idx.shape) for \(dn)")
    }
    try checkAxes(dn.updateWindowDims, rank: upd.rank, unique: true, fail)
    let windowOperandDims = (0..<x.rank).filter { !dn.insertedWindowDims.contains($0) && !dn.operandBatchingDims.contains($0) }
    for (k, ud) in dn.updateWindowDims.enumerated() where upd.shape[ud] > x.shape[windowOperandDims[k]] {
        throw fail("update window dimension \(ud) (\(upd.shape[ud])) exceeds operand \(x.shape) dimension \(windowOperandDims[k])")
    }
    let scatterDims = (0..<upd.rank).filter { !dn.updateWindowDims.contains($0) }
    for (k, d) in scatterDims.enumerated() where upd.shape[d] != idx.shape[k] {
        throw fail("updates \(upd.shape) scatter dimension \(d) must equal indices \(idx.shape) dimension \(k)")
    }
}

func checkJaxprInputs<C: Collection>(_ j: Jaxpr, _ inputs: C, _ name: String) throws where C.Element == AbstractValue {
    let avals = Array(inputs)
    guard avals.count == j.inputs.count,
        zip(avals, j.inputs).allSatisfy({ $0.shape == $1.aval.shape && $0.dtype == $1.aval.dtype })
    else {
        throw FlockError("\(name): operands \(avals) do not match the function's inputs \(j.inputAvals)")
    }
}
