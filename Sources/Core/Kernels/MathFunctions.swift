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

// The inverse error function matches XLA's CPU backend bit for bit (jax 0.10.2,
// all branches: see the erfInv cases of RandomTests), because
// `jax.random.normal` and `truncated_normal` are built on it. XLA expands
// erf_inv into Giles' polynomials ("Approximating the erfinv function", GPU
// Computing Gems), computes log1p with its own rational approximation, and
// LLVM contracts every `c + p * w` of the Horner schemes into one fused
// multiply-add; the functions below do the same, in the same order.

@inline(__always)
private func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

@inline(__always)
private func fusedMultiplyAdd(_ a: Double, _ b: Double, _ c: Double) -> Double { c.addingProduct(a, b) }

/// float32 natural logarithm as XLA's CPU backend computes it: Cephes' degree-8
/// polynomial on the mantissa reduced to [√½, √2), with ln 2 split in two parts.
/// Within 1 ulp of the correctly rounded value; denormal inputs count as the
/// smallest normal number.
@inline(__always)
func xlaLogFloat(_ x: Float) -> Float {
    if !(x > 0) { return x == 0 ? -.infinity : .nan }
    if x == .infinity { return x }
    let bits = Swift.max(x, .leastNormalMagnitude).bitPattern
    var e = 1 + Float(Int32(bitPattern: bits >> 23) - 0x7f)
    var m = Float(bitPattern: (bits & ~0x7f80_0000) | Float(0.5).bitPattern)  // in [0.5, 1)
    let small = m < 0.707106781186547524
    let extra: Float = small ? m : 0
    m = m - 1
    e = e - (small ? 1 : 0)
    m = m + extra  // m ∈ [√½ − 1, √2 − 1)
    let m2 = m * m, m3 = m2 * m
    var y = fusedMultiplyAdd(m, 7.0376836292e-2, -1.1514610310e-1)
    var y1 = fusedMultiplyAdd(m, -1.2420140846e-1, 1.4249322787e-1)
    var y2 = fusedMultiplyAdd(m, 2.0000714765e-1, -2.4999993993e-1)
    y = fusedMultiplyAdd(y, m, 1.1676998740e-1)
    y1 = fusedMultiplyAdd(y1, m, -1.6668057665e-1)
    y2 = fusedMultiplyAdd(y2, m, 3.3333331174e-1)
    y = fusedMultiplyAdd(y, m3, y1)
    y = fusedMultiplyAdd(y, m3, y2)
    y = fusedMultiplyAdd(y, m3, -2.12194440e-4 * e)
    var r = m - 0.5 * m2
    r = r + y
    return r + 0.693359375 * e
}

/// float32 error function as XLA's CPU backend computes it: Eigen's rational
/// approximation (odd numerator, even denominator in x²), ±1 beyond |x| ≥ 3.8325.
@inline(__always)
func xlaErfFloat(_ x: Float) -> Float {
    if Swift.abs(x) >= 3.832506856900711 { return x.isNaN ? x : (x < 0 ? -1 : 1) }
    let x2 = x * x
    var p = fusedMultiplyAdd(x2, 0.00022905065861350646, 0.0034082910107109506)
    p = fusedMultiplyAdd(x2, p, 0.050955695062380861)
    p = fusedMultiplyAdd(x2, p, 0.18520832239976145)
    p = fusedMultiplyAdd(x2, p, 1.128379143519084)
    var q = fusedMultiplyAdd(x2, -1.1791602954361697e-7, 0.000023547966471313185)
    q = fusedMultiplyAdd(x2, q, 0.0010179625278914885)
    q = fusedMultiplyAdd(x2, q, 0.014070470171167667)
    q = fusedMultiplyAdd(x2, q, 0.11098505178285362)
    q = fusedMultiplyAdd(x2, q, 0.49746925110067538)
    q = fusedMultiplyAdd(x2, q, 1)
    return x * p / q
}

/// Numerator and denominator of the Cephes rational approximation of
/// log1p(x) = x − x²/2 + x³·P(x)/Q(x) that XLA uses for small |x|.
private let log1pNumerator: [Double] = [
    4.5270000862445199635215e-5, 4.9854102823193375972212e-1, 6.5787325942061044846969e0,
    2.9911919328553073277375e1, 6.0949667980987787057556e1, 5.7112963590585538103336e1,
    2.0039553499201281259648e1,
]
private let log1pDenominator: [Double] = [
    1, 1.5062909083469192043167e1, 8.3047565967967209469434e1, 2.2176239823732856465394e2,
    3.0909872225312059774938e2, 2.1642788614495947685003e2, 6.0118660497603843919306e1,
]

/// float32 log(1 + x) as XLA's CPU backend: the rational form for |x| < √2 − 1,
/// else ``xlaLogFloat(_:)`` of 1 + x.
@inline(__always)
func xlaLog1pFloat(_ x: Float) -> Float {
    guard Swift.abs(x) < 0.41421356237309504880 else { return xlaLogFloat(x + 1) }
    var num: Float = 0, den: Float = 0
    for c in log1pNumerator { num = fusedMultiplyAdd(num, x, Float(c)) }
    for c in log1pDenominator { den = fusedMultiplyAdd(den, x, Float(c)) }
    let x2 = x * x
    return x + (-0.5 * x2 + (x * x2) * (num / den))
}

/// float64 log(1 + x) as XLA's CPU backend: the rational form for |x| < √2 − 1,
/// else libm's log of 1 + x.
@inline(__always)
func xlaLog1pDouble(_ x: Double) -> Double {
    guard Swift.abs(x) < 0.41421356237309504880 else { return log(x + 1) }
    var num: Double = 0, den: Double = 0
    for c in log1pNumerator { num = fusedMultiplyAdd(num, x, c) }
    for c in log1pDenominator { den = fusedMultiplyAdd(den, x, c) }
    let x2 = x * x
    return x + (-0.5 * x2 + (x * x2) * (num / den))
}

/// float32 inverse error function: Giles' single-precision approximation, as XLA.
@inline(__always)
func erfInvFloat(_ x: Float) -> Float {
    if Swift.abs(x) >= 1 { return x == 1 ? .infinity : (x == -1 ? -.infinity : .nan) }
    var w = -xlaLog1pFloat(-x * x)
    var p: Float
    if w < 5 {
        w -= 2.5
        p = 2.81022636e-08
        p = fusedMultiplyAdd(p, w, 3.43273939e-07)
        p = fusedMultiplyAdd(p, w, -3.5233877e-06)
        p = fusedMultiplyAdd(p, w, -4.39150654e-06)
        p = fusedMultiplyAdd(p, w, 0.00021858087)
        p = fusedMultiplyAdd(p, w, -0.00125372503)
        p = fusedMultiplyAdd(p, w, -0.00417768164)
        p = fusedMultiplyAdd(p, w, 0.246640727)
        p = fusedMultiplyAdd(p, w, 1.50140941)
    } else {
        w = w.squareRoot() - 3
        p = -0.000200214257
        p = fusedMultiplyAdd(p, w, 0.000100950558)
        p = fusedMultiplyAdd(p, w, 0.00134934322)
        p = fusedMultiplyAdd(p, w, -0.00367342844)
        p = fusedMultiplyAdd(p, w, 0.00573950773)
        p = fusedMultiplyAdd(p, w, -0.0076224613)
        p = fusedMultiplyAdd(p, w, 0.00943887047)
        p = fusedMultiplyAdd(p, w, 1.00167406)
        p = fusedMultiplyAdd(p, w, 2.83297682)
    }
    return p * x
}

/// Giles' double-precision polynomials in t, highest degree first, for
/// w = −log(1 − x²) < 6.25 (t = w − 3.125), < 16 (t = √w − 3.25) and beyond (t = √w − 5).
private let erfInvCentral: [Double] = [
    -3.64441206401782e-21, -1.6850591381820166e-19, 1.28584807152564e-18, 1.1157877678025181e-17,
    -1.333171662854621e-16, 2.0972767875968562e-17, 6.637638134358324e-15, -4.054566272975207e-14,
    -8.151934197605472e-14, 2.6335093153082323e-12, -1.2975133253453532e-11, -5.415412054294628e-11,
    1.0512122733215323e-09, -4.112633980346984e-09, -2.9070369957882005e-08, 4.2347877827932404e-07,
    -1.3654692000834679e-06, -1.3882523362786469e-05, 0.00018673420803405714, -0.000740702534166267,
    -0.006033670871430149, 0.24015818242558962, 1.6536545626831027,
]
private let erfInvTail: [Double] = [
    2.2137376921775787e-09, 9.075656193888539e-08, -2.7517406297064545e-07, 1.8239629214389228e-08,
    1.5027403968909828e-06, -4.013867526981546e-06, 2.9234449089955446e-06, 1.2475304481671779e-05,
    -4.7318229009055734e-05, 6.828485145957318e-05, 2.4031110387097894e-05, -0.0003550375203628475,
    0.0009532893797373805, -0.0016882755560235047, 0.002491442096107851, -0.003751208507569241,
    0.005370914553590064, 1.0052589676941592, 3.0838856104922208,
]
private let erfInvFarTail: [Double] = [
    -2.7109920616438573e-11, -2.555641816996525e-10, 1.5076572693500548e-09, -3.789465440126737e-09,
    7.61570120807834e-09, -1.496002662714924e-08, 2.914795345090108e-08, -6.771199775845234e-08,
    2.2900482228026655e-07, -9.9298272942317e-07, 4.526062597223154e-06, -1.968177810553167e-05,
    7.599527703001776e-05, -0.00021503011930044477, -0.00013871931833623122, 1.0103004648645344,
    4.849906401408584,
]

/// float64 inverse error function: Giles' double-precision approximation, as XLA.
func erfInvDouble(_ x: Double) -> Double {
    if Swift.abs(x) >= 1 { return x == 1 ? .infinity : (x == -1 ? -.infinity : .nan) }
    let w = -xlaLog1pDouble(-x * x)
    let t: Double, coefficients: [Double]
    if w < 6.25 {
        (t, coefficients) = (w - 3.125, erfInvCentral)
    } else if w < 16 {
        (t, coefficients) = (w.squareRoot() - 3.25, erfInvTail)
    } else {
        (t, coefficients) = (w.squareRoot() - 5, erfInvFarTail)
    }
    var p = coefficients[0]
    for c in coefficients.dropFirst() { p = fusedMultiplyAdd(p, t, c) }
    return p * x
}
