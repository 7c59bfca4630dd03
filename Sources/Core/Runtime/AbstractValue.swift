/// The abstract value ("aval") of an array: what shape rules and tracers see.
///
/// `weakType` marks values that came from Swift literals; they take their dtype
/// from the other operand under promotion, as Python scalars do in JAX.
public struct AbstractValue: Hashable, Sendable, CustomStringConvertible {
    /// The size of each dimension; `[]` for a scalar.
    public var shape: [Int]
    /// The element type.
    public var dtype: DType
    /// Whether the value is weakly typed (came from a Swift literal or scalar).
    public var weakType: Bool

    /// An abstract value; strongly typed unless `weakType` says otherwise.
    public init(shape: [Int], dtype: DType, weakType: Bool = false) {
        self.shape = shape
        self.dtype = dtype
        self.weakType = weakType
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// The number of elements (1 for a scalar, 0 when a dimension is 0).
    public var count: Int { shape.reduce(1, *) }

    /// JAX's short form, e.g. `f32[3,4]`.
    public var description: String {
        let short: String
        switch dtype {
        case .bool: short = "bool"
        case .int8: short = "i8"
        case .uint8: short = "u8"
        case .int16: short = "i16"
        case .uint16: short = "u16"
        case .int32: short = "i32"
        case .uint32: short = "u32"
        case .int64: short = "i64"
        case .uint64: short = "u64"
        case .float16: short = "f16"
        case .bfloat16: short = "bf16"
        case .float32: short = "f32"
        case .float64: short = "f64"
        }
        return "\(short)[\(shape.map(String.init).joined(separator: ","))]"
    }
}
