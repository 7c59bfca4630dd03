/// Modes checked by ``checkGrads(_:_:order:modes:eps:atol:rtol:seed:)``.
public enum GradCheckMode: Sendable, Hashable {
    /// Forward mode (JVP) against central finite differences.
    case forward
    /// Reverse mode (VJP) against forward mode: ⟨vjp(ct), t⟩ = ⟨ct, jvp(t)⟩.
    case reverse
}

/// Checks the derivatives of `f` numerically, like `jax.test_util.check_grads`.
///
/// In random directions, forward mode is compared with central finite
/// differences and reverse mode with forward mode through the identity
/// ⟨vjp(ct), t⟩ = ⟨ct, jvp(t)⟩; with `order` ≥ 2 the same checks run on the
/// derivative functions. Throws a ``FlockError`` describing the first mismatch,
/// or naming an argument that is not floating point.
///
/// ```swift
/// try checkGrads({ xs in [sin(xs[0]) * xs[1]] }, [x, y], order: 2)
/// ```
public func checkGrads(
    _ f: @escaping ([Tensor]) -> [Tensor], _ args: [Tensor], order: Int = 1,
    modes: Set<GradCheckMode> = [.forward, .reverse], eps: Double? = nil,
    atol: Double? = nil, rtol: Double? = nil, seed: UInt64 = 0
) throws {
    // JAX raises here too: an integer argument has no tangent space, and a
    // finite difference through it would compare against a rounded input.
    if let (i, x) = args.enumerated().first(where: { !$0.element.dtype.isFloatingPoint }) {
        throw FlockError(
            "checkGrads: argument \(i) is \(x.dtype) \(x.shape); finite differences need floating-point arguments "
                + "(convert it, or close over it)")
    }
    var rng = CheckGradsGenerator(seed: seed)
    try checkGradsRecursive(f, args, order: order, modes: modes, eps: eps, atol: atol, rtol: rtol, rng: &rng)
}

private func checkGradsRecursive(
    _ f: @escaping ([Tensor]) -> [Tensor], _ args: [Tensor], order: Int, modes: Set<GradCheckMode>,
    eps: Double?, atol: Double?, rtol: Double?, rng: inout CheckGradsGenerator
) throws {
    guard order >= 1 else { return }
    let isF64 = args.allSatisfy { $0.dtype == .float64 }
    let h = eps ?? (isF64 ? 1e-5 : 1e-3)
    let at = atol ?? (isF64 ? 1e-5 : 2e-2), rt = rtol ?? (isF64 ? 1e-5 : 2e-2)
    let tangents = args.map { randomLike($0, &rng) }
    if modes.contains(.forward) {
        let (_, jvpOut) = try catchingErrors { jvpFlat(f, args, tangents) }
        let plus = try catchingErrors { f(zip(args, tangents).map { $0 + Tensor(h, dtype: $0.dtype) * $1 }) }
        let minus = try catchingErrors { f(zip(args, tangents).map { $0 - Tensor(h, dtype: $0.dtype) * $1 }) }
        for (i, (j, (p, m))) in zip(jvpOut, zip(plus, minus)).enumerated() {
            let numeric = (p - m) / Tensor(2 * h, dtype: p.dtype)
            try requireClose(j, numeric, atol: at, rtol: rt, "JVP of output \(i) vs. finite differences (order \(order))")
        }
    }
    if modes.contains(.reverse) {
        let (outs, jvpOut) = try catchingErrors { jvpFlat(f, args, tangents) }
        let cts = outs.map { randomLike($0, &rng) }
        let (_, pullback) = try catchingErrors { vjpFlat(f, args) }
        let vjpOut = try catchingErrors { pullback(cts) }
        let lhs = try catchingErrors { zip(vjpOut, tangents).map { ($0 * $1).sum().item() }.reduce(0, +) }
        let rhs = try catchingErrors { zip(cts, jvpOut).map { ($0 * $1).sum().item() }.reduce(0, +) }
        let tol = at + rt * Swift.max(Swift.abs(lhs), Swift.abs(rhs))
        if !(Swift.abs(lhs - rhs) <= tol) {
            throw FlockError("checkGrads: VJP and JVP disagree (order \(order)): ⟨vjp(ct), t⟩ = \(lhs), ⟨ct, jvp(t)⟩ = \(rhs)")
        }
    }
    if order > 1 {
        // Check the derivative functions themselves.
        let t = tangents
        if modes.contains(.forward) {
            try checkGradsRecursive({ xs in jvpFlat(f, xs, t).tangents }, args, order: order - 1, modes: modes,
                                    eps: eps, atol: atol, rtol: rtol, rng: &rng)
        }
        if modes.contains(.reverse) {
            let outs = f(args)
            let cts = outs.map { randomLike($0, &rng) }
            try checkGradsRecursive({ xs in vjpFlat(f, xs).pullback(cts) }, args, order: order - 1, modes: modes,
                                    eps: eps, atol: atol, rtol: rtol, rng: &rng)
        }
    }
}

func requireClose(_ a: Tensor, _ b: Tensor, atol: Double, rtol: Double, _ what: String) throws {
    let x = a.toArray(Double.self), y = b.toArray(Double.self)
    guard x.count == y.count else { throw FlockError("checkGrads: \(what): shapes differ, \(a.shape) vs \(b.shape)") }
    for (i, (u, v)) in zip(x, y).enumerated() where !(Swift.abs(u - v) <= atol + rtol * Swift.abs(v)) {
        throw FlockError("checkGrads: \(what): element \(i) is \(u), expected \(v) (atol \(atol), rtol \(rtol))")
    }
}

/// Standard-normal-ish values shaped like `x` (for directions; not JAX's PRNG).
func randomLike(_ x: Tensor, _ rng: inout CheckGradsGenerator) -> Tensor {
    let values = (0..<x.count).map { _ in rng.nextGaussian() }
    return Tensor(values, shape: x.shape).converted(to: x.dtype.isFloatingPoint ? x.dtype : .float32)
}

/// A small deterministic generator for test directions.
struct CheckGradsGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextUniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func nextGaussian() -> Double {
        let u1 = Swift.max(nextUniform(), 1e-300), u2 = nextUniform()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#endif
