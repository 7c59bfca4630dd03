@_spi(Engine) import FlockCore
/// The IR type checker (autodidax's `typecheck_jaxpr`).
///
/// A jaxpr is well typed when every variable is defined exactly once before it
/// is used, each constant matches its variable's type, and every equation's
/// output variables carry exactly the abstract values its primitive's shape
/// rule computes from its operands. Sub-jaxprs of higher-order primitives are
/// checked too (they are closed: they see only their own inputs). Every
/// optimisation pass is followed by this check in debug builds.
///
/// ```swift
/// try checkJaxpr(makeJaxpr { [sin($0[0]) * 2] }([x]))
/// ```
package func checkJaxpr(_ jaxpr: Jaxpr) throws {
    var defined = Set<Int>()
    func define(_ v: Var, _ what: String) throws {
        guard defined.insert(v.id).inserted else {
            throw FlockError("checkJaxpr: variable \(v.id):\(v.aval) of \(what) is defined more than once\n\(jaxpr)")
        }
    }
    func read(_ a: Atom, _ what: String) throws {
        if case .variable(let v) = a, !defined.contains(v.id) {
            throw FlockError("checkJaxpr: \(what) reads variable \(v.id):\(v.aval) before it is defined\n\(jaxpr)")
        }
    }
    for (v, c) in zip(jaxpr.constVars, jaxpr.consts) {
        guard c.isConcrete, c.shape == v.aval.shape, c.dtype == v.aval.dtype else {
            throw FlockError("checkJaxpr: constant \(v.id) is declared \(v.aval) but holds \(c.isConcrete ? "\(c.aval)" : "a tracer")")
        }
        try define(v, "a constant")
    }
    for v in jaxpr.inputs { try define(v, "an input") }
    for (i, e) in jaxpr.equations.enumerated() {
        let what = "equation \(i) (\(e.primitive.name))"
        for a in e.inputs { try read(a, what) }
        let expected: [AbstractValue]
        do { expected = try e.primitive.abstractEval(e.inputs.map(\.aval)) } catch {
            throw FlockError("checkJaxpr: \(what) is ill-typed: \(error)\n\(jaxpr)")
        }
        guard expected == e.outputs.map(\.aval) else {
            throw FlockError("checkJaxpr: \(what) declares outputs \(e.outputs.map(\.aval)) but its operands \(e.inputs.map(\.aval)) give \(expected)\n\(jaxpr)")
        }
        for sub in e.primitive.subJaxprs { try checkJaxpr(sub) }
        for v in e.outputs { try define(v, what) }
    }
    for a in jaxpr.outputs { try read(a, "the output list") }
}

extension Primitive {
    /// The jaxprs a higher-order primitive carries as parameters.
    var subJaxprs: [Jaxpr] {
        switch self {
        case .call(let j, _), .customJVP(let j, _), .customVJP(let j, _), .checkpoint(let j): [j]
        case .cond(let branches): branches
        case .whileLoop(let c, let b, _, _): [c, b]
        case .scan(let b, _, _, _, _): [b]
        case .unary, .binary, .compare, .select, .clamp, .fma, .convert, .bitcast, .reduce, .argReduce,
            .broadcastInDim, .reshape, .transpose, .reverse, .slice, .dynamicSlice, .dynamicUpdateSlice,
            .gather, .scatter, .concatenate, .pad, .iota, .dotGeneral, .convolution, .cumsum, .sort,
            .reduceWindow, .selectAndScatterAdd, .selectAndGatherAdd,
            .threefry2x32, .stopGradient, .debugCallback, .customVJPLinear,
            .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast:
            []
        }
    }
}
