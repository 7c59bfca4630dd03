/// The element type of a ``Tensor``.
///
/// Flock supports the dtypes JAX uses most on CPU. `float32` is the default, as in
/// JAX. Names print as numpy spells them (`float32`, `int32`, `bool`).
public enum DType: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Booleans, one byte each; comparisons produce them.
    case bool
    /// 32-bit signed integers; the dtype of integer literals and of indices.
    case int32
    /// 32-bit unsigned integers, used for PRNG keys and bits.
    case uint32
    /// 32-bit IEEE floats: the default dtype.
    case float32
    /// 64-bit IEEE floats (JAX needs `jax_enable_x64` for these; Flock has them always).
    case float64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool: 1
        case .int32, .uint32, .float32: 4
        case .float64: 8
        }
    }

    /// Whether values of this dtype are floating point.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }
    /// Whether values of this dtype are signed or unsigned integers.
    public var isInteger: Bool { self == .int32 || self == .uint32 }

    /// JAX's name of the dtype, e.g. `float32`.
    public var description: String { rawValue }

    /// Position in JAX's promotion lattice restricted to Flock's dtypes
    /// (bool < uint32/int32 < float32 < float64).
    fileprivate var rank: Int {
        switch self {
        case .bool: 0
        case .uint32, .int32: 1
        case .float32: 2
        case .float64: 3
        }
    }
}

/// The kind of a weakly typed scalar (a Swift literal), as JAX's `i*` and `f*`.
public enum WeakKind: Hashable, Sendable {
    /// A weak integer (an `Int` literal or scalar) takes the other operand's
    /// dtype; a weak float (a `Double` or `Float`) does too, except that it
    /// makes an integer or bool operand float32.
    case integer, float
}

/// JAX's type promotion for two operands, each possibly weakly typed.
///
/// Follows `jax.numpy.promote_types` on JAX's lattice: bool < i* < {int32, uint32}
/// < f* < float32 < float64, where a weak operand only decides the *kind* of the
/// result. int32 with uint32 promotes to int64 in JAX, which is canonicalised to
/// int32 when 64-bit integers are disabled (Flock has no int64), so Flock yields
/// int32. Returns the result dtype and whether it stays weakly typed.
public func promoteTypes(
    _ a: DType, weak aWeak: Bool, _ b: DType, weak bWeak: Bool
) -> (dtype: DType, weak: Bool) {
    if a == b { return (a, aWeak && bWeak) }
    switch (aWeak, bWeak) {
    case (true, true):
        // Both literals: the higher kind wins, still weak.
        return (a.rank >= b.rank ? a : b, true)
    case (true, false):
        return promoteWeak(a, strong: b)
    case (false, true):
        return promoteWeak(b, strong: a)
    case (false, false):
        if a.rank != b.rank { return (a.rank > b.rank ? a : b, false) }
        // int32 with uint32: JAX gives int64, canonicalised to int32.
        return (.int32, false)
    }
}

private func promoteWeak(_ weak: DType, strong: DType) -> (dtype: DType, weak: Bool) {
    // A weak int or float adopts the strong operand's dtype when the strong one is
    // of the same kind or higher; a weak float meeting an integer/bool operand
    // gives a weak float (f*, canonically float32); a weak int meeting bool gives
    // a weak int (i*, canonically int32).
    if weak.isFloatingPoint {
        return strong.isFloatingPoint ? (strong, false) : (.float32, true)
    }
    if weak == .bool { return (strong, false) }
    return strong == .bool ? (.int32, true) : (strong, false)
}

/// Swift scalar types that can be elements of a ``Tensor``.
public protocol TensorElement: Sendable, Equatable {
    /// The dtype whose storage is this Swift type.
    static var dtype: DType { get }
}

extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension UInt32: TensorElement { public static var dtype: DType { .uint32 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
