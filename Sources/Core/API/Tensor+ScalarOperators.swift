// Arithmetic between tensors and Swift scalar variables. A Swift scalar is
// weakly typed, like a Python scalar in JAX: `x * lr` keeps x's dtype whether
// `lr` is a Float or a Double; an Int scalar with a float tensor stays float.
//
// The overloads are generic on purpose: Swift ranks generic operators below
// concrete ones, so expressions of plain numbers (`1 + 0.5`, `1 << 20`) keep
// their standard-library meaning in code that imports Flock. Concrete
// (Tensor, Double) overloads made `1 + 0.5` ambiguous.

/// Swift scalars usable directly with tensor arithmetic (as weakly typed values).
public protocol WeakScalar: Sendable {
    /// The scalar as a weakly typed rank-0 tensor.
    var weakTensor: Tensor { get }
}
extension Double: WeakScalar { public var weakTensor: Tensor { Tensor(weakFloat: self) } }
extension Float: WeakScalar { public var weakTensor: Tensor { Tensor(weakFloat: Double(self)) } }
extension Int: WeakScalar { public var weakTensor: Tensor { Tensor(integerLiteral: self) } }

extension Tensor {
    public static func + <S: WeakScalar>(a: Tensor, b: S) -> Tensor { a + b.weakTensor }
    public static func + <S: WeakScalar>(a: S, b: Tensor) -> Tensor { a.weakTensor + b }
    public static func - <S: WeakScalar>(a: Tensor, b: S) -> Tensor { a - b.weakTensor }
    public static func - <S: WeakScalar>(a: S, b: Tensor) -> Tensor { a.weakTensor - b }
    public static func * <S: WeakScalar>(a: Tensor, b: S) -> Tensor { a * b.weakTensor }
    public static func * <S: WeakScalar>(a: S, b: Tensor) -> Tensor { a.weakTensor * b }
    public static func / <S: WeakScalar>(a: Tensor, b: S) -> Tensor { a / b.weakTensor }
    public static func / <S: WeakScalar>(a: S, b: Tensor) -> Tensor { a.weakTensor / b }
}
