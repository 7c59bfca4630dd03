import FlockCore
// Shared plumbing of the optimisation passes: substituting atoms while a jaxpr
// is rebuilt, fresh variable ids, and rebuilding the jaxprs that higher-order
// primitives carry.

/// Where a pass has replaced a variable by another atom (its equation was
/// removed or simplified away). Reading follows chains of replacements.
struct Substitution {
    private var map: [Int: Atom] = [:]

    mutating func replace(_ v: Var, with a: Atom) { map[v.id] = a }

    func callAsFunction(_ a: Atom) -> Atom {
        var a = a
        while case .variable(let v) = a, let next = map[v.id] { a = next }
        return a
    }

    func callAsFunction(_ atoms: [Atom]) -> [Atom] { atoms.map { self($0) } }
}

/// Hands out variable ids not used in a jaxpr's scope.
struct VarSupply {
    private var next: Int
    init(above jaxpr: Jaxpr) {
        var m = 0
        for v in jaxpr.constVars + jaxpr.inputs { m = max(m, v.id) }
        for e in jaxpr.equations { for v in e.outputs { m = max(m, v.id) } }
        next = m + 1
    }
    mutating func fresh(_ aval: AbstractValue) -> Var {
        defer { next += 1 }
        return Var(id: next, aval: aval)
    }
}

extension Jaxpr {
    /// This jaxpr with other equations and outputs (and optionally constants);
    /// the inputs stay. Constants no equation or output reads are dropped.
    func rebuilt(equations: [Equation], outputs: [Atom], constVars: [Var]? = nil, consts: [Tensor]? = nil) -> Jaxpr {
        var used = Set<Int>()
        for e in equations { for case .variable(let v) in e.inputs { used.insert(v.id) } }
        for case .variable(let v) in outputs { used.insert(v.id) }
        var cv: [Var] = [], cs: [Tensor] = []
        for (v, c) in zip(constVars ?? self.constVars, consts ?? self.consts) where used.contains(v.id) {
            cv.append(v)
            cs.append(c)
        }
        return Jaxpr(inputs: inputs, constVars: cv, consts: cs, equations: equations, outputs: outputs)
    }

    /// The concrete value of each constant variable, by id.
    var constValues: [Int: Tensor] {
        Dictionary(uniqueKeysWithValues: zip(constVars.map(\.id), consts))
    }
}

extension Primitive {
    /// The same primitive with each carried jaxpr replaced by `transform(jaxpr)`
    /// (which must keep the jaxpr's inputs and output types).
    func mappingSubJaxprs(_ transform: (Jaxpr) -> Jaxpr) -> Primitive {
        switch self {
        case .call(let j, let kind): .call(transform(j), kind: kind)
        case .customJVP(let j, let rule): .customJVP(transform(j), rule: rule)
        case .customVJP(let j, let rule): .customVJP(transform(j), rule: rule)
        case .checkpoint(let j): .checkpoint(transform(j))
        case .cond(let branches): .cond(branches: branches.map(transform))
        case .whileLoop(let c, let b, let nc, let nb):
            .whileLoop(cond: transform(c), body: transform(b), condConstCount: nc, bodyConstCount: nb)
        case .scan(let b, let length, let reverse, let nc, let ncarry):
            .scan(body: transform(b), length: length, reverse: reverse, constCount: nc, carryCount: ncarry)
        case .unary, .binary, .compare, .select, .clamp, .fma, .convert, .bitcast, .reduce, .argReduce,
            .broadcastInDim, .reshape, .transpose, .reverse, .slice, .dynamicSlice, .dynamicUpdateSlice,
            .gather, .scatter, .concatenate, .pad, .iota, .dotGeneral, .convolution, .cumsum, .sort,
            .reduceWindow, .selectAndScatterAdd, .selectAndGatherAdd,
            .threefry2x32, .stopGradient, .debugCallback, .customVJPLinear,
            .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast:
            self
        }
    }

    /// Whether this primitive computes each output element from the elements
    /// at the same position of its operands (rank-0 operands broadcast).
    var isElementwise: Bool {
        switch self {
        case .unary, .binary, .compare, .select, .clamp, .fma, .convert: true
        case .bitcast, .reduce, .argReduce, .broadcastInDim, .reshape, .transpose, .reverse, .slice,
            .dynamicSlice, .dynamicUpdateSlice, .gather, .scatter, .concatenate, .pad, .iota,
            .dotGeneral, .convolution, .cumsum, .sort, .threefry2x32, .stopGradient, .debugCallback, .call, .cond,
            .reduceWindow, .selectAndScatterAdd, .selectAndGatherAdd,
            .whileLoop, .scan, .customJVP, .customVJP, .checkpoint, .customVJPLinear,
            .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast:
            false
        }
    }
}

extension Atom {
    /// The concrete value of a literal, or of a constant variable found in `consts`.
    func knownValue(_ consts: [Int: Tensor]) -> Tensor? {
        switch self {
        case .literal(let l): l.tensor
        case .variable(let v): consts[v.id]
        }
    }
}
