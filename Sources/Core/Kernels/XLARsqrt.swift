import CKernels

/// float32 rsqrt as XLA's CPU code computes it, so values (and the
/// derivative −½·y/x built from them) equal JAX's bit for bit.
///
/// XLA does not divide 1 by √x on a CPU with AVX: it takes the hardware
/// estimate (`vrsqrtps`, about 12 bits) and refines it with Newton steps —
/// one on AMD, two elsewhere (its rule for vectors of at most 8 lanes) —
/// each h = x·y·y − 1, y ← y − ½·y·h with LLVM contracting both into fused
/// multiply-adds. Below the smallest normal number (0, negatives,
/// subnormals, NaN) and at +∞ it returns the estimate itself (+∞, NaN, +∞,
/// NaN, 0). Without AVX it divides, and so does Flock. The estimate's table
/// is the CPU's, so like JAX's the last bit can differ between CPU vendors;
/// eager kernels and native loops use the same instruction, so eager =
/// jitted on any one machine.
package enum XLARsqrt {
    /// Newton steps on this machine (0: divide).
    package static let newtonSteps = Int(flock_rsqrt_newton_steps())

    @inline(__always) static func apply(_ x: Float) -> Float {
        let steps = newtonSteps
        if steps == 0 { return 1 / x.squareRoot() }
        let estimate = flock_rsqrt_estimate(x)
        guard x >= .leastNormalMagnitude, x < .infinity else { return estimate }
        var y = estimate
        for _ in 0..<steps {
            let r2 = x * y, halfR = y * -0.5
            let h = Float(-1).addingProduct(r2, y)
            y = y.addingProduct(halfR, h)
        }
        return y
    }
}
