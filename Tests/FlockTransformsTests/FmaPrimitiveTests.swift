// The internal `fma` primitive (a · b + c rounded once), which spells XLA's
// contracted multiply-adds. Oracles: a product whose exact value needs more
// than float32's 24 bits (worked by hand), finite differences for its
// derivatives, the unbatched primitive for vmap, and eager = jitted (the
// jitted loop runs vfmadd in native code) bit for bit.

import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms
@testable import FlockCompiler

@Suite struct FmaPrimitiveTests {
    /// (1 + 2⁻¹²)² − 1 = 2⁻¹¹ + 2⁻²⁴ exactly; rounding the product first gives 2⁻¹¹.
    @Test func roundsOnce() {
        let a = Tensor([1 + 0x1p-12, 2, 0x1p-12] as [Float]), c = Tensor([-1, 1, 0] as [Float])
        let y = lax.fma(a, a, c).toArray(Float.self)
        #expect(y == [0x1p-11 + 0x1p-24, 5, 0x1p-24])
        #expect((a * a + c).toArray(Float.self)[0] == 0x1p-11)
        let d = lax.fma(Tensor([1 + 0x1p-30] as [Double]), Tensor([1 + 0x1p-30] as [Double]), Tensor([-1] as [Double]))
        #expect(d.toArray(Double.self) == [0x1p-29 + 0x1p-60])
    }

    /// Every operand may be rank-0; eager equals jitted (native code) on
    /// values with specials, in every arrangement of scalars.
    @Test(arguments: [[false, false, false], [true, false, false], [false, true, false], [false, false, true], [true, false, true]])
    func jittedEqualsEager(_ scalar: [Bool]) {
        var rng = SplitMix64(seed: 7)
        let n = 1000
        func operand(_ i: Int) -> Tensor {
            if scalar[i] { return Tensor(Float(1.5 + Double(i))) }
            var v = (0..<n).map { _ in Float.random(in: -4...4, using: &rng) }
            v[0] = .nan; v[1] = .infinity; v[2] = -0.0; v[3] = 0x1p-133
            return Tensor(v)
        }
        let (a, b, c) = (operand(0), operand(1), operand(2))
        let f = jit { (v: [Tensor]) in [lax.fma(v[0], v[1], v[2]) * 2] }
        #expect(f.lower([a, b, c]).compile().nativeLoopCount == (NativeLoop.isEnabled ? 1 : 0))
        let jitted = f([a, b, c])[0].toArray(Float.self)
        let eager = (lax.fma(a, b, c) * 2).toArray(Float.self)
        #expect(eager.count == n)
        for i in 0..<n {
            #expect(eager[i].isNaN ? jitted[i].isNaN : eager[i].bitPattern == jitted[i].bitPattern, "element \(i): \(eager[i]) vs \(jitted[i])")
        }
    }

    @Test func derivativesMatchFiniteDifferences() throws {
        let a = Tensor([0.5, -1.25, 2] as [Double]), b = Tensor([3, 0.75, -2] as [Double]), c = Tensor([1, 2, 3] as [Double])
        try checkGrads({ [lax.fma($0[0], $0[1], $0[2])] }, [a, b, c], order: 2)
        try checkGrads({ [lax.fma($0[0], Tensor(2.0, dtype: .float64), $0[1])] }, [a, c], order: 2)
    }

    @Test func vmapAppliesPerExample() {
        let a = Tensor([[1, 2], [3, 4]] as [[Float]]), c = Tensor([0.5, 0.25] as [Float])
        let k = Tensor(Float(3))
        let batched = vmap { (x: Tensor) in lax.fma(x, k, c) }(a).toArray(Float.self)
        #expect(batched == [3.5, 6.25, 9.5, 12.25])
    }

    @Test func badOperandsAreErrors() {
        let f = Tensor([1, 2] as [Float])
        expectFlockError("fma: expected floating-point operands of one dtype") {
            try catchingErrors { lax.fma(Tensor([1, 2] as [Int32]), Tensor([1, 2] as [Int32]), Tensor([1, 2] as [Int32])) }
        }
        expectFlockError("fma: expected floating-point operands of one dtype") {
            try catchingErrors { lax.fma(f, f, Tensor([1, 2] as [Double])) }
        }
        expectFlockError("fma: operand shapes must be [] or equal, got [2], [3], []") {
            try catchingErrors { lax.fma(f, Tensor([1, 2, 3] as [Float]), Tensor(Float(1))) }
        }
    }
}
