import FlockTestSupport
import Testing
@testable import FlockTransforms

/// Jacobians, Hessians, jvp/vjp and grad over pytrees with argnums, against
/// JAX (tools/make_pytree_fixtures.py).
@Suite struct DifferentiationTreeTests {
    typealias R = PyTreeReference
    static func g(_ p: [String: Tensor], _ x: Tensor) -> Tensor { tanh(matmul(x, p["w"]!) + p["b"]!) }
    static func h(_ p: [String: Tensor], _ x: Tensor) -> Tensor {
        let t = tanh(matmul(x, p["w"]!) + p["b"]!)
        return (t * t).sum() + (x * x * x).sum()
    }
    static var x3: Tensor { R.input("x3") }

    static func expectParams(_ p: [String: Tensor]?, _ name: String, rtol: Double = 2e-5) {
        guard let p else { Issue.record("\(name): nil"); return }
        for k in ["w", "b"] { expectClose(p[k]!, R.tensor("\(name)['\(k)']"), rtol: rtol, atol: 1e-6, "\(name)['\(k)']") }
    }

    @Test func jacobiansWithRespectToParams() {
        let (jf, nf) = jacfwd(Self.g, argnums: [0])(R.params, Self.x3)
        Self.expectParams(jf, "jacfwd.arg0")
        #expect(nf == nil)
        let (jr, _) = jacrev(Self.g, argnums: [0])(R.params, Self.x3)
        Self.expectParams(jr, "jacrev.arg0")
        // The single-argument pytree forms agree.
        Self.expectParams(jacfwd { Self.g($0, Self.x3) }(R.params), "jacfwd.arg0")
        Self.expectParams(jacrev { Self.g($0, Self.x3) }(R.params), "jacrev.arg0")
    }

    @Test func jacobiansWithRespectToBothArguments() {
        for (forward, name) in [(true, "jacfwd.both"), (false, "jacrev.both")] {
            let (jp, jx) = (forward ? jacfwd(Self.g, argnums: [0, 1]) : jacrev(Self.g, argnums: [0, 1]))(R.params, Self.x3)
            Self.expectParams(jp, "\(name)[0]")
            expectClose(jx!, R.tensor("\(name)[1]"), rtol: 2e-5, atol: 1e-6, "\(name)[1]")
        }
        let (none, jx) = jacfwd(Self.g, argnums: [1])(R.params, Self.x3)
        #expect(none == nil)
        expectClose(jx!, R.tensor("jacfwd.arg1"), rtol: 2e-5, atol: 1e-6, "jacfwd.arg1")
    }

    @Test func hessianOverADictionary() {
        let rows = hessian { (p: [String: Tensor]) in Self.h(p, Self.x3) }(R.params)
        // Leaves in key order b, w: rows[0] is d/db, rows[1] is d/dw.
        for (i, outer) in ["b", "w"].enumerated() {
            for inner in ["b", "w"] {
                expectClose(rows[i][inner]!, R.tensor("hessian.arg0['\(outer)']['\(inner)']"), rtol: 5e-5, atol: 1e-5, "H[\(outer)][\(inner)]")
            }
        }
        expectClose(hessian { (x: Tensor) in Self.h(R.params, x) }(Self.x3), R.tensor("hessian.arg1"), rtol: 5e-5, atol: 1e-5, "hessian x")
    }

    @Test func gradWithArgnumsOfThreeArguments() {
        let loss = VmapTreeTests.loss
        let (dp, dx, dy) = grad(loss, argnums: [0, 2])(R.params, R.input("x"), R.input("y"))
        Self.expectParams(dp, "grad.arg02of3[0]")
        #expect(dx == nil)
        expectClose(dy!, R.tensor("grad.arg02of3[1]"), rtol: 2e-5, atol: 1e-6, "dy")
        let (value, grads) = valueAndGrad(loss, argnums: [2])(R.params, R.input("x"), R.input("y"))
        expectClose(value, loss(R.params, R.input("x"), R.input("y")), rtol: 0, atol: 0, "value")
        expectClose(grads.2!, R.tensor("grad.arg2of3"), rtol: 2e-5, atol: 1e-6, "arg 2")
    }

    @Test func jvpAndVjpOfTwoPytreeArguments() {
        let ones = treeMap(R.params) { onesLike($0) }
        let (y, dy) = jvp(Self.g, at: (R.params, Self.x3), tangents: (ones, onesLike(Self.x3)))
        expectClose(y, R.tensor("jvp.two_args.out"), rtol: 1e-6, "jvp out")
        expectClose(dy, R.tensor("jvp.two_args.tangent"), rtol: 2e-5, atol: 1e-6, "jvp tangent")
        let (out, pullback) = vjp(Self.g, at: (R.params, Self.x3))
        let (dp, dx) = pullback(onesLike(out))
        Self.expectParams(dp, "vjp.two_args[0]")
        expectClose(dx, R.tensor("vjp.two_args[1]"), rtol: 2e-5, atol: 1e-6, "vjp x")
    }

    @Test func badArgnumsAndTangentsAreErrors() {
        expectFlockError("jacrev: argnums 2 is out of range for a function of 2 arguments") {
            try catchingErrors { jacrev(Self.g, argnums: [2])(R.params, Self.x3) }
        }
        expectFlockError("grad: argnums must name at least one argument") {
            try catchingErrors { grad(VmapTreeTests.loss, argnums: [])(R.params, R.input("x"), R.input("y")) }
        }
        expectFlockError("for leaf 0 (shape [3]) of argument 1") {
            try catchingErrors { jacfwd(Self.g, argnums: [1])(R.params, Tensor([1, 2, 3] as [Int32])) }
        }
        expectFlockError("jvp: the tangent of argument 0 must have the primal's tree structure") {
            try catchingErrors { jvp(Self.g, at: (R.params, Self.x3), tangents: (["w": R.input("w")], Self.x3)) }
        }
    }
}
