import Testing
import FlockTestSupport
import FlockCore
import FlockTransforms
@testable import FlockCompiler

/// Bias and activation after a convolution become one fused loop in jit, as after dotGeneral.
@Suite struct ConvolutionFusionTests {
    @Test func biasAndReluFuseAfterConvolution() throws {
        let xs: [Float] = (0..<180).map { (i: Int) -> Float in Float(i % 7) - 3 }
        let ws: [Float] = (0..<108).map { (i: Int) -> Float in Float(i % 5) - 2 }
        let x = Tensor(xs, shape: [2, 3, 6, 5]), w = Tensor(ws, shape: [4, 3, 3, 3])
        let b = Tensor([0.5, -1, 2, -0.25] as [Float])
        let f = { (v: [Tensor]) in [relu(convolution(v[0], v[1], padding: .same) + v[2].reshaped([1, 4, 1, 1]))] }
        let k = optimize(makeJaxpr(f)([x, w, b]))
        try checkJaxpr(k)
        let heavy = k.equations.filter { if case .convolution = $0.primitive { true } else { false } }
        let fused = k.equations.filter { if case .call(_, let kind) = $0.primitive { kind == .fusedElementwise } else { false } }
        #expect(heavy.count == 1 && fused.count == 1, "expected one convolution and one fused loop, got \(k.equations.map { (e: Equation) in e.primitive })")
        expectClose(evalJaxpr(k, [x, w, b])[0], f([x, w, b])[0], rtol: 1e-6, atol: 1e-6, "fused result")
    }
}
