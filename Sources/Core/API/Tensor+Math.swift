// Elementwise math. Integer and bool inputs of transcendental functions are
// converted to float32 first, as in jax.numpy.

@inline(__always) func floatUnaryOp(_ op: UnaryOp, _ x: Tensor) -> Tensor {
    if let r = eagerFloatUnaryFastPath(op, x) { return r }
    return bind1(.unary(op), floatingOperand(x))
}

/// e^x.
public func exp(_ x: Tensor) -> Tensor { floatUnaryOp(.exp, x) }
/// Natural logarithm.
public func log(_ x: Tensor) -> Tensor { floatUnaryOp(.log, x) }
/// log(1 + x), accurate near 0.
public func log1p(_ x: Tensor) -> Tensor { floatUnaryOp(.log1p, x) }
/// e^x − 1, accurate near 0.
public func expm1(_ x: Tensor) -> Tensor { floatUnaryOp(.expm1, x) }
/// Sine, elementwise (radians).
public func sin(_ x: Tensor) -> Tensor { floatUnaryOp(.sin, x) }
/// Cosine, elementwise (radians).
public func cos(_ x: Tensor) -> Tensor { floatUnaryOp(.cos, x) }
/// Tangent, elementwise (radians).
public func tan(_ x: Tensor) -> Tensor { floatUnaryOp(.tan, x) }
/// Hyperbolic tangent, elementwise.
public func tanh(_ x: Tensor) -> Tensor { floatUnaryOp(.tanh, x) }
/// The logistic sigmoid 1 / (1 + e^−x) (`jax.nn.sigmoid`).
public func sigmoid(_ x: Tensor) -> Tensor { floatUnaryOp(.logistic, x) }
/// Square root, elementwise (NaN for negative inputs).
public func sqrt(_ x: Tensor) -> Tensor { floatUnaryOp(.sqrt, x) }
/// 1 / √x.
public func rsqrt(_ x: Tensor) -> Tensor { floatUnaryOp(.rsqrt, x) }
/// The largest integer not greater than each element (integers pass through).
public func floor(_ x: Tensor) -> Tensor { x.dtype.isFloatingPoint ? bind1(.unary(.floor), x) : x }
/// The smallest integer not less than each element (integers pass through).
public func ceil(_ x: Tensor) -> Tensor { x.dtype.isFloatingPoint ? bind1(.unary(.ceil), x) : x }
/// Rounds half to even (`jnp.round`).
public func round(_ x: Tensor) -> Tensor { x.dtype.isFloatingPoint ? bind1(.unary(.round), x) : x }
/// The error function.
public func erf(_ x: Tensor) -> Tensor { floatUnaryOp(.erf, x) }
/// The complementary error function 1 − erf(x), accurate where erf(x) is
/// close to 1 (`jax.scipy.special.erfc`, `lax.erfc`).
///
/// ```swift
/// erfc(Tensor([Float(5)]))  // [1.5375e-12], where 1 - erf gives 0
/// ```
public func erfc(_ x: Tensor) -> Tensor { floatUnaryOp(.erfc, x) }
/// The inverse error function.
public func erfInv(_ x: Tensor) -> Tensor { floatUnaryOp(.erfInv, x) }
/// Absolute value, elementwise.
public func abs(_ x: Tensor) -> Tensor { x.dtype == .bool || x.dtype == .uint32 ? x : bind1(.unary(.abs), x) }
/// −1, 0 or 1 by the sign of each element (NaN stays NaN).
public func sign(_ x: Tensor) -> Tensor {
    if x.dtype == .bool { return x }
    if x.dtype == .uint32 { return (x .> Tensor(UInt32(0))).converted(to: .uint32) }
    return bind1(.unary(.sign), x)
}
/// Whether each element is finite (integers always are).
public func isFinite(_ x: Tensor) -> Tensor {
    x.dtype.isFloatingPoint ? bind1(.unary(.isFinite), x) : full(x.shape, true)
}
/// Whether each element is NaN.
public func isNaN(_ x: Tensor) -> Tensor { x.dtype.isFloatingPoint ? x .!= x : full(x.shape, false) }
/// Whether each element is ±infinity.
public func isInf(_ x: Tensor) -> Tensor {
    x.dtype.isFloatingPoint ? abs(x) .== Tensor(Double.infinity, dtype: x.dtype) : full(x.shape, false)
}
/// x².
public func square(_ x: Tensor) -> Tensor { x * x }
/// 1 / x.
public func reciprocal(_ x: Tensor) -> Tensor { 1 / x }
/// Logical not of a bool tensor, bitwise not of an integer one.
public func logicalNot(_ x: Tensor) -> Tensor { x.dtype == .bool ? bind1(.unary(.not), x) : x .== Tensor(0, dtype: x.dtype) }
/// Base-2 logarithm.
public func log2(_ x: Tensor) -> Tensor { log(x) / log(Tensor(2, dtype: floatingOperand(x).dtype)) }
/// Base-10 logarithm.
public func log10(_ x: Tensor) -> Tensor { log(x) / log(Tensor(10, dtype: floatingOperand(x).dtype)) }
