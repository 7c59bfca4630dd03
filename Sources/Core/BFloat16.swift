/// A brain floating-point number (`bfloat16`): the top 16 bits of a float32.
///
/// It keeps float32's exponent range with 8 significant bits. Conversion from
/// `Float` rounds to nearest, ties to even, as `ml_dtypes` and XLA do; NaNs
/// stay NaN (quiet) with their sign.
///
/// ```swift
/// let h = BFloat16(1.00390625 as Float)   // rounds to 1.0 (a tie to even)
/// print(Float(h))                         // 1.0
/// ```
@frozen
public struct BFloat16: Sendable, Hashable, CustomStringConvertible, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
    /// The 16 stored bits: sign, 8 exponent bits, 7 mantissa bits.
    public var bitPattern: UInt16

    /// The value with these bits.
    @inlinable
    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// `value` rounded to the nearest bfloat16 (ties to even; NaN stays NaN).
    @inlinable
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            // Keep the sign and the top payload bits, and make it quiet.
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
            return
        }
        let lsb = (bits >> 16) & 1
        bitPattern = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ lsb) >> 16)
    }

    /// `value` rounded to the nearest bfloat16 through float32 (as XLA converts f64 to bf16).
    @inlinable
    public init(_ value: Double) { self.init(Float(value)) }

    /// A float literal, rounded to bfloat16.
    public init(floatLiteral value: Double) { self.init(value) }
    /// An integer literal, rounded to bfloat16.
    public init(integerLiteral value: Int) { self.init(Float(value)) }

    /// The exact float32 value.
    @inlinable
    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

    /// Whether the value is NaN.
    public var isNaN: Bool { floatValue.isNaN }

    /// Equality of values (so `-0 == 0` and NaN is unequal to itself), as for `Float`.
    @inlinable
    public static func == (a: BFloat16, b: BFloat16) -> Bool { a.floatValue == b.floatValue }

    /// Hashes the value (all zeros alike).
    public func hash(into hasher: inout Hasher) { hasher.combine(floatValue == 0 ? 0 : floatValue) }

    /// The value as a float32 prints it.
    public var description: String { floatValue.description }
}

extension Float {
    /// The exact value of a bfloat16.
    @inlinable
    public init(_ value: BFloat16) { self = value.floatValue }
}

extension Double {
    /// The exact value of a bfloat16.
    @inlinable
    public init(_ value: BFloat16) { self = Double(value.floatValue) }
}
