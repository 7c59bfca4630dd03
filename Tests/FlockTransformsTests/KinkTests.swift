// Derivatives at the edges of each function's domain equal JAX's exactly:
// kinks (abs, relu, clip, max at ties), zeros (sqrt, pow), infinities, NaN.
// Fixtures/kinks.json comes from tools/make_kink_fixtures.py.

import Foundation
import Testing
@testable import FlockTransforms

struct KinkCase: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let args: [[UInt32]]
    let shape: [Int]
    let grads: [[UInt32]]
    let values: [UInt32]
    var testDescription: String { name }

    static let all: [KinkCase] = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)?.appendingPathComponent("kinks.json"),
              let data = try? Data(contentsOf: url) else { return [] }
        return (try? JSONDecoder().decode([KinkCase].self, from: data)) ?? []
    }()
}

private func f32(_ v: Double) -> Tensor { Tensor(v, dtype: .float32, weakType: true) }

/// Flock's spelling of each fixture function.
private let unaryKinks: [String: @Sendable (Tensor) -> Tensor] = [
    "abs": { abs($0) }, "sign": { sign($0) }, "sqrt": { sqrt($0) }, "rsqrt": { rsqrt($0) }, "exp": { exp($0) },
    "log": { log($0) }, "log1p": { log1p($0) }, "expm1": { expm1($0) }, "tanh": { tanh($0) }, "sigmoid": { sigmoid($0) },
    "sin": { sin($0) }, "erf": { erf($0) }, "relu": { relu($0) }, "relu6": { relu6($0) }, "softplus": { softplus($0) },
    "silu": { silu($0) }, "gelu_tanh": { gelu($0, approximate: true) }, "gelu_erf": { gelu($0, approximate: false) },
    "leaky_relu": { leakyRelu($0) }, "elu": { elu($0) }, "log_sigmoid": { logSigmoid($0) }, "celu": { celu($0) },
    "selu": { selu($0) }, "hard_tanh": { hardTanh($0) },
    "maximum_0": { maximum($0, f32(0)) }, "minimum_0": { minimum($0, f32(0)) },
    "clip_-1_1": { clip($0, min: f32(-1), max: f32(1)) }, "clip_0_6": { clip($0, min: f32(0), max: f32(6)) },
    "where_positive": { `where`($0 .> 0, $0, f32(0)) }, "where_sqrt": { `where`($0 .> 0, sqrt($0), f32(0)) },
    "square": { square($0) }, "pow_2": { pow($0, 2) }, "pow_3": { pow($0, 3) }, "pow_0": { pow($0, 0) }, "pow_1": { pow($0, 1) },
    "pow_0.5": { pow($0, f32(0.5)) }, "pow_-1": { pow($0, f32(-1)) }, "pow_2.0": { pow($0, Tensor(Float(2))) },
    "two_pow": { pow(Tensor(Float(2)), $0) }, "zero_pow": { pow(Tensor(Float(0)), $0) },
]

private let binaryKinks: [String: @Sendable (Tensor, Tensor) -> Tensor] = [
    "maximum": { maximum($0, $1) }, "minimum": { minimum($0, $1) }, "pow": { pow($0, $1) },
    "atan2": { atan2($0, $1) }, "logaddexp": { logAddExp($0, $1) },
]

private let arrayKinks: [String: @Sendable (Tensor) -> Tensor] = [
    "max": { $0.max() }, "min": { $0.min() },
    "sort_weighted": { (sort($0) * arange(1, Double($0.shape[0] + 1), dtype: .float32)).sum() },
    "take_argmax": { take($0, $0.argmax()) }, "logsumexp": { logSumExp($0) }, "softmax_first": { softmax($0)[0] },
    "cumlogsumexp_weighted": { (cumLogSumExp($0) * arange(1, Double($0.shape[0] + 1), dtype: .float32)).sum() },
]

@Test(arguments: KinkCase.all)
func derivativesAtKinksMatchJAX(_ c: KinkCase) throws {
    let args = c.args.map { Tensor($0.map { Float(bitPattern: $0) }, shape: c.shape) }
    let grads: [Tensor], values: Tensor
    if let f = unaryKinks[c.name] {
        grads = [grad { (x: Tensor) in f(x).sum() }(args[0])]
        values = f(args[0])
    } else if let f = binaryKinks[c.name] {
        grads = grad { (xy: [Tensor]) in f(xy[0], xy[1]).sum() }(args)
        values = f(args[0], args[1])
    } else if let f = arrayKinks[String(c.name.prefix { $0 != "/" })] {
        grads = [grad(f)(args[0])]
        values = f(args[0])
    } else {
        Issue.record("\(c.name): no Flock function for this fixture")
        return
    }
    let tolerance = smoothTolerance[String(c.name.prefix { $0 != "/" })] ?? 4e-7
    let got = values.toArray(Float.self)
    #expect(got.count == c.values.count, "\(c.name): \(got.count) values, JAX has \(c.values.count)")
    for (i, (v, want)) in zip(got, c.values).enumerated() {
        #expect(sameDerivative(v, Float(bitPattern: want), tolerance: tolerance),
                "\(c.name) value at element \(i): Flock \(v), JAX \(Float(bitPattern: want))")
    }
    for (k, (g, want)) in zip(grads, c.grads).enumerated() {
        let got = g.toArray(Float.self)
        for i in 0..<want.count {
            let w = Float(bitPattern: want[i])
            #expect(sameDerivative(got[i], w, tolerance: tolerance),
                    "\(c.name) ∂/∂arg\(k) at \(c.args.map { Float(bitPattern: $0[i]) }): Flock \(got[i]), JAX \(w)")
        }
    }
}

/// (Values are held to the same rule.) The one-sided choices must be JAX's exactly: NaN where JAX has NaN,
/// infinities and zeros (with their sign) alike. Finite non-zero values may
/// differ by the elementwise kernels' rounding (issue 12 item 4), within
/// `tolerance` relative.
private func sameDerivative(_ got: Float, _ want: Float, tolerance: Float) -> Bool {
    if got.bitPattern == want.bitPattern || (got.isNaN && want.isNaN) { return true }
    guard want.isFinite, want != 0, got.isFinite, got != 0 else { return false }
    return abs(got - want) <= tolerance * abs(want)
}

/// Functions not yet within a few ulp of XLA here: GELU's tanh form (XLA fuses
/// x + 0.044715·x³ into one multiply-add and 1 + tanh cancels; see
/// UlpSweepTests), tanh's derivative (these fixtures are JAX's eager grad,
/// where d + d·y rounds twice; jitted, XLA fuses it into one multiply-add as
/// Flock computes it) and the reductions, whose summation order differs.
private let smoothTolerance: [String: Float] = [
    "tanh": 3e-6,
    "gelu_tanh": 1e-4, "logsumexp": 1e-6, "softmax_first": 1e-6, "cumlogsumexp_weighted": 1e-6,
]

@Test func kinkFixturesLoad() {
    #expect(KinkCase.all.count > 60)
}
