// Arithmetic, comparison and bitwise operators with numpy broadcasting and
// JAX type promotion. Swift literals are weakly typed: `x * 2` keeps x's dtype.

extension Tensor {
    /// Elementwise sum with numpy broadcasting and JAX's type promotion (`jnp.add`).
    /// Shapes broadcast from the trailing dimension (`[3, 1] + [4]` gives `[3, 4]`);
    /// dtypes promote as in JAX (`int32 + float32` is `float32`), and a Swift literal
    /// keeps the tensor's dtype.
    /// ```swift
    /// let a = Tensor([[1], [2]] as [[Float]])   // [2, 1]
    /// let b = Tensor([10, 20, 30] as [Float])   // [3]
    /// let c = a + b                             // [[11, 21, 31], [12, 22, 32]]
    /// ```
    public static func + (a: Tensor, b: Tensor) -> Tensor { elementwise(.add, a, b) }
    /// Elementwise difference `a − b`, with broadcasting and type promotion as `+`
    /// (`jnp.subtract`): `x - x.mean(axes: [0])` centres the columns of a matrix.
    public static func - (a: Tensor, b: Tensor) -> Tensor { elementwise(.sub, a, b) }
    /// Elementwise (Hadamard) product, with broadcasting and type promotion as
    /// `+` (`jnp.multiply`); for the matrix product use `matmul`.
    /// `w * mask` zeroes the entries where a float mask is 0.
    public static func * (a: Tensor, b: Tensor) -> Tensor { elementwise(.mul, a, b) }
    /// True division (`jnp.true_divide`): integer operands give float32.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        elementwise(.div, floatingOperand(a), floatingOperand(b))
    }
    /// Remainder with the sign of the divisor (`jnp.remainder`, Python's `%`).
    public static func % (a: Tensor, b: Tensor) -> Tensor { remainder(a, b) }
    /// Elementwise negation (`jnp.negative`); keeps the dtype.
    public static prefix func - (a: Tensor) -> Tensor { bind1(.unary(.neg), a) }

    /// Replaces `a` with `a + b`. A new tensor is made (tensors are immutable values);
    /// the result's dtype and shape follow `+`.
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    /// Replaces `a` with `a - b` (a new tensor, dtype and shape as for `-`).
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    /// Replaces `a` with `a * b` (a new tensor, dtype and shape as for `*`).
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
    /// Replaces `a` with `a / b` (a new tensor; integer operands give float32, as `/`).
    public static func /= (a: inout Tensor, b: Tensor) { a = a / b }

    /// Elementwise comparisons (results are bool tensors).
    public static func .== (a: Tensor, b: Tensor) -> Tensor { comparison(.eq, a, b) }
    /// Elementwise `a ≠ b` as a bool tensor (`jnp.not_equal`), after broadcasting and
    /// type promotion; true where either is NaN: `x .!= x` finds NaNs.
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { comparison(.ne, a, b) }
    /// Elementwise `a < b` as a bool tensor (`jnp.less`), after broadcasting and type
    /// promotion; false where either is NaN. `where(x .< 0, 0, x)` is a ReLU.
    public static func .< (a: Tensor, b: Tensor) -> Tensor { comparison(.lt, a, b) }
    /// Elementwise `a ≤ b` as a bool tensor (`jnp.less_equal`), after broadcasting and
    /// type promotion; false where either is NaN.
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { comparison(.le, a, b) }
    /// Elementwise `a > b` as a bool tensor (`jnp.greater`), after broadcasting and
    /// type promotion; false where either is NaN: `x .> 0.5` thresholds probabilities.
    public static func .> (a: Tensor, b: Tensor) -> Tensor { comparison(.gt, a, b) }
    /// Elementwise `a ≥ b` as a bool tensor (`jnp.greater_equal`), after broadcasting
    /// and type promotion; false where either is NaN.
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { comparison(.ge, a, b) }

    /// Logical (bool) or bitwise (integer) and, or, xor, not.
    public static func .& (a: Tensor, b: Tensor) -> Tensor { elementwise(.and, a, b) }
    /// Elementwise or: logical for bool, bitwise for integers (`jnp.bitwise_or`), with broadcasting.
    public static func .| (a: Tensor, b: Tensor) -> Tensor { elementwise(.or, a, b) }
    /// Elementwise exclusive or: logical for bool, bitwise for integers (`jnp.bitwise_xor`), with broadcasting.
    public static func .^ (a: Tensor, b: Tensor) -> Tensor { elementwise(.xor, a, b) }
    /// Elementwise not: logical for bool, bitwise for integers (`jnp.logical_not`/`jnp.invert`);
    /// `.!(x .> 0)` is the mask of the non-positive elements.
    public static prefix func .! (a: Tensor) -> Tensor { bind1(.unary(.not), a) }
}

/// Bitwise not of an integer tensor, logical not of a bool one.
public func bitwiseNot(_ a: Tensor) -> Tensor { bind1(.unary(.not), a) }

/// `a << b` elementwise; shifts of 32 or more give 0 (`jnp.left_shift`).
///
/// Shifts are functions, not `<<`/`>>` operators, so that integer literal
/// expressions such as `1 << 20` keep meaning `Int` in code that imports Flock.
public func shiftLeft(_ a: Tensor, _ b: Tensor) -> Tensor { elementwise(.shiftLeft, a, b) }

/// Logical right shift (zeros shifted in), `lax.shift_right_logical`.
public func shiftRightLogical(_ a: Tensor, _ b: Tensor) -> Tensor { elementwise(.shiftRightLogical, a, b) }

/// numpy's `>>`: arithmetic (sign-extending) for int32, logical for uint32.
public func shiftRight(_ a: Tensor, _ b: Tensor) -> Tensor {
    guard let (x, y) = promotedOperands("right_shift", a, b) else { return poison }
    let logical = bind1(.binary(.shiftRightLogical), x, y)
    guard x.dtype == .int32 else { return logical }
    // Fill the vacated high bits of negative values with ones. Shifts of 32 or
    // more act as 31 (all sign bits), as XLA's arithmetic shift.
    let shift = minimum(y, Tensor(Int32(31)))
    let logicalSaturated = bind1(.binary(.shiftRightLogical), x, shift)
    let fill = bitwiseNot(bind1(.binary(.shiftRightLogical), Tensor(Int32(-1)).broadcast(to: x.shape), shift.broadcast(to: x.shape)))
    return select(x .< Tensor(Int32(0)), logicalSaturated .| fill, logical)
}

/// Elementwise maximum, propagating NaN (`jnp.maximum`).
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor { elementwise(.max, a, b) }
/// Elementwise minimum, propagating NaN (`jnp.minimum`).
public func minimum(_ a: Tensor, _ b: Tensor) -> Tensor { elementwise(.min, a, b) }
/// `a` raised to `b` elementwise (`jnp.power`).
public func pow(_ a: Tensor, _ b: Tensor) -> Tensor { elementwise(.pow, a, b) }
/// Four-quadrant arctangent of `y / x` (`jnp.arctan2`).
public func atan2(_ y: Tensor, _ x: Tensor) -> Tensor { elementwise(.atan2, floatingOperand(y), floatingOperand(x)) }

/// Remainder with the sign of the divisor (`jnp.remainder`); an integer
/// remainder by zero is 0, as in JAX.
public func remainder(_ a: Tensor, _ b: Tensor) -> Tensor {
    guard let (x, divisor) = promotedOperands("remainder", a, b) else { return Tensor(poisoned: FlockError("%")) }
    let zero = Tensor(0, dtype: x.dtype)
    let one = Tensor(1, dtype: x.dtype, weakType: true)  // weak: keeps the divisor's weak type
    let y = x.dtype.isInteger ? `where`(divisor .== zero, one, divisor) : divisor
    let r = bind1(.binary(.rem), x, y)
    if x.dtype == .uint32 { return r }
    let fix = (r .!= zero) .& ((r .< zero) .!= (y .< zero))
    return `where`(fix, r + y, r)
}

/// Floor division (`jnp.floor_divide`, Python's `//`).
///
/// Floats follow Python's `divmod` (as JAX does): `(x - x % y) / y` (`x / y`
/// when y = 0), less one where the remainder's sign differs from `y`'s, then
/// rounded; this is not always `floor(x / y)` (e.g. `1 // 0.1` is 9). Integer
/// division by zero gives JAX's values (−1, or −2 when x and y differ in sign).
public func floorDivide(_ a: Tensor, _ b: Tensor) -> Tensor {
    guard let (x, y) = promotedOperands("floor_divide", a, b) else { return Tensor(poisoned: FlockError("//")) }
    // A weak one keeps the quotient's weak type.
    let zero = Tensor(0, dtype: x.dtype), one = Tensor(1, dtype: x.dtype, weakType: true)
    if x.dtype.isFloatingPoint {
        let r = bind1(.binary(.rem), x, y)
        let q = bind1(.binary(.div), `where`(y .== zero, x, x - r), y)
        let fix = (r .!= zero) .& (sign(y) .!= sign(r))
        return round(`where`(fix, q - one, q))
    }
    let q = bind1(.binary(.div), x, y)
    if x.dtype == .uint32 { return q }
    let fix = (sign(x) .!= sign(y)) .& (bind1(.binary(.rem), x, y) .!= zero)
    return `where`(fix, q - one, q)
}

/// `onTrue` where `condition` holds, else `onFalse`, with broadcasting and promotion (`jnp.where`).
public func `where`(_ condition: Tensor, _ onTrue: Tensor, _ onFalse: Tensor) -> Tensor {
    guard let (t, f) = promotedOperands("where", onTrue, onFalse) else { return Tensor(poisoned: FlockError("where")) }
    let c = condition.dtype == .bool ? condition : condition .!= Tensor(0, dtype: condition.dtype)
    guard let shape = try? broadcastShapes(broadcastShapes(c.shape, t.shape), f.shape) else {
        raise(FlockError("where: incompatible shapes for broadcasting: condition \(condition.shape), x \(onTrue.shape), y \(onFalse.shape)"))
        return Tensor(poisoned: FlockError("where"))
    }
    return bind1(.select, c.broadcast(to: shape), t.broadcast(to: shape), f.broadcast(to: shape))
}

/// `lax.select`: operands already of equal shape and dtype (or a rank-0 predicate).
public func select(_ predicate: Tensor, _ onTrue: Tensor, _ onFalse: Tensor) -> Tensor {
    bind1(.select, predicate, onTrue, onFalse)
}

/// Limits values to `[lo, hi]` (`jnp.clip`); either bound may be nil.
public func clip(_ x: Tensor, min lo: Tensor? = nil, max hi: Tensor? = nil) -> Tensor {
    var y = x
    if let lo { y = maximum(y, lo) }
    if let hi { y = minimum(y, hi) }
    return y
}
