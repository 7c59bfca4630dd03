/// The element type of a ``Tensor``.
///
/// Flock has JAX's dtypes on CPU (complex excepted). `float32` is the default,
/// as in JAX. Names print as numpy spells them (`float32`, `int8`, `bfloat16`).
///
/// The 64-bit integers are real only with x64 enabled
/// (``Configuration/enableX64``, `FLOCK_ENABLE_X64`); otherwise a request for
/// them is canonicalised to the 32-bit type, as JAX does. `float64` is always
/// real in Flock (JAX canonicalises it to `float32` without x64): a deliberate
/// departure that keeps existing float64 programs working.
public enum DType: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Booleans, one byte each; comparisons produce them.
    case bool
    /// 8-bit signed integers.
    case int8
    /// 8-bit unsigned integers (bytes, pixels).
    case uint8
    /// 16-bit signed integers.
    case int16
    /// 16-bit unsigned integers.
    case uint16
    /// 32-bit signed integers; the dtype of integer literals and of indices.
    case int32
    /// 32-bit unsigned integers, used for PRNG keys and bits.
    case uint32
    /// 64-bit signed integers (real with x64 enabled; else canonicalised to `int32`).
    case int64
    /// 64-bit unsigned integers (real with x64 enabled; else canonicalised to `uint32`).
    case uint64
    /// IEEE half precision (5 exponent bits, 10 mantissa bits).
    case float16
    /// Brain floating point: float32's exponent range with 7 mantissa bits.
    case bfloat16
    /// 32-bit IEEE floats: the default dtype.
    case float32
    /// 64-bit IEEE floats (JAX needs `jax_enable_x64` for these; Flock has them always).
    case float64

    /// Bytes per element.
    @inlinable
    public var byteSize: Int {
        switch self {
        case .bool, .int8, .uint8: 1
        case .int16, .uint16, .float16, .bfloat16: 2
        case .int32, .uint32, .float32: 4
        case .int64, .uint64, .float64: 8
        }
    }

    /// Whether values of this dtype are floating point.
    @inlinable
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }

    /// Whether values of this dtype are signed or unsigned integers.
    @inlinable
    public var isInteger: Bool {
        switch self {
        case .int8, .uint8, .int16, .uint16, .int32, .uint32, .int64, .uint64: true
        default: false
        }
    }

    /// Whether values of this dtype are unsigned integers.
    public var isUnsignedInteger: Bool { self == .uint8 || self == .uint16 || self == .uint32 || self == .uint64 }

    /// JAX's name of the dtype, e.g. `float32`.
    public var description: String { rawValue }

    /// The dtype whose kernels evaluate this one: 8- and 16-bit integers run
    /// on the 32-bit integer kernels of the same signedness and 16-bit floats
    /// on the float32 kernels, rounded back to the storage type after every
    /// primitive (what XLA's CPU backend does for them).
    @inlinable
    package var computeType: DType {
        switch self {
        case .int8, .int16: .int32
        case .uint8, .uint16: .uint32
        case .float16, .bfloat16: .float32
        default: self
        }
    }

    /// Whether this dtype is evaluated through a wider ``computeType``.
    @inlinable
    package var isWidened: Bool {
        switch self {
        case .int8, .int16, .uint8, .uint16, .float16, .bfloat16: true
        default: false
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

/// Swift scalar types that can be elements of a ``Tensor``.
public protocol TensorElement: Sendable, Equatable {
    /// The dtype whose storage is this Swift type.
    static var dtype: DType { get }
}

extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Float16: TensorElement { public static var dtype: DType { .float16 } }
extension BFloat16: TensorElement { public static var dtype: DType { .bfloat16 } }
extension Int8: TensorElement { public static var dtype: DType { .int8 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension Int16: TensorElement { public static var dtype: DType { .int16 } }
extension UInt16: TensorElement { public static var dtype: DType { .uint16 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension UInt32: TensorElement { public static var dtype: DType { .uint32 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension UInt64: TensorElement { public static var dtype: DType { .uint64 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
