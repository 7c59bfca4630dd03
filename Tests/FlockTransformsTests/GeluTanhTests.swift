// gelu (both forms) through every transform: its custom JVP (XLA's
// rounding of the derivative, Core's NeuralNetwork+Gelu) must still be the derivative
// (finite differences, to second order, in float64) and batch, stage and nest
// like any function. The ulp sweep (UlpSweepTests) holds its values and first
// derivatives to JAX's bit for bit.

import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms

@Suite struct GeluTanhTests {
    static let x = Tensor([-6, -2.5, -0.3, 0, 0.7, 3, 8] as [Double])

    @Test(arguments: [true, false])
    func derivativesMatchFiniteDifferences(_ approximate: Bool) throws {
        try checkGrads({ [gelu($0[0], approximate: approximate)] }, [Self.x], order: 2)
        try checkGrads({ [gelu($0[0] * $0[0], approximate: approximate).sum()] }, [Self.x], order: 2, modes: [.reverse])
    }

    /// vmap(grad), jit(grad) and the gradient of a sum agree, bit for bit, in float32.
    @Test(arguments: [true, false])
    func transformsAgree(_ approximate: Bool) {
        let x = Tensor((0..<64).map { Float($0) / 4 - 10 })
        let g = grad { (v: Tensor) in gelu(v, approximate: approximate).sum() }(x).toArray(Float.self)
        let perExample = vmap(grad { (v: Tensor) in gelu(v, approximate: approximate) })(x).toArray(Float.self)
        let jitted = jit(grad { (v: Tensor) in gelu(v, approximate: approximate).sum() })(x).toArray(Float.self)
        #expect(g.map(\.bitPattern) == perExample.map(\.bitPattern))
        #expect(g.map(\.bitPattern) == jitted.map(\.bitPattern))
        let values = vmap { (v: Tensor) in gelu(v, approximate: approximate) }(x.reshaped([8, 8])).toArray(Float.self)
        #expect(values.map(\.bitPattern) == gelu(x, approximate: approximate).toArray(Float.self).map(\.bitPattern))
    }

    /// Recording a jaxpr refuses another transform's tracer, with an error.
    @Test func recordingRefusesForeignTracers() {
        _ = grad { (outer: Tensor) -> Tensor in
            expectFlockError("recordJaxpr: an operand is a tracer of another transform") {
                try catchingErrors { try recordJaxpr([outer.aval]) { [$0[0] + outer] } }
            }
            return outer.sum()
        }(Tensor([1, 2] as [Float]))
    }
}
