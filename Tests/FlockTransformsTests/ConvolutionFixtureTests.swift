import Foundation
import Testing
import FlockTestSupport
@testable import FlockTransforms

/// Convolution and both of its gradients against JAX's conv_general_dilated
/// (tools/make_conv_fixtures.py), in float64 and float32, plus `checkGrads`.
/// Channels-last cases (NHWC / HWIO) go through transposes to Flock's NC… / OI… layout.
@Suite struct ConvolutionFixtureTests {
    struct Case: Decodable, CustomStringConvertible, Sendable {
        let name: String
        let strides: [Int], padding: [[Int]]
        let lhs_dilation: [Int], rhs_dilation: [Int]
        let groups: Int
        let channels_last: Bool
        let lhs_shape: [Int], rhs_shape: [Int], out_shape: [Int]
        let lhs: [Double], rhs: [Double], out: [Double], ct: [Double], grad_lhs: [Double], grad_rhs: [Double]
        var description: String { name }

        /// Flock's convolution in the fixture's layout.
        func apply(_ x: Tensor, _ w: Tensor) -> Tensor {
            let n = strides.count
            let toNC = channels_last ? [0, n + 1] + Array(1...n) : nil
            let toOI = channels_last ? [n + 1, n] + Array(0..<n) : nil
            let lhs = toNC.map { x.transposed($0) } ?? x, rhs = toOI.map { w.transposed($0) } ?? w
            let y = convolution(lhs, rhs, strides: strides, padding: .explicit(padding), lhsDilation: lhs_dilation,
                                rhsDilation: rhs_dilation, featureGroupCount: groups)
            return channels_last ? y.transposed([0] + Array(2...(n + 1)) + [1]) : y
        }
    }

    static let cases: [Case] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("convolution.json")
        return try! JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
    }()

    static func values(_ c: Case, _ dtype: DType) -> (x: Tensor, w: Tensor, ct: Tensor) {
        (Tensor(c.lhs, shape: c.lhs_shape).converted(to: dtype), Tensor(c.rhs, shape: c.rhs_shape).converted(to: dtype),
         Tensor(c.ct, shape: c.out_shape).converted(to: dtype))
    }

    @Test(arguments: cases)
    func valueAndGradientsMatchJAX(_ c: Case) {
        for dtype in [DType.float64, .float32] {
            let (x, w, ct) = Self.values(c, dtype)
            let (rtol, atol) = dtype == .float64 ? (1e-10, 1e-10) : (2e-5, 2e-4)
            expectClose(c.apply(x, w), Tensor(c.out, shape: c.out_shape), rtol: rtol, atol: atol, "\(c.name) \(dtype) output")
            let (gx, gw) = grad({ (a: Tensor, b: Tensor) in (c.apply(a, b) * ct).sum() }, argnums: .both)(x, w)
            expectClose(gx, Tensor(c.grad_lhs, shape: c.lhs_shape), rtol: rtol, atol: atol, "\(c.name) \(dtype) lhs gradient")
            expectClose(gw, Tensor(c.grad_rhs, shape: c.rhs_shape), rtol: rtol, atol: atol, "\(c.name) \(dtype) rhs gradient")
        }
    }

    /// Under jit the same gradients (the compiled plan runs the same kernels).
    @Test(arguments: cases)
    func jittedGradientsMatchJAX(_ c: Case) {
        let (x, w, ct) = Self.values(c, .float64)
        let f = jit { (v: [Tensor]) in
            let (gx, gw) = grad({ (a: Tensor, b: Tensor) in (c.apply(a, b) * v[2]).sum() }, argnums: .both)(v[0], v[1])
            return [gx, gw]
        }
        let g = f([x, w, ct])
        expectClose(g[0], Tensor(c.grad_lhs, shape: c.lhs_shape), rtol: 1e-10, atol: 1e-10, "\(c.name) jit lhs gradient")
        expectClose(g[1], Tensor(c.grad_rhs, shape: c.rhs_shape), rtol: 1e-10, atol: 1e-10, "\(c.name) jit rhs gradient")
    }

    @Test(arguments: cases)
    func finiteDifferences(_ c: Case) throws {
        let (x, w, _) = Self.values(c, .float64)
        try checkGrads({ [c.apply($0[0], $0[1])] }, [x, w], order: 1)
    }
}
