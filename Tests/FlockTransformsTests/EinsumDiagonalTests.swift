import FlockTestSupport
import Testing
@testable import FlockTransforms

/// einsum with a letter repeated within one operand (diagonals and traces),
/// against JAX (tools/make_pytree_fixtures.py).
@Suite struct EinsumDiagonalTests {
    typealias R = PyTreeReference

    @Test(arguments: [
        ("ii->i", ["m"]), ("ii->", ["m"]), ("ii", ["m"]), ("iij->j", ["t"]), ("iij->ij", ["t"]), ("jii->ij", ["t2"]),
        ("ii,ij->j", ["m", "n"]), ("ij,jj->i", ["n", "m"]), ("iij,i->j", ["t", "x3"]),
    ])
    func matchesJAX(_ spec: String, _ inputs: [String]) {
        let out = einsum(spec, inputs.map(R.input))
        expectClose(out, R.tensor("einsum.\(spec)"), rtol: 1e-6, atol: 1e-6, spec)
        let jitted = jit { (xs: [Tensor]) in [einsum(spec, xs)] }(inputs.map(R.input))[0]
        expectIdentical(jitted, out, "jit(einsum \(spec))")
    }

    @Test func gradientOfTheTraceIsTheIdentity() {
        let g = grad { (m: Tensor) in einsum("ii->", m) }(R.input("m"))
        #expect(g.toArray(Float.self) == [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let d = grad { (m: Tensor) in (einsum("ii->i", m) * Tensor([1, 2, 3] as [Float])).sum() }(R.input("m"))
        #expect(d.toArray(Float.self) == [1, 0, 0, 0, 2, 0, 0, 0, 3])
    }

    @Test func aDiagonalOverUnequalAxesIsAnError() {
        expectFlockError("letter \"i\" repeats in \"iij\" over axes of sizes 3 and 4") {
            try catchingErrors { einsum("iij->j", zeros([3, 4, 2])) }
        }
    }
}
