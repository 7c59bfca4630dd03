// float32 subnormals against JAX on CPU (Fixtures/subnormals.json, from
// tools/make_subnormal_fixture.py). XLA runs its kernels with
// denormals-are-zero / flush-to-zero, so JAX flushes subnormals in
// arithmetic, comparisons and reductions but keeps them in operations that
// only move bits. Flock keeps IEEE gradual underflow everywhere for now:
// the families that move bits must equal JAX's bit for bit, eager and
// jitted (a flush applied too broadly fails here); the flushing families
// are reported, not yet matched.

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

    /// Where JAX flushes, Flock (IEEE) equals numpy's IEEE result: the report
    /// lists the families a flush-to-zero mode would have to change.
    @Test func flushingFamiliesFollowIEEE() throws {
        let x = Tensor(SubnormalFixture.file.x.map { Float(bitPattern: $0) })
        let y = Tensor(SubnormalFixture.file.y.map { Float(bitPattern: $0) })
        var differ: [String] = []
        for (name, c) in SubnormalFixture.file.cases.sorted(by: { $0.key < $1.key }) where c.flushes {
            let f = try #require(subnormalFamilies[name])
            let got = Self.bits(f(x, y))
            #expect(zip(got, c.ieee).allSatisfy { a, b in a == b || (Float(bitPattern: a).isNaN && Float(bitPattern: b).isNaN) },
                    "\(name): Flock \(got.map { Float(bitPattern: $0) }), IEEE \(c.ieee.map { Float(bitPattern: $0) })")
            if got != c.eager { differ.append(name) }
        }
        print("subnormals: JAX flushes and Flock does not in \(differ.count) families: \(differ.joined(separator: ", "))")
    }
}
