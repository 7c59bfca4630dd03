import Testing
import FlockTestSupport
@testable import FlockTransforms

/// Per-primitive gradients and JVPs compared with JAX's
/// (tools/make_transform_fixtures.py, `GRAD_FUNCS`; the functions are mirrored here).
@Suite struct GradFixtureTests {
    static func t(_ values: [Double]) -> Tensor { Tensor(values, shape: [2, 3]) }
    static let A = t([0.3, -1.2, 0.7, 1.9, -0.4, 0.25])
    static let B = t([1.1, 0.6, -0.9, 0.45, 1.3, -0.7])
    static let POS = t([0.3, 1.2, 0.7, 1.9, 0.4, 2.5])
    static let UNIT = t([0.3, -0.6, 0.7, 0.1, -0.4, 0.25])
    static let TA = t([0.5, -0.25, 1.0, 0.75, 0.1, -0.6])
    static let TB = t([-0.3, 0.8, 0.2, 0.4, -0.9, 0.35])

    static let functions: [(String, @Sendable (Tensor, Tensor) -> Tensor, Tensor, Tensor)] = [
        ("exp", { exp($0) * $1 }, A, B), ("log", { log($0) * $1 }, POS, B), ("log1p", { log1p($0) * $1 }, POS, B),
        ("expm1", { expm1($0) * $1 }, A, B), ("sin_cos", { sin($0) * cos($1) }, A, B), ("tan", { tan($0) * $1 }, UNIT, B),
        ("tanh", { tanh($0 * $1) }, A, B), ("sigmoid", { sigmoid($0) * $1 }, A, B),
        ("sqrt_rsqrt", { sqrt($0) + rsqrt($0) * $1 }, POS, B), ("abs", { abs($0) * $1 }, A, B),
        ("erf", { erf($0) * $1 }, A, B), ("erf_inv", { erfInv($0) * $1 }, UNIT, B), ("div", { $0 / $1 }, A, B),
        ("pow", { pow($0, $1) }, POS, B), ("max_min", { maximum($0, $1) - minimum($0 * 2, $1) }, A, B),
        ("atan2", { atan2($0, $1) }, A, B), ("where", { `where`($0 .> $1, $0 * 2, $1 * $1) }, A, B),
        ("reductions", { $0.max(axes: [0]) * $1.sum(axes: [0]) + $0.prod(axes: [0]) }, A, B),
        ("logsumexp", { logSumExp($0 * $1, axes: [1]) }, A, B), ("softmax", { softmax($0) * $1 }, A, B),
        ("matmul", { matmul($0, $1.T) }, A, B), ("transpose_reshape", { $0.reshaped([3, 2]).T * $1 }, A, B),
        ("slice_concat", { concatenate([$0[.all, .stride(by: 2)], $1[.all, 1...]], axis: 1) }, A, B),
        ("index", { $0[Tensor([1, 0, 1] as [Int32])] * $1[0] }, A, B), ("cumsum", { ($0 * $1).cumsum(axis: 1) }, A, B),
        ("sort", { sort($0 * $1, axis: 1) }, A, B), ("pad", { pad($0 * $1, [(1, 2), (0, 1)]) }, A, B),
        ("conv1d", { convolution($0.reshaped([1, 2, 3]), $1.reshaped([3, 2, 1])[0..<2], padding: .same) }, A, B),
        ("gelu", { gelu($0) * $1 }, A, B),
        // jax.nn.relu has its own derivative: 0 where x == 0 (maximum would give 1/2).
        ("relu", { relu($0 - 0.3) * $1 + relu($1 - 0.6) }, A, B),
        ("cond", { a, b in cond(a.sum() .> 0, { (v: [Tensor]) in v[0] * v[1] }, { (v: [Tensor]) in v[0] - v[1] }, [a, b]) }, A, B),
        ("scan", { a, b in scan({ (c: Tensor, v: Tensor) in (c * v + sin(c), c * 2) }, initial: b[0], xs: a).1 }, A, B),
    ]

    @Test(arguments: functions.indices)
    func gradientsAndJVPsMatchJAX(_ i: Int) {
        let (name, f, a, b) = Self.functions[i]
        let ref = { (k: String) in JAXReference.tensor("primgrad.\(name).\(k)") }
        let out = f(a, b)
        expectClose(out, ref("out"), rtol: 1e-10, atol: 1e-12, "\(name) value")
        let w = linspace(-1, 1, count: out.count, dtype: .float64).reshaped(out.shape)
        let (ga, gb) = grad({ (x: Tensor, y: Tensor) in (f(x, y) * w).sum() }, argnums: .both)(a, b)
        expectClose(ga, ref("ga"), rtol: 1e-10, atol: 1e-12, "\(name) grad a")
        expectClose(gb, ref("gb"), rtol: 1e-10, atol: 1e-12, "\(name) grad b")
        let tangent = jvpFlat({ [f($0[0], $0[1])] }, [a, b], [Self.TA, Self.TB]).tangents[0]
        expectClose(tangent, ref("jvp"), rtol: 1e-10, atol: 1e-12, "\(name) jvp")
    }
}
