/// The abstract value ("aval") of an array: what shape rules and tracers see.
///
/// `weakType` marks values that came from Swift literals; they take their dtype
/// from the other operand under promotion, as Python scalars do in JAX.
public struct AbstractValue: Hashable, Sendable, CustomStringConvertible {
    public var shape: [Int]
    public var dtype: DType
    public var weakType: Bool

    public init(shape: [Int], dtype: DType, weakType: Bool = false) {
        self.shape = shape
        self.dtype = dtype
        self.weakType = weakType
    }

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }

    /// JAX's short form, e.g. `f32[3,4]`.
    public var description: String {
        let short: String
        switch dtype {
        case .bool: short = "bool"
        case .int32: short = "i32"
        case .uint32: short = "u32"
        case .float32: short = "f32"
        case .float64: short = "f64"
        }
        return "\(short)[\(shape.map(String.init).joined(separator: ","))]"
    }
}
