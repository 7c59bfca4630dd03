// Float arithmetic that JAX's samplers get from XLA and Flock composes from
// primitives: fused multiply-add (LLVM contracts `a * b + c` on the CPU, so
// `uniform` with bounds rounds once) and `nextafter`.

extension Random {
    /// Uniform floats in [0, 1) from random bits, as JAX: random mantissa bits
    /// under the exponent of 1.0, minus 1.
    static func unitFloats(_ k0: Tensor, _ k1: Tensor, _ shape: [Int], _ dtype: DType) -> Tensor {
        if dtype == .float32 {
            let mantissa = shiftRightLogical(bits32(k0, k1, shape), Tensor(UInt32(32 - 23)))
            let oneToTwo = (mantissa .| Tensor(Float(1).bitPattern)).bitcast(to: .float32)
            return oneToTwo - Tensor(Float(1))
        }
        // float64: (high << 32 | low) >> 12 as the mantissa m gives m · 2⁻⁵²,
        // summed here from two exact parts (Flock has no 64-bit integers).
        let (high, low) = bits64(k0, k1, shape)
        let top = high.converted(to: .float64) * Tensor(0x1p-32)
        let rest = shiftRightLogical(low, Tensor(UInt32(64 - 52))).converted(to: .float64) * Tensor(0x1p-52)
        return top + rest
    }
}

/// `a * b + c` with a single rounding (float32 or float64 operands of one dtype,
/// broadcastable), built from ordinary float operations.
///
/// float32: the product is exact in float64 and the sum rounds once there;
/// rounding that to float32 is wrong only when the float64 sum lands exactly
/// half-way between two floats while the exact sum does not, which the
/// two-sum error term detects and corrects. float64: Dekker's exact product
/// and a two-sum give the exact result as three doubles, summed smallest
/// first; this can differ from a true fma only when that sum lies within
/// 2⁻¹⁰⁴ relative of a rounding tie.
func fusedMultiplyAdd(_ a: Tensor, _ b: Tensor, _ c: Tensor) -> Tensor {
    // A power-of-two factor makes the product exact: plain arithmetic rounds once.
    if b.rank == 0, b.isConcrete {
        let v = Swift.abs(b.item(Double.self))
        if v >= 0x1p-60, v <= 0x1p60, v.significandBitPattern == 0 { return a * b + c }
    }
    let (sum, error) = twoSum(a.converted(to: .float64) * b.converted(to: .float64), c.converted(to: .float64))
    if a.dtype == .float32 {
        let rounded = sum.converted(to: .float32)
        let offset = sum - rounded.converted(to: .float64)  // exact
        let other = rounded.converted(to: .float64) + offset + offset
        // The float64 sum is a float32 tie iff the float32 on its far side is `other`.
        let isTie = (offset .!= Tensor(0.0)) .& (other.converted(to: .float32).converted(to: .float64) .== other)
        return `where`(isTie .& (offset * error .> Tensor(0.0)), other.converted(to: .float32), rounded)
    }
    let (product, productError) = twoProduct(a, b)
    let (total, totalError) = twoSum(product, c)
    let result = total + (totalError + productError)
    return `where`(isFinite(totalError + productError), result, total)
}

/// Knuth's two-sum: `s = a + b` rounded and the exact error `a + b − s`.
private func twoSum(_ a: Tensor, _ b: Tensor) -> (Tensor, Tensor) {
    let s = a + b
    let bv = s - a
    return (s, (a - (s - bv)) + (b - bv))
}

/// Dekker's exact product of float64 tensors: `p = a * b` rounded and the
/// exact error `a * b − p` (non-finite when the Veltkamp split overflows).
private func twoProduct(_ a: Tensor, _ b: Tensor) -> (Tensor, Tensor) {
    func veltkamp(_ x: Tensor) -> (Tensor, Tensor) {
        let t = Tensor(134_217_729.0, dtype: .float64) * x  // 2²⁷ + 1
        let high = t - (t - x)
        return (high, x - high)
    }
    let (ah, al) = veltkamp(a), (bh, bl) = veltkamp(b)
    let p = a * b
    return (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

/// The next representable value after `x` toward +∞ (`upward`) or −∞, as
/// `lax.nextafter(x, ±inf)`, for float32 or float64 `x`.
///
/// On the bit pattern, as XLA does it, so subnormals step exactly even
/// though arithmetic flushes them (SubnormalMode): a zero goes to the
/// smallest subnormal of the direction's sign, a value moving away from
/// zero adds one to its pattern and one moving toward zero subtracts one;
/// NaN and the infinity in the direction stay.
func nextAfter(_ x: Tensor, upward: Bool) -> Tensor {
    let isSingle = x.dtype == .float32
    let intType: DType = isSingle ? .int32 : .int64
    let int = { (v: Int64) in intWithBits(v, intType) }
    let magnitudeMask: Int64 = isSingle ? 0x7fff_ffff : .max
    let infinityBits: Int64 = isSingle ? 0x7f80_0000 : 0x7ff0_0000_0000_0000
    let b = x.bitcast(to: intType)
    let magnitude = b .& intWithBits(magnitudeMask, intType)
    let negative = b .< int(0)
    // Away from zero: up for positive values, down for negative ones.
    let away = upward ? .!negative : negative
    let stepped = `where`(away, b + int(1), b - int(1))
    let zeroStep = upward ? int(1) : intWithBits(isSingle ? Int64(Int32.min) + 1 : .min + 1, intType)
    var r = `where`(magnitude .== int(0), zeroStep, stepped)
    // NaN, and the infinity in the direction of the step, stay.
    let stays = (magnitude .> intWithBits(infinityBits, intType)) .| ((magnitude .== intWithBits(infinityBits, intType)) .& away)
    r = `where`(stays, b, r)
    return r.bitcast(to: x.dtype)
}

/// An integer scalar of `dtype` (int32 or int64) holding `v`; an int64 one
/// is made by reinterpreting a float64's bits, which works with 64-bit
/// types off as they are for float64 operands here.
private func intWithBits(_ v: Int64, _ dtype: DType) -> Tensor {
    dtype == .int32 ? Tensor(Int32(truncatingIfNeeded: v)) : Tensor(Double(bitPattern: UInt64(bitPattern: v))).bitcast(to: .int64)
}
