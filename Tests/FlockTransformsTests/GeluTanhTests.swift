// gelu (both forms) through every transform: its custom JVP (XLA's
// rounding of the derivative, API/NeuralNetwork+Gelu.swift) must still be the derivative
// (finite differences, to second order, in float64) and batch, stage and nest
// like any function. The ulp sweep (UlpSweepTests) holds its values and first
// derivatives to JAX's bit for bit.

import Foundation
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

    /// JAX's values and derivatives (`vmap(grad(gelu))`) of `jax.nn.gelu` in
    /// float32 and float64 (Fixtures/nn_ops.json, tools/make_fixtures.py):
    /// eager and jitted, each within the case's tolerance.
    @Test(arguments: GeluCase.all)
    func matchesJAX(_ c: GeluCase) {
        let f: (Tensor) -> Tensor = c.fn == "gelu_grad"
            ? { vmap(grad { (v: Tensor) in gelu(v, approximate: c.approximate) })($0) }
            : { gelu($0, approximate: c.approximate) }
        let x = c.args[0].tensor, want = c.out[0].tensor
        expectClose(f(x), want, rtol: c.rtol, atol: c.atol, sameDType: true, "\(c.name) eager")
        expectClose(jit(f)(x), want, rtol: c.rtol, atol: c.atol, sameDType: true, "\(c.name) jitted")
    }
}

/// A case of Fixtures/nn_ops.json (the schema of FlockCoreTests' ops.json:
/// arrays as raw little-endian bytes in hex).
struct GeluCase: Decodable, Sendable, CustomTestStringConvertible {
    struct Array: Decodable, Sendable {
        let dtype: String
        let shape: [Int]
        let hex: String

        var tensor: Tensor {
            let bytes = stride(from: 0, to: hex.utf8.count, by: 2).map { i -> UInt8 in
                let digits = Swift.Array(hex.utf8)[i...i + 1]
                return UInt8(String(decoding: digits, as: UTF8.self), radix: 16)!
            }
            switch dtype {
            case "float32":
                let v = stride(from: 0, to: bytes.count, by: 4).map { i in
                    Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * $1) })
                }
                return Tensor(v, shape: shape)
            case "float64":
                let v = stride(from: 0, to: bytes.count, by: 8).map { i in
                    Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * $1) })
                }
                return Tensor(v, shape: shape)
            default: fatalError("nn_ops.json: dtype \(dtype) is not decoded here")
            }
        }
    }
    struct Params: Decodable, Sendable { let approximate: Bool }

    let name: String
    let fn: String
    let args: [Array]
    let params: Params
    let out: [Array]
    let rtol: Double
    let atol: Double

    var approximate: Bool { params.approximate }
    var testDescription: String { name }

    static let all: [GeluCase] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("nn_ops.json")
        return try! JSONDecoder().decode([GeluCase].self, from: Data(contentsOf: url))
    }()
}
