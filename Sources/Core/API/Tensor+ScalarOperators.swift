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
    /// Adds a Swift scalar to every element; the scalar is weakly typed, so the
    /// tensor's dtype wins (`x + 1` stays float32, like `x + 1` in JAX).
    public static func + <S: WeakScalar>(a: Tensor, b: S) -> Tensor { a + b.weakTensor }
    /// Adds a tensor to a weakly typed Swift scalar: `1 + x` keeps x's dtype.
    public static func + <S: WeakScalar>(a: S, b: Tensor) -> Tensor { a.weakTensor + b }
    /// Subtracts a weakly typed Swift scalar from every element: `x - 0.5` keeps x's dtype.
    public static func - <S: WeakScalar>(a: Tensor, b: S) -> Tensor { a - b.weakTensor }
    /// Subtracts every element from a weakly typed Swift scalar: `1 - p` keeps p's dtype.
    public static func - <S: WeakScalar>(a: S, b: Tensor) -> Tensor { a.weakTensor - b }
    /// Scales every element by a weakly typed Swift scalar: `grad * lr` keeps grad's
    /// dtype whether `lr` is a `Float` or a `Double`.
    public static func * <S: WeakScalar>(a: Tensor, b: S) -> Tensor { a * b.weakTensor }
    /// Scales every element by a weakly typed Swift scalar: `2 * x` keeps x's dtype.
    public static func * <S: WeakScalar>(a: S, b: Tensor) -> Tensor { a.weakTensor * b }
    /// Divides every element by a weakly typed Swift scalar (true division: an integer
    /// tensor gives float32): `x / 255` scales pixels to [0, 1].
    public static func / <S: WeakScalar>(a: Tensor, b: S) -> Tensor { a / b.weakTensor }
    /// Divides a weakly typed Swift scalar by every element (true division): `1 / x`.
    public static func / <S: WeakScalar>(a: S, b: Tensor) -> Tensor { a.weakTensor / b }
}
