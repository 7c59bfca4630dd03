#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// float32 tanh as XLA's CPU backend computes it: Eigen's odd 13/6 minimax
/// rational function (the coefficients are public data), its Horner steps fused
/// multiply-adds, the input clamped to ±7.99881172 -- the smallest argument
/// where that fused evaluation reaches exactly ±1 -- and tanh(x) = x below
/// |x| < 0.0004 (keeps −0 and subnormals). Equal to XLA's result bit for bit
/// (see UlpSweepTests); NaN propagates through the clamp and the division.
@inline(__always)
func fastTanh(_ input: Float) -> Float {
    let bound: Float = 7.99881172180175781
    let x = input < -bound ? -bound : (input > bound ? bound : input)
    let x2 = x * x
    var p: Float = -2.76076847742355e-16
    p = fusedMultiplyAdd(x2, p, 2.00018790482477e-13)
    p = fusedMultiplyAdd(x2, p, -8.60467152213735e-11)
    p = fusedMultiplyAdd(x2, p, 5.12229709037114e-08)
    p = fusedMultiplyAdd(x2, p, 1.48572235717979e-05)
    p = fusedMultiplyAdd(x2, p, 6.37261928875436e-04)
    p = fusedMultiplyAdd(x2, p, 4.89352455891786e-03)
    p = p * x
    var q: Float = 1.19825839466702e-06
    q = fusedMultiplyAdd(x2, q, 1.18534705686654e-04)
    q = fusedMultiplyAdd(x2, q, 2.26843463243900e-03)
    q = fusedMultiplyAdd(x2, q, 4.89352518554385e-03)
    let r = p / q
    // Compared on the bits so the select vectorises; NaN is not tiny.
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

/// 2^k as a float32, for k in [-126, 127].
@inline(__always)
private func powerOfTwo(_ k: Int32) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: k &+ 127) << 23) }

/// float32 eˣ as XLA's CPU backend computes it: x = n·ln 2 + r with
/// n = ⌊x·log₂e + ½⌋ (at most 127) and ln 2 split in two parts, Cephes'
/// degree-5 polynomial in r by fused multiply-adds, scaled by 2ⁿ. Infinite
/// above 88.7228394; below the normal range the scaling is done in two
/// steps so the result underflows gradually (XLA flushes it to zero).
@inline(__always)
func xlaExpFloat(_ input: Float) -> Float {
    let x = input < -104 ? -104 : (input > 88.7228394 ? 88.7228394 : input)  // NaN stays
    let n = Swift.min(fusedMultiplyAdd(x, 1.44269504088896341, 0.5).rounded(.down), 127)
    var r = fusedMultiplyAdd(n, -0.693359375, x)
    r = fusedMultiplyAdd(n, 2.12194440e-4, r)
    var y: Float = 1.9875691500e-4
    y = fusedMultiplyAdd(y, r, 1.3981999507e-3)
    y = fusedMultiplyAdd(y, r, 8.3334519073e-3)
    y = fusedMultiplyAdd(y, r, 4.1665795894e-2)
    y = fusedMultiplyAdd(y, r, 1.6666665459e-1)
    y = fusedMultiplyAdd(y, r, 5.0000001201e-1)
    y = fusedMultiplyAdd(y, r * r, r) + 1
    let k = Int32(n.isNaN ? 0 : n), half = k >> 1
    let scaled = y * powerOfTwo(half) * powerOfTwo(k &- half)
    return input > 88.7228394 ? .infinity : scaled
}

/// float32 erfc(x) as XLA computes `lax.erfc` (its expansion into ordinary
/// operations, fused multiply-adds where LLVM contracts them): 1 − x·S(x²)
/// for |x| < 1; else e^(−x²)/|x| times a polynomial in 1/x² (one for |x| < 2,
/// another beyond), 0 once −x² < −88.72, reflected as 2 − erfc(−x) for x < 0.
@inline(__always)
func xlaErfcFloat(_ x: Float) -> Float {
    let x2 = x * x
    if Swift.abs(x) < 1 {
        var s: Float = 7.85386146e-05
        for c: Float in [-0.000801019371, 0.00518832775, -0.0268538129, 0.112835854, -0.37612626, 1.12837911] {
            s = fusedMultiplyAdd(s, x2, c)
        }
        return fusedMultiplyAdd(-x, s, 1)
    }
    let z = 1 / x2
    let q = xlaExpFloat(-x2) * (1 / Swift.abs(x))
    var p: Float
    if Swift.abs(x) < 2 {
        p = 0.0232682
        for c: Float in [-0.138703942, 0.368742466, -0.582473278, 0.621000469, -0.494451523, 0.340488, -0.274112701,
                         0.563825965] {
            p = fusedMultiplyAdd(p, z, c)
        }
    } else {
        p = -10.477664
        for c: Float in [12.9772, -7.49551868, 2.92101908, -1.01526523, 0.42184633, -0.282076746, 0.564189494] {
            p = fusedMultiplyAdd(p, z, c)
        }
    }
    let y: Float = -x2 < -88.7228394 ? 0 : q * p
    return x < 0 ? 2 - y : y
}

/// float32 natural logarithm as XLA's CPU backend computes it: Cephes' degree-8
/// polynomial on the mantissa reduced to [√½, √2), with ln 2 split in two parts.
/// Within 1 ulp of the correctly rounded value. Subnormal inputs are scaled
/// by 2²⁴ first (exact), so their logarithm is IEEE's too (XLA's differs there:
/// it runs with denormals-are-zero).
@inline(__always)
func xlaLogFloat(_ input: Float) -> Float {
    if !(input > 0) { return input == 0 ? -.infinity : .nan }
    if input == .infinity { return input }
    let subnormal = input < .leastNormalMagnitude
    let x = subnormal ? input * 16_777_216 : input
    let bits = x.bitPattern
    var e = 1 + Float(Int32(bitPattern: bits >> 23) - 0x7f) - (subnormal ? 24 : 0)
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

/// float32 expm1 as XLA's CPU backend computes it: e^x − 1 for |x| ≥ 0.5,
/// and tanh(x/2)·(e^x + 1) below, an identity without the cancellation of
/// e^x − 1 near 0, built from XLA's own tanh and exp (``fastTanh(_:)``,
/// ``xlaExpFloat(_:)``). Equal to XLA's result bit for bit over the ulp sweep;
/// ±0 keep their sign, −inf gives −1 and NaN propagates.
@inline(__always)
func xlaExpm1Float(_ x: Float) -> Float {
    // Below 2⁻⁶⁰ the result is x itself (x + x²/2 rounds to x); the formula
    // would flush x/2 to zero near the subnormals, where XLA returns x.
    if Swift.abs(x) < 0x1p-60 { return x }
    let e = xlaExpFloat(x)
    return Swift.abs(x) < 0.5 ? fastTanh(x * 0.5) * (e + 1) : e - 1
}
