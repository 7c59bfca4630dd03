// The eager fast path of same-dtype, same-shape binary arithmetic
// (Core's EagerFastPath.swift) computes what the general path does. Oracles:
// Swift's own IEEE and wrapping integer arithmetic element by element (float
// operands and results flushed to zero where subnormal, as Flock's kernels
// run: Core's SubnormalMode, checked against JAX in SubnormalTests), and the
// jitted function (which never takes the fast path) bit for bit, NaNs and
// signed zeros included; under transforms and on donated arrays the general
// path's behaviour stays.

import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms
@testable import FlockCompiler

@Suite struct EagerFastPathTests {
    static let floats: [Float] = [0, -0.0, 1, -1, 0.1, 3.4e38, -3.4e38, 0x1p-133, -7, .infinity, -.infinity, .nan, 2, 0.5, 9]
    static let others: [Float] = [-0.0, 0, 3, 0.3, 1e-3, 3.4e38, 2, -0x1p-133, .infinity, 7, .infinity, 1, .nan, -3, 0.25]

    struct Op: CustomTestStringConvertible, Sendable {
        let name: String
        let apply: @Sendable (Tensor, Tensor) -> Tensor
        let float: @Sendable (Float, Float) -> Float
        let double: @Sendable (Double, Double) -> Double
        let int32: @Sendable (Int32, Int32) -> Int32
        var testDescription: String { name }
    }

    static let ops: [Op] = [
        Op(name: "+", apply: { $0 + $1 }, float: { $0 + $1 }, double: { $0 + $1 }, int32: { $0 &+ $1 }),
        Op(name: "-", apply: { $0 - $1 }, float: { $0 - $1 }, double: { $0 - $1 }, int32: { $0 &- $1 }),
        Op(name: "*", apply: { $0 * $1 }, float: { $0 * $1 }, double: { $0 * $1 }, int32: { $0 &* $1 }),
        Op(name: "maximum", apply: { maximum($0, $1) }, float: { Swift.max($0, $1) }, double: { Swift.max($0, $1) },
           int32: { Swift.max($0, $1) }),
        Op(name: "minimum", apply: { minimum($0, $1) }, float: { Swift.min($0, $1) }, double: { Swift.min($0, $1) },
           int32: { Swift.min($0, $1) }),
    ]

    /// A subnormal as a zero of its sign (denormals-are-zero / flush-to-zero).
    static func flushed(_ x: Float) -> Float { x.isSubnormal ? (x.sign == .minus ? -0.0 : 0.0) : x }

    /// Equal as bit patterns (NaN payloads aside), so −0 ≠ +0.
    static func same(_ a: Float, _ b: Float) -> Bool { a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern }
    static func same(_ a: Double, _ b: Double) -> Bool { a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern }

    @Test(arguments: ops)
    func float32MatchesSwiftAndJit(_ op: Op) {
        let a = Tensor(Self.floats), b = Tensor(Self.others)
        let eager = op.apply(a, b).toArray(Float.self)
        let jitted = jit(name: "fast_path_\(op.name)", op.apply)(a, b).toArray(Float.self)
        for i in eager.indices {
            let (x, y) = (Self.floats[i], Self.others[i])
            #expect(Self.same(eager[i], jitted[i]), "\(x) \(op.name) \(y): eager \(eager[i]), jitted \(jitted[i])")
            // Swift's max/min differ from lax's on NaN and on ±0 ties: jit is the oracle there.
            if op.name.count > 1 && (x.isNaN || y.isNaN || Self.flushed(x) == Self.flushed(y)) { continue }
            let swift = Self.flushed(op.float(Self.flushed(x), Self.flushed(y)))
            #expect(Self.same(eager[i], swift), "\(x) \(op.name) \(y): eager \(eager[i]), Swift \(swift)")
        }
    }

    @Test func float32DivisionMatchesSwift() {
        let a = Tensor(Self.floats), b = Tensor(Self.others)
        let q = (a / b).toArray(Float.self)
        for i in q.indices {
            let swift = Self.flushed(Self.flushed(Self.floats[i]) / Self.flushed(Self.others[i]))
            #expect(Self.same(q[i], swift), "\(Self.floats[i]) / \(Self.others[i])")
        }
    }

    @Test(arguments: ops)
    func float64AndInt32MatchSwift(_ op: Op) {
        let xs = Self.floats.map(Double.init).filter(\.isFinite), ys = Self.others.map(Double.init).filter(\.isFinite)
        let n = Swift.min(xs.count, ys.count)
        let d = op.apply(Tensor(Array(xs.prefix(n))), Tensor(Array(ys.prefix(n))))
        #expect(d.dtype == .float64)
        for (i, v) in d.toArray(Double.self).enumerated() where !(op.name.count > 1 && xs[i] == ys[i]) {
            #expect(Self.same(v, op.double(xs[i], ys[i])), "\(xs[i]) \(op.name) \(ys[i])")
        }
        let ia: [Int32] = [0, 1, -1, .max, .min, 46341, -7, 12], ib: [Int32] = [5, .max, .min, 1, -1, 46341, 3, -12]
        let r = op.apply(Tensor(ia), Tensor(ib))
        #expect(r.dtype == .int32)
        #expect(r.toArray(Int32.self) == zip(ia, ib).map(op.int32))
    }

    static let unaryFunctions: [(String, @Sendable (Tensor) -> Tensor)] = [
        ("exp", { exp($0) }), ("log", { log($0) }), ("log1p", { log1p($0) }), ("expm1", { expm1($0) }),
        ("sin", { sin($0) }), ("cos", { cos($0) }), ("tan", { tan($0) }), ("tanh", { tanh($0) }),
        ("sigmoid", { sigmoid($0) }), ("sqrt", { sqrt($0) }), ("rsqrt", { rsqrt($0) }), ("erf", { erf($0) }),
        ("erfc", { erfc($0) }), ("erfinv", { erfInv($0) }),
    ]

    /// Functions of one operand: eager (fast path) = jitted, bit for bit, in
    /// float32 and float64; the weak type of a literal operand stays, as in JAX
    /// (`jnp.exp(0.5)` is a weak float32).
    @Test(arguments: unaryFunctions.indices)
    func floatFunctionsMatchJit(_ k: Int) {
        let (name, f) = Self.unaryFunctions[k]
        for x in [Tensor(Self.floats + [0.3, -0.7, 0.999]), Tensor((Self.floats + [0.3, -0.7]).map(Double.init))] {
            let eager = f(x), jitted = jit(name: "fast_path_\(name)", f)(x)
            #expect(eager.dtype == x.dtype && !eager.weakType)
            let e = eager.toArray(Double.self), j = jitted.toArray(Double.self)
            for i in e.indices {
                #expect(e[i].isNaN ? j[i].isNaN : e[i].bitPattern == j[i].bitPattern, "\(name)(\(x.dtype)) element \(i): \(e[i]) vs \(j[i])")
            }
        }
        let weak = f(0.5 as Tensor)
        #expect(weak.weakType && weak.dtype == .float32)
    }

    /// Operands that leave the fast path (a weak literal, broadcasting, mixed
    /// dtypes, float16) still promote and broadcast as JAX does.
    @Test func otherOperandsTakeTheGeneralPath() {
        let x = Tensor([1, 2, 3] as [Float])
        #expect((x + 1).toArray(Float.self) == [2, 3, 4])
        #expect((x + 1).dtype == .float32)
        #expect((x + Tensor([[10], [20]] as [[Float]])).shape == [2, 3])
        #expect((x + Tensor([1, 1, 1] as [Int32])).dtype == .float32)
        let h = x.converted(to: .float16)
        #expect((h + h).dtype == .float16)
        #expect((h + h).toArray(Float.self) == [2, 4, 6])
    }

    /// Under grad and vmap the operation is seen by the transform (the fast
    /// path only runs under evaluation).
    @Test func transformsSeeTheOperation() {
        let x = Tensor([1, 2, 3] as [Float]), y = Tensor([4, 5, 6] as [Float])
        #expect(grad { (a: Tensor) in (a * y).sum() }(x).toArray(Float.self) == [4, 5, 6])
        #expect(vmap { (a: Tensor) in a + a }(Tensor([[1, 2], [3, 4]] as [[Float]])).toArray(Float.self) == [2, 4, 6, 8])
    }

    /// A donated array is still reported as deleted, not read.
    @Test func donatedOperandIsAnError() {
        let f = jit(donateArgnums: [0]) { (a: Tensor) in a * 2 }
        let a = Tensor([1, 2, 3] as [Float]) + Tensor([0, 0, 0] as [Float])
        _ = f(a)
        #expect(a.isDeleted)
        expectFlockError("donated to a jitted function") { try catchingErrors { a + Tensor([1, 1, 1] as [Float]) } }
    }
}
