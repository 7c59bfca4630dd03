// Structured control flow and custom derivative rules. Each traces its
// function arguments into closed jaxprs and binds one higher-order primitive,
// so every transform (grad, vmap, jit) sees the control flow, not an unrolled loop.

/// Traces `f` on abstract `avals`, recording its output tree.
func traceTree<Q: PyTree>(_ avals: [AbstractValue], _ f: ([Tensor]) -> Q) -> (jaxpr: Jaxpr, constArgs: [Tensor], output: Q) {
    var out: Q? = nil
    let (j, c) = traceClosed(avals) { xs in
        let q = f(xs)
        out = q
        return treeLeaves(q)
    }
    return (j, c, out!)
}

/// `trueBranch(operand)` if `predicate` else `falseBranch(operand)`, staged as one
/// `cond` (`jax.lax.cond`). Both branches must return the same tree of shapes/dtypes.
///
/// ```swift
/// let y = cond(x.sum() .> 0, { $0 * 2 }, { -$0 }, x)
/// ```
public func cond<P: PyTree, Q: PyTree>(_ predicate: Tensor, _ trueBranch: @escaping (P) -> Q, _ falseBranch: @escaping (P) -> Q, _ operand: P) -> Q {
    guard predicate.rank == 0 else {
        raise(FlockError("cond: predicate must be a scalar, got shape \(predicate.shape)"))
        return trueBranch(operand)
    }
    let index = predicate.dtype == .bool ? predicate.converted(to: .int32) : (predicate .!= Tensor(0, dtype: predicate.dtype)).converted(to: .int32)
    return switchCase(index, [falseBranch, trueBranch], operand, name: "cond")
}

/// `branches[index](operand)` with `index` clamped into range (`jax.lax.switch`).
public func switchCase<P: PyTree, Q: PyTree>(_ index: Tensor, _ branches: [(P) -> Q], _ operand: P, name: String = "switch") -> Q {
    guard !branches.isEmpty else {
        let error = FlockError("\(name): needs at least one branch")
        // With no branch there is no function to make a result of type Q from:
        // common result types get a placeholder; any other ends the program.
        guard let placeholder: Q = poisonedPlaceholder() else { exitWithError(error) }
        raise(error)
        return placeholder
    }
    guard index.rank == 0, index.dtype.isInteger || index.dtype == .bool else {
        raise(FlockError("\(name): index must be an integer scalar, got \(index.dtype) \(index.shape)"))
        return branches[0](operand)
    }
    let leaves = treeLeaves(operand)
    let avals = leaves.map(\.aval)
    let traced = branches.map { b in traceTree(avals) { b(treeUnflatten(like: operand, $0)) } }
    let s0 = treeStructure(traced[0].output)
    for (i, t) in traced.enumerated() {
        if let d = treeStructure(t.output).firstDifference(from: s0) {
            raise(FlockError("\(name): branches must return the same pytree structure; branch 0 and branch \(i) differ at \(d)"))
            return traced[0].output
        }
        let a0 = traced[0].jaxpr.outputAvals, ai = t.jaxpr.outputAvals
        if zip(a0, ai).contains(where: { $0.shape != $1.shape || $0.dtype != $1.dtype }) {
            raise(FlockError("\(name): branches must return the same types: branch 0 returns \(a0), branch \(i) returns \(ai)"))
            return traced[0].output
        }
    }
    let (jaxprs, consts) = unifyClosures(traced.map { ($0.jaxpr, $0.constArgs) })
    let clamped = index.converted(to: .int32)
    let outs = bind(.cond(branches: jaxprs), [clamped] + consts + leaves)
    return treeUnflatten(like: traced[0].output, outs)
}

/// Repeats `body` while `condition` holds (`jax.lax.while_loop`). Forward-mode
/// differentiable; reverse mode is refused (use `scan` or a static `forLoop`).
public func whileLoop<C: PyTree>(condition: @escaping (C) -> Tensor, body: @escaping (C) -> C, initial: C) -> C {
    let leaves = treeLeaves(initial)
    let avals = leaves.map(\.aval)
    let c = traceTree(avals) { [condition(treeUnflatten(like: initial, $0))] }
    let b = traceTree(avals) { body(treeUnflatten(like: initial, $0)) }
    if let d = treeStructure(b.output).firstDifference(from: treeStructure(initial)) {
        raise(FlockError("whileLoop: body must return the carry's structure; they differ at \(d)"))
        return initial
    }
    let outAvals = b.jaxpr.outputAvals
    if zip(outAvals, avals).contains(where: { $0.shape != $1.shape || $0.dtype != $1.dtype }) {
        raise(FlockError("whileLoop: body must return the carry type \(avals), got \(outAvals)"))
        return initial
    }
    let cAval = c.jaxpr.outputAvals
    guard cAval.count == 1, cAval[0].shape == [], cAval[0].dtype == .bool else {
        raise(FlockError("whileLoop: condition must return a bool scalar, got \(cAval)"))
        return initial
    }
    let outs = bind(.whileLoop(cond: c.jaxpr, body: b.jaxpr, condConstCount: c.constArgs.count, bodyConstCount: b.constArgs.count),
                    c.constArgs + b.constArgs + leaves)
    return treeUnflatten(like: initial, outs)
}

/// Scans `f` over the leading axis of `xs`, threading a carry
/// (`jax.lax.scan`): returns the final carry and the stacked per-step outputs.
///
/// ```swift
/// let (total, partials) = scan({ c, x in (c + x, c + x) }, initial: Tensor(Float(0)), xs: x)
/// ```
public func scan<C: PyTree, X: PyTree, Y: PyTree>(
    _ f: @escaping (C, X) -> (C, Y), initial: C, xs: X, length: Int? = nil, reverse: Bool = false
) -> (C, Y) {
    let carry = treeLeaves(initial), xl = treeLeaves(xs)
    let lengths = Set(xl.map { $0.shape.first ?? -1 })
    if xl.contains(where: { $0.rank == 0 }) || lengths.count > 1 || (length != nil && !lengths.isEmpty && lengths.first! != length!) {
        raise(FlockError("scan: scanned inputs must share a leading axis\(length.map { " of length \($0)" } ?? ""); got shapes \(xl.map(\.shape))"))
        return (initial, f(initial, xs).1)
    }
    guard let n = length ?? lengths.first else {
        raise(FlockError("scan: length must be given when there are no scanned inputs"))
        return (initial, f(initial, xs).1)
    }
    let sliceAvals = xl.map { AbstractValue(shape: Array($0.shape.dropFirst()), dtype: $0.dtype, weakType: $0.weakType) }
    var yTemplate: Y? = nil
    var cTemplate: C? = nil
    let traced = traceClosed(carry.map(\.aval) + sliceAvals) { args in
        let c = treeUnflatten(like: initial, Array(args.prefix(carry.count)))
        let x = treeUnflatten(like: xs, Array(args.dropFirst(carry.count)))
        let (c2, y) = f(c, x)
        cTemplate = c2
        yTemplate = y
        return treeLeaves(c2) + treeLeaves(y)
    }
    if let d = treeStructure(cTemplate!).firstDifference(from: treeStructure(initial)) {
        raise(FlockError("scan: body must return the carry's structure; they differ at \(d)"))
        return (initial, yTemplate!)
    }
    let outAvals = traced.jaxpr.outputAvals.prefix(carry.count)
    if zip(outAvals, carry).contains(where: { $0.shape != $1.shape || $0.dtype != $1.dtype }) {
        raise(FlockError("scan: body must return the carry type \(carry.map(\.aval)), got \(Array(outAvals))"))
        return (initial, yTemplate!)
    }
    let outs = bind(.scan(body: traced.jaxpr, length: n, reverse: reverse, constCount: traced.constArgs.count, carryCount: carry.count),
                    traced.constArgs + carry + xl)
    return (treeUnflatten(like: initial, Array(outs.prefix(carry.count))), treeUnflatten(like: yTemplate!, Array(outs.dropFirst(carry.count))))
}

/// `body(i, carry)` for `i` in `lower..<upper` (`jax.lax.fori_loop` with static
/// bounds): lowered to `scan`, so it is reverse-mode differentiable.
public func forLoop<C: PyTree>(_ lower: Int, _ upper: Int, body: @escaping (Tensor, C) -> C, initial: C) -> C {
    let n = Swift.max(0, upper - lower)
    let (c, _) = scan({ (c: C, i: Tensor) -> (C, [Tensor]) in (body(i, c), []) },
                      initial: initial, xs: arange(n) + Tensor(Int32(lower)), length: n)
    return c
}

/// `body(i, carry)` for `i` from `lower` while `i < upper`, with traced bounds:
/// a `whileLoop` (forward-mode differentiable only).
public func forLoop<C: PyTree>(_ lower: Tensor, _ upper: Tensor, body: @escaping (Tensor, C) -> C, initial: C) -> C {
    let i0 = lower.converted(to: .int32), hi = upper.converted(to: .int32)
    let state = LoopState(i: i0, carry: initial)
    let out = whileLoop(condition: { (s: LoopState<C>) in s.i .< hi }, body: { s in LoopState(i: s.i + Tensor(Int32(1)), carry: body(s.i, s.carry)) }, initial: state)
    return out.carry
}

struct LoopState<C: PyTree>: PyTreeStruct {
    var i: Tensor
    var carry: C
    static var fields: [PyTreeField<LoopState>] { [.init(\.i, "i"), .init(\.carry, "carry")] }
}

/// A function with a custom JVP rule (`jax.custom_jvp`). `rule(primals, tangents)`
/// returns the outputs and their tangents.
///
/// ```swift
/// let safeLog1pExp = customJVP({ x in log1p(exp(x)) }) { x, t in (log1p(exp(x)), t * sigmoid(x)) }
/// ```
public func customJVP(_ f: @escaping (Tensor) -> Tensor, jvp rule: @escaping (Tensor, Tensor) -> (Tensor, Tensor)) -> (Tensor) -> Tensor {
    let flat = customJVPFlat({ [f($0[0])] }) { p, t in
        let (y, ty) = rule(p[0], t[0])
        return ([y], [ty])
    }
    return { flat([$0])[0] }
}

/// ``customJVP(_:jvp:)`` over flat lists of tensors.
public func customJVPFlat(_ f: @escaping ([Tensor]) -> [Tensor], jvp rule: @escaping ([Tensor], [Tensor]) -> ([Tensor], [Tensor])) -> ([Tensor]) -> [Tensor] {
    let r = CustomRule(jvp: rule)
    return { xs in
        let (j, consts) = traceClosed(xs.map(\.aval), f)
        if consts.isEmpty { return bind(.customJVP(j, rule: r), xs) }
        // Captured values become leading operands the rule skips (the rule
        // captured them too); differentiating with respect to them is an error.
        let n = consts.count
        let closed = CustomRule(jvp: { p, t in rule(Array(p.dropFirst(n)), Array(t.dropFirst(n))) }, constCount: n)
        return bind(.customJVP(j, rule: closed), consts + xs)
    }
}

/// A function with a custom VJP (`jax.custom_vjp`): `forward(x)` returns the
/// output and residuals; `backward(residuals, cotangent)` returns the input cotangent.
///
/// ```swift
/// let clipGrad = customVJP({ $0 }, forward: { ($0, []) }, backward: { _, g in clip(g, min: -1, max: 1) })
/// ```
public func customVJP(
    _ f: @escaping (Tensor) -> Tensor, forward: @escaping (Tensor) -> (Tensor, [Tensor]),
    backward: @escaping ([Tensor], Tensor) -> Tensor
) -> (Tensor) -> Tensor {
    let flat = customVJPFlat({ [f($0[0])] }, forward: { xs in
        let (y, res) = forward(xs[0])
        return ([y], res)
    }, backward: { res, cts in [backward(res, cts[0])] })
    return { flat([$0])[0] }
}

/// ``customVJP(_:forward:backward:)`` over flat lists of tensors.
public func customVJPFlat(
    _ f: @escaping ([Tensor]) -> [Tensor], forward: @escaping ([Tensor]) -> ([Tensor], [Tensor]),
    backward: @escaping ([Tensor], [Tensor]) -> [Tensor]
) -> ([Tensor]) -> [Tensor] {
    let r = CustomRule(forward: forward, backward: backward)
    return { xs in
        let (j, consts) = traceClosed(xs.map(\.aval), f)
        if consts.isEmpty { return bind(.customVJP(j, rule: r), xs) }
        // As customJVPFlat: captured values lead, the rules skip them, and their
        // cotangents are zeros (differentiating with respect to them is an error).
        let constAvals = consts.map(\.aval)
        let closed = CustomRule(
            forward: { p in forward(Array(p.dropFirst(constAvals.count))) },
            backward: { res, ct in
                constAvals.map { zeros($0.shape, dtype: $0.dtype) }
                    + backward(res, ct)
            },
            constCount: constAvals.count)
        return bind(.customVJP(j, rule: closed), consts + xs)
    }
}

/// `f` whose intermediate values are recomputed in the backward pass instead
/// of stored (`jax.checkpoint` / `jax.remat`).
public func checkpoint<P: PyTree, Q: PyTree>(_ f: @escaping (P) -> Q) -> (P) -> Q {
    { p in
        let leaves = treeLeaves(p)
        let t = traceTree(leaves.map(\.aval)) { f(treeUnflatten(like: p, $0)) }
        if !t.constArgs.isEmpty {
            // Close over captured values by passing them as extra (non-differentiated) inputs.
            let outs = bind(.checkpoint(t.jaxpr), t.constArgs + leaves)
            return treeUnflatten(like: t.output, outs)
        }
        return treeUnflatten(like: t.output, bind(.checkpoint(t.jaxpr), leaves))
    }
}
