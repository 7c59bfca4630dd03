// float32 subnormals against JAX on CPU (Fixtures/subnormals.json, from
// tools/make_subnormal_fixture.py). XLA runs its kernels with
// denormals-are-zero / flush-to-zero, so JAX flushes subnormals in
// arithmetic, comparisons and reductions but keeps them in operations that
// only move bits. Flock runs its kernels the same way (Core's
// SubnormalMode): every family equals JAX's bits, eager and jitted — the
// families that move bits keep subnormals (a flush applied too broadly fails
// here), the others flush them.

import Foundation
import Testing
@testable import FlockTransforms

struct SubnormalFixture: Decodable, Sendable {
    struct Case: Decodable, Sendable {
        let eager: [UInt32]
        let jit: [UInt32]
        let ieee: [UInt32]
        let flushes: Bool
    }
    let x: [UInt32]
    let y: [UInt32]
    let cases: [String: Case]

    static let file: SubnormalFixture = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("subnormals.json")
        return try! JSONDecoder().decode(SubnormalFixture.self, from: Data(contentsOf: url))
    }()
}

/// Flock's spelling of each family of the fixture.
private let subnormalFamilies: [String: @Sendable (Tensor, Tensor) -> Tensor] = [
    "neg": { x, _ in -x }, "abs": { x, _ in abs(x) },
    "select": { x, y in
        let mask = Tensor((0..<18).map { $0 % 3 != 0 })
        return `where`(mask, x, y)
    },
    "reshape_transpose": { x, _ in x.reshaped([3, 6]).transposed() },
    "concatenate": { x, y in concatenate([x, take(y, indices(Array((0..<18).reversed())))]) },
    "slice_reverse": { x, _ in take(x, indices(Array((0..<18).reversed()[2..<14]))) },
    "broadcast": { x, _ in x.expandingDims(0).broadcast(to: [2, 18]) },
    "take": { x, _ in take(x, Tensor([3, 2, 1, 0, 17, 5] as [Int32])) },
    "add": { $0 + $1 }, "sub": { $0 - $1 }, "mul": { $0 * $1 }, "div": { $0 / $1 },
    "max": { maximum($0, $1) }, "min": { minimum($0, $1) },
    "greater": { $0 .> $1 }, "equal_zero": { x, _ in x .== Tensor(Float(0)) },
    "sign": { x, _ in sign(x) }, "floor": { x, _ in floor(x) }, "sqrt": { x, _ in sqrt(x) },
    "sum": { _, y in take(y, Tensor([0, 1, 3, 4] as [Int32])).sum() },
    "cumsum": { x, _ in take(x, indices(Array(0..<8))).cumsum(axis: 0) },
    "ceil": { x, _ in ceil(x) }, "round": { x, _ in round(x) },
    "clip": { x, _ in clip(x, min: Tensor(Float(-1e-40)), max: Tensor(Float(2e-40))) },
    "square": { x, _ in x * x }, "half": { x, _ in x * Tensor(Float(0.5)) },
    "reduce_max": { x, _ in take(x, indices(Array(0..<6))).max() },
    "reduce_min": { x, _ in take(x, indices(Array(0..<6))).min() },
    "prod": { _, y in take(y, indices([0, 2])).prod() },
    "mean": { x, _ in take(x, indices(Array(0..<4))).mean() },
    "dot": { x, y in matmul(take(y, indices(Array(0..<6))).expandingDims(0), take(x, indices(Array(0..<6))).expandingDims(1)).reshaped([]) },
    "exp": { x, _ in exp(x) }, "log": { x, _ in log(x) }, "rsqrt": { x, _ in rsqrt(x) },
    "logistic": { x, _ in sigmoid(-abs(x) * Tensor(Float(100))) },
    "cummax": { x, _ in take(x, indices(Array(0..<8))).cummax(axis: 0) },
    "less_equal": { $0 .<= $1 },
]

private func indices(_ i: [Int]) -> Tensor { Tensor(i.map(Int32.init)) }

@Suite struct SubnormalTests {
    static let keptFamilies = SubnormalFixture.file.cases.filter { !$0.value.flushes }.keys.sorted()

    @Test func everyFamilyHasASpelling() {
        #expect(Set(SubnormalFixture.file.cases.keys) == Set(subnormalFamilies.keys))
        #expect(Self.keptFamilies.count >= 8, "JAX keeps subnormals in the bit-moving families")
    }

    /// Flock's output as bit patterns (bools as 0 / 1, as the fixture stores them).
    static func bits(_ t: Tensor) -> [UInt32] {
        t.dtype == .bool ? t.toArray(Bool.self).map { $0 ? 1 : 0 } : t.toArray(Float.self).map(\.bitPattern)
    }

    @Test(arguments: keptFamilies)
    func bitMovesKeepSubnormalsAsJAX(_ name: String) throws {
        let c = try #require(SubnormalFixture.file.cases[name]), f = try #require(subnormalFamilies[name])
        let x = Tensor(SubnormalFixture.file.x.map { Float(bitPattern: $0) })
        let y = Tensor(SubnormalFixture.file.y.map { Float(bitPattern: $0) })
        #expect(Self.bits(f(x, y)) == c.eager, "\(name) eager")
        #expect(Self.bits(jit { (a: Tensor, b: Tensor) in f(a, b) }(x, y)) == c.jit, "\(name) jitted")
    }

    /// Where JAX flushes, Flock flushes the same, bit for bit, eager and
    /// jitted (Core's SubnormalMode, and the explicit flush of max, min,
    /// clamp and sign, which choose an operand). The fixture also holds
    /// numpy's IEEE result: each of these families differs from it.
    @Test(arguments: SubnormalFixture.file.cases.filter(\.value.flushes).keys.sorted())
    func flushingFamiliesMatchJAX(_ name: String) throws {
        let c = try #require(SubnormalFixture.file.cases[name]), f = try #require(subnormalFamilies[name])
        let x = Tensor(SubnormalFixture.file.x.map { Float(bitPattern: $0) })
        let y = Tensor(SubnormalFixture.file.y.map { Float(bitPattern: $0) })
        #expect(c.eager != c.ieee, "\(name): JAX's result differs from IEEE's")
        let same = { (a: [UInt32], b: [UInt32]) in
            a.count == b.count && zip(a, b).allSatisfy { p, q in p == q || (Float(bitPattern: p).isNaN && Float(bitPattern: q).isNaN) }
        }
        let eager = Self.bits(f(x, y)), jitted = Self.bits(jit { (a: Tensor, b: Tensor) in f(a, b) }(x, y))
        #expect(same(eager, c.eager), "\(name) eager: Flock \(eager.map { Float(bitPattern: $0) }), JAX \(c.eager.map { Float(bitPattern: $0) })")
        #expect(same(jitted, c.jit), "\(name) jitted: Flock \(jitted.map { Float(bitPattern: $0) }), JAX \(c.jit.map { Float(bitPattern: $0) })")
    }

    /// The user's own code never runs flushed: after Flock's operations the
    /// calling thread still has gradual underflow.
    @Test func callersKeepGradualUnderflow() {
        let tiny = Float.leastNormalMagnitude
        _ = Tensor([tiny, 1]) * Tensor([0.5, 1])
        _ = jit { (a: Tensor) in a * 0.5 }(Tensor([tiny, 1]))
        let half = Tensor([Float(0.5)]).toArray(Float.self)[0]  // a run-time value: no constant folding
        #expect((tiny * half).isSubnormal, "gradual underflow on the caller's thread")
    }
}
