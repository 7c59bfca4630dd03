import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms
@testable import FlockCompiler

/// Fusion groups must stay acyclic as a whole, not only convex one by one.
@Suite struct FusionCycleTests {
    static let v = Tensor((0..<16).map { Float(($0 * 7) % 16) / 4 - 1.75 }, shape: [4, 4])

    /// Two groups each feeding the other through a transpose (A → Tᵀ → B and
    /// B → Tᵀ → A): each is convex on its own, yet neither can run first. The
    /// pattern of a masked attention's jitted gradient, reduced.
    static func crossFeeding(_ x: [Tensor]) -> [Tensor] {
        let a1 = exp(x[0])
        let b2 = tanh(x[0])
        let a3 = a1 + -(b2.T)
        let b3 = -(a1.T) * b2
        return [a3, b3]
    }

    @Test func groupsFeedingEachOtherAreNotBothFused() throws {
        let j = makeJaxpr(Self.crossFeeding)([Self.v])
        let k = fuseElementwise(j)
        try checkJaxpr(k)
        let o = optimize(j)
        try checkJaxpr(o)
        let want = Self.crossFeeding([Self.v])
        for (i, (g, w)) in zip(evalJaxpr(k, [Self.v]), want).enumerated() { expectIdentical(g, w, "fused output \(i)") }
        for (i, (g, w)) in zip(jit(Self.crossFeeding)([Self.v]), want).enumerated() { expectIdentical(g, w, "jit output \(i)") }
    }

    /// Random small programs of elementwise operations, selects, broadcasts
    /// of row sums and transposes (which no loop fuses) over earlier values:
    /// optimized programs type-check (no cycle, no use before definition) and
    /// jit equals eager bit for bit.
    @Test(arguments: 0..<200)
    func randomProgramsFuseSoundly(_ seed: Int) throws {
        var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        var ops: [(Int, Int, Int)] = []
        for _ in 0..<(6 + next(18)) { ops.append((next(9), next(64), next(64))) }
        let program = { (x: [Tensor]) -> [Tensor] in
            var values = [x[0], x[1]]
            for (op, a, b) in ops {
                let p = values[a % values.count], q = values[b % values.count]
                switch op {
                case 0: values.append(tanh(p))
                case 1: values.append(p + q)
                case 2: values.append(p * q)
                case 3: values.append(p.T)
                case 4: values.append(select(p .> q, p, q * 0.5))
                case 5: values.append(p.sum(axes: [1], keepDims: true).broadcast(to: [4, 4]))
                case 6: values.append(p - 1)
                case 7: values.append(-(p.T))
                default: values.append(p.max(axes: [0], keepDims: true).broadcast(to: [4, 4]) * q)
                }
            }
            return Array(values.suffix(3))
        }
        let xs = [Self.v, Self.v.T * 0.5]
        let k = optimize(makeJaxpr(program)(xs))
        try checkJaxpr(k)
        let want = program(xs)
        for (i, (g, w)) in zip(jit(program)(xs), want).enumerated() { expectIdentical(g, w, "seed \(seed) output \(i)") }
    }
}
