// float32 rsqrt against XLA CPU bit for bit (Fixtures/rsqrt.json, from
// tools/make_rsqrt_fixture.py): values and derivatives at ~5900 points —
// every binade from the subnormals up, random bit patterns, a grid of
// [0, 4], ±0, ±inf, NaN and negatives — eager and jitted. XLA refines the
// CPU's estimate with a vendor-dependent number of Newton steps
// (`XLARsqrt`); on a machine of another kind than the fixture's the bound
// is the 1 ulp (2 for the derivative) that separates the two. Where XLA
// flushes a subnormal result to zero, Flock's subnormal counts as equal.

import Foundation
import Testing
@testable import FlockCore
@testable import FlockTransforms

struct RsqrtFixture: Decodable, Sendable {
    let newtonSteps: Int
    let x: [UInt32]
    let value: [UInt32]
    let derivative: [UInt32]

    static let file: RsqrtFixture = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("rsqrt.json")
        return try! JSONDecoder().decode(RsqrtFixture.self, from: Data(contentsOf: url))
    }()
}

@Suite struct RsqrtFixtureTests {
    static var bound: (value: Int, derivative: Int) {
        XLARsqrt.newtonSteps == RsqrtFixture.file.newtonSteps ? (0, 0) : (1, 2)
    }

    @Test(arguments: ["eager", "jitted"])
    func matchesXLA(_ mode: String) {
        let fixture = RsqrtFixture.file
        let x = Tensor(fixture.x.map { Float(bitPattern: $0) })
        let value: (Tensor) -> Tensor = { rsqrt($0) }
        let derivative: (Tensor) -> Tensor = { vmap(grad { (v: Tensor) in rsqrt(v) })($0) }
        let y = (mode == "jitted" ? jit(value)(x) : value(x)).toArray(Float.self)
        let dy = (mode == "jitted" ? jit(derivative)(x) : derivative(x)).toArray(Float.self)
        var worst = (value: 0, derivative: 0)
        for i in y.indices {
            let want = Float(bitPattern: fixture.value[i]), wantD = Float(bitPattern: fixture.derivative[i])
            // XLA flushes subnormal results to zero (FTZ); Flock keeps them.
            func distance(_ got: Float, _ jax: Float) -> Int { jax == 0 && got.isSubnormal ? 0 : ulpDistance(got, jax) }
            let d = distance(y[i], want), dd = distance(dy[i], wantD)
            worst = (max(worst.value, d), max(worst.derivative, dd))
            if d > Self.bound.value || (d == 0 && y[i].sign != want.sign && !want.isNaN) {
                Issue.record("rsqrt(\(Float(bitPattern: fixture.x[i]))) \(mode): Flock \(y[i]), JAX \(want), \(d) ulp")
                return
            }
            if dd > Self.bound.derivative {
                Issue.record("rsqrt'(\(Float(bitPattern: fixture.x[i]))) \(mode): Flock \(dy[i]), JAX \(wantD), \(dd) ulp")
                return
            }
        }
        print("rsqrt \(mode): worst \(worst.value) ulp in value, \(worst.derivative) in derivative over \(y.count) points")
    }
}
