import Testing
@testable import FlockTransforms

/// jit = eager on every primitive family, optimised = unoptimised on random
/// programs, the passes' rewrites, the plan's memory, the cache, and jit
/// composed with the other transforms.
@Suite struct JitTests {
    static func f32(_ values: [Float], _ shape: [Int]) -> Tensor { Tensor(values, shape: shape) }
    static let x = f32([0.3, -1.2, 0.7, 1.9, -0.4, 0.25], [2, 3])
    static let y = f32([1.1, 0.6, -0.9, 0.45, 1.3, -0.7], [2, 3])
    static let i = Tensor([3, -7, 0, 12, -1, 5] as [Int32], shape: [2, 3])
    static let j = Tensor([2, 3, -4, 5, 0, -2] as [Int32], shape: [2, 3])
    static let u = Tensor([3, 7, 0, 12, 1, 0xFFFF_FFF0] as [UInt32], shape: [2, 3])
    static let p = Tensor([true, false, true, true, false, false], shape: [2, 3])
    static let special = f32([.nan, .infinity, -.infinity, -0.0, 0, 1e-30], [2, 3])

    /// Primitives and compositions beyond the differentiable ones of ``GradCheckTests``:
    /// integers, unsigned, bools, conversions, bit operations, arg-reductions, RNG, loops.
    static let cases: [(String, @Sendable ([Tensor]) -> Tensor, [Tensor])] = [
        ("float32 unary", { x in exp(x[0]) + log1p(abs(x[0])) + tanh(x[0]) * sigmoid(x[0]) - erf(x[0]) + floor(x[0]) * round(x[0]) }, [x]),
        ("float32 specials", { x in sqrt(x[0]) + exp(x[0]) * sign(x[0]) }, [special]),
        ("isFinite/isNaN", { x in `where`(isFinite(x[0]) .& .!isNaN(x[0]), x[0], Tensor(Float(7))) }, [special]),
        ("int arithmetic", { x in (x[0] + x[1]) * x[0] - x[1] / Tensor(Int32(3)) + x[0] % x[1] + floorDivide(x[0], x[1]) }, [i, j]),
        ("int pow/max/min/abs/sign", { x in pow(x[0], abs(x[1]) % 4) + maximum(x[0], x[1]) - minimum(x[0], -x[1]) * sign(x[0]) }, [i, j]),
        ("int bits", { x in (x[0] .& x[1]) .| (x[0] .^ bitwiseNot(x[1])) + shiftLeft(x[0], abs(x[1])) + shiftRight(x[0], abs(x[1])) }, [i, j]),
        ("uint", { x in shiftRightLogical(x[0], Tensor(UInt32(1))) + x[0] * x[0] - x[0] / (x[0] + 1) }, [u]),
        ("bool logic", { x in ((x[0] .& x[1]) .| .!x[0]) .^ x[1] }, [p, p.flipped([1])]),
        ("compare all dtypes", { x in
            ((x[0] .< x[1]) .& (x[2] .>= x[3])) .| (x[4] .== x[4].flipped([1])) .| (x[5] .!= x[5].flipped([0]))
        }, [x, y, i, j, u, p]),
        ("convert every pair", { x in
            var acc = Tensor(Float(0))
            for s in x { for d in DType.allCases { acc = acc + s.converted(to: d).converted(to: .float32).sum() } }
            return acc
        }, [x * 1e9, i, u, p, x.converted(to: .float64)]),
        ("bitcast", { x in x[0].bitcast(to: .int32) + x[1].bitcast(to: .float32).bitcast(to: .int32) }, [x, u]),
        ("select scalar pred", { x in select(x[0].sum() .> 0, x[0], x[1]) }, [x, y]),
        ("clamp", { x in bind1(.clamp, Tensor(Float(-0.5)), x[0], x[1]) + bind1(.clamp, x[1], x[0], Tensor(Float(1))) }, [x, y]),
        ("argmax/argmin", { x in x[0].argmax(axis: 1) + x[0].argmin(axis: 0).sum() }, [x]),
        ("reduce all/any", { x in (x[0] .> 0).all(axes: [1]) .| (x[0] .< -1).any(axes: [1]) }, [x]),
        ("int reductions", { x in x[0].sum(axes: [0]) + x[0].prod(axes: [0]) + x[0].max(axes: [0]) }, [i]),
        ("iota/arange", { x in x[0] + arange(3).converted(to: .float32) }, [x]),
        ("sort multi", { x in sort([x[0], x[1]], axis: 1, numKeys: 1)[1] + argsort(x[0], axis: 0).converted(to: .float32) }, [x, y]),
        ("random", { x in Random.normal(PRNGKey(data: x[0]), shape: [50, 40]) }, [Random.key(3).data]),
        ("while", { x in whileLoop(condition: { (c: [Tensor]) in c[1] .< 10 }, body: { c in [c[0] * 1.5 + x[1], c[1] + 1] }, initial: [x[0], Tensor(Int32(0))])[0] }, [x, y]),
        ("while zero trips", { x in whileLoop(condition: { (c: Tensor) in c.sum() .< -100 }, body: { $0 * 2 }, initial: x[0]) }, [x]),
        ("scan stacked", { x in scan({ (c: Tensor, v: Tensor) in (c + v, c * v) }, initial: x[1][0], xs: x[0]).1 }, [x, y]),
        ("custom vjp", { x in customVJP({ $0 * 3 }, forward: { ($0 * 3, [$0]) }, backward: { res, g in g * res[0] })(x[0]) }, [x]),
        ("custom jvp", { x in customJVP({ sin($0) }) { x, t in (sin(x), t * 10) }(x[0]) }, [x]),
        ("stop gradient", { x in stopGradient(x[0]) * x[1] }, [x, y]),
        ("nested jit", { x in jit { (v: [Tensor]) in [jit { (w: [Tensor]) in [w[0] * 2] }([v[0] + 1])[0] * v[1]] }(x)[0] }, [x, y]),
        ("outputs: input, literal, repeated", { x in x[0] + 0 }, [x]),
        ("rank-0", { x in x[0].sum() * 2 + 1 }, [x]),
        ("empty", { x in exp(x[0][0..<0]) + 1 }, [x]),
    ]

    @Test(arguments: cases.indices)
    func jitMatchesEager(_ k: Int) {
        let (name, f, args) = Self.cases[k]
        let jitted = jit(name: name) { [f($0)] }
        expectIdentical(jitted(args)[0], f(args), name)
    }

    @Test(arguments: GradCheckTests.cases.indices)
    func jitMatchesEagerOnDifferentiablePrimitives(_ k: Int) {
        let (name, f, args) = GradCheckTests.cases[k]
        let jitted = jit(name: name) { [f($0)] }
        expectClose(jitted(args)[0], f(args), rtol: 1e-13, atol: 1e-15, name)
    }
}

/// Expects the same shape, dtype, weak type and values (NaNs equal, signed zeros distinct).
func expectIdentical(_ a: Tensor, _ b: Tensor, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.aval == b.aval, "\(what): \(a.aval) vs \(b.aval)", sourceLocation: sourceLocation)
    guard a.aval == b.aval else { return }
    let x = a.toArray(Double.self), y = b.toArray(Double.self)
    for (k, (p, q)) in zip(x, y).enumerated() where !(p == q && p.sign == q.sign) && !(p.isNaN && q.isNaN) {
        Issue.record("\(what): element \(k) is \(p), eager gives \(q)", sourceLocation: sourceLocation)
        return
    }
}
