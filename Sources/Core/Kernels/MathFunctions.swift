#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// float32 tanh as a rational approximation (the odd 13/6 minimax form that
/// Eigen and XLA's CPU backend use; constants are public data). Accurate to a
/// few ulp, branch-free apart from the clamp, so the loop vectorises.
@inline(__always)
func fastTanh(_ input: Float) -> Float {
    let bound: Float = 7.90531110763549805
    let x = input < -bound ? -bound : (input > bound ? bound : input)
    let x2 = x * x
    var p: Float = -2.76076847742355e-16
    p = p * x2 + 2.00018790482477e-13
    p = p * x2 - 8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    p = p * x
    var q: Float = 1.19825839466702e-06
    q = q * x2 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    let r = p / q
    // Tiny inputs: tanh(x) = x to float precision (keeps -0.0 and denormals
    // exact). Compared on the bits so the select vectorises; NaN is not tiny
    // and propagates through the rational function.
    let tiny = (input.bitPattern & 0x7fff_ffff) < 0x39d1_b717  // |x| < 0.0004
    return tiny ? input : r
}

/// float32 inverse error function: Giles' single-precision approximation
/// ("Approximating the erfinv function", GPU Computing Gems), which XLA uses.
@inline(__always)
func erfInvFloat(_ x: Float) -> Float {
    if Swift.abs(x) >= 1 { return x == 1 ? .infinity : (x == -1 ? -.infinity : .nan) }
    var w = -log1pf(-x * x)
    var p: Float
    if w < 5 {
        w -= 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    } else {
        w = w.squareRoot() - 3
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    }
    return p * x
}

/// float64 inverse error function: the float32 approximation refined by Newton
/// steps (each roughly doubles the correct digits). For |x| ≥ 0.5 the residual
/// is `(1 − |x|) − erfc(y)`: `1 − |x|` is exact there and erfc keeps its digits
/// near 1, where `erf(y) − x` would cancel to a few bits.
func erfInvDouble(_ x: Double) -> Double {
    if Swift.abs(x) >= 1 { return x == 1 ? .infinity : (x == -1 ? -.infinity : .nan) }
    if x == 0 || x.isNaN { return x }
    let a = Swift.abs(x)
    // Float(a) may round to 1 (erfinv = inf); 5.9 is above erfinv of any double below 1.
    var y = Swift.min(Double(erfInvFloat(Float(a))), 5.9)
    let c = 2 / Double.pi.squareRoot()
    for _ in 0..<8 {
        let e = a < 0.5 ? erf(y) - a : (1 - a) - erfc(y)
        let step = e / (c * exp(-y * y))
        y -= step
        if Swift.abs(step) <= 1e-17 * y { break }
    }
    return x < 0 ? -y : y
}
