/// The rules' vocabulary: one typed function per primitive, as JAX's `lax`.
///
/// The JVP, transpose and batching rules (FlockTransforms) build their
/// results from primitives, not from the user API: a rule must bind exactly
/// the primitive it means, with no type promotion, no broadcasting of
/// operands and no argument checks (the shape rule checks). Each function
/// here binds one primitive under the current interpreter and nothing else,
/// so `lax.mul(a, b)` is the equation `mul a b` and rules read like JAX's
/// (`lax.broadcast_in_dim`, `lax.reduce_sum`, `lax.dot_general`, …).
/// Operands must already agree in shape and dtype where the primitive says
/// so (rank-0 operands where it accepts them).
///
/// Names follow `jax.lax` in Swift's spelling; the parameters are those of the
/// ``Primitive`` case. `apply` rebinds a primitive the rule received (JAX's
/// `prim.bind`), for rules written once for a family of primitives. The
/// name is lowercase, like JAX's module, so rules read `lax.add(a, b)`.
package enum lax {
    /// Binds `primitive` to `operands` and returns all its results (JAX's
    /// `prim.bind`): for rules shared by several primitives, such as
    /// "apply the same linear primitive to the tangents".
    package static func apply(_ primitive: Primitive, _ operands: [Tensor]) -> [Tensor] {
        bind(primitive, operands)
    }

    /// Binds a single-result `primitive` to `operands` and returns its result.
    package static func apply(_ primitive: Primitive, _ operands: Tensor...) -> Tensor {
        bind(primitive, operands)[0]
    }
}

// MARK: - Elementwise

extension lax {
    /// An elementwise function of one operand (`lax.neg`, `lax.exp`, …).
    package static func unary(_ op: UnaryOp, _ x: Tensor) -> Tensor { bind1(.unary(op), x) }
    /// −x.
    package static func neg(_ x: Tensor) -> Tensor { bind1(.unary(.neg), x) }
    /// eˣ.
    package static func exp(_ x: Tensor) -> Tensor { bind1(.unary(.exp), x) }
    /// The natural logarithm.
    package static func log(_ x: Tensor) -> Tensor { bind1(.unary(.log), x) }
    /// The sine.
    package static func sin(_ x: Tensor) -> Tensor { bind1(.unary(.sin), x) }
    /// The cosine.
    package static func cos(_ x: Tensor) -> Tensor { bind1(.unary(.cos), x) }
    /// |x|.
    package static func abs(_ x: Tensor) -> Tensor { bind1(.unary(.abs), x) }
    /// −1, 0 or 1.
    package static func sign(_ x: Tensor) -> Tensor { bind1(.unary(.sign), x) }
    /// Rounds down to an integral value.
    package static func floor(_ x: Tensor) -> Tensor { bind1(.unary(.floor), x) }

    /// An elementwise function of two operands of one shape and dtype (`lax.add`, …).
    package static func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(op), a, b) }
    /// a + b.
    package static func add(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.add), a, b) }
    /// a − b.
    package static func sub(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.sub), a, b) }
    /// a · b.
    package static func mul(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.mul), a, b) }
    /// a / b (integers round toward zero).
    package static func div(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.div), a, b) }
    /// aᵇ.
    package static func pow(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.pow), a, b) }
    /// The elementwise minimum (NaN propagates).
    package static func min(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.min), a, b) }
    /// Logical (bool) or bitwise (integer) and.
    package static func and(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.binary(.and), a, b) }

    /// An elementwise comparison, giving bool (`lax.eq`, `lax.lt`, …).
    package static func compare(_ op: CompareOp, _ a: Tensor, _ b: Tensor) -> Tensor { bind1(.compare(op), a, b) }
    /// a == b.
    package static func eq(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.compare(.eq), a, b) }
    /// a < b.
    package static func lt(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.compare(.lt), a, b) }
    /// a > b.
    package static func gt(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.compare(.gt), a, b) }
    /// a ≥ b.
    package static func ge(_ a: Tensor, _ b: Tensor) -> Tensor { bind1(.compare(.ge), a, b) }

    /// `onTrue` where `predicate` holds, else `onFalse` (JAX's `select_n` with a
    /// bool predicate); a rank-0 predicate selects whole operands.
    package static func select(_ predicate: Tensor, _ onTrue: Tensor, _ onFalse: Tensor) -> Tensor {
        bind1(.select, predicate, onTrue, onFalse)
    }

    /// `x` clamped to [lo, hi]; the bounds are rank-0 or shaped like `x`.
    package static func clamp(_ lo: Tensor, _ x: Tensor, _ hi: Tensor) -> Tensor { bind1(.clamp, lo, x, hi) }

    /// `a · b + c` rounded once; operands of one floating-point dtype, each rank-0 or of one shape.
    package static func fma(_ a: Tensor, _ b: Tensor, _ c: Tensor) -> Tensor { bind1(.fma, a, b, c) }

    /// `x` converted to `dtype` elementwise (`lax.convert_element_type`),
    /// strongly typed unless `weakType`.
    package static func convertElementType(_ x: Tensor, _ dtype: DType, weakType: Bool = false) -> Tensor {
        bind1(.convert(dtype, weakType: weakType), x)
    }
}

// MARK: - Reductions

extension lax {
    /// `x` reduced over `axes` with `op` (`lax.reduce_sum`, `reduce_max`, …); the axes are removed.
    package static func reduce(_ op: ReduceOp, _ x: Tensor, axes: [Int]) -> Tensor { bind1(.reduce(op, axes: axes), x) }
    /// The sum of `x` over `axes` (removed).
    package static func reduceSum(_ x: Tensor, axes: [Int]) -> Tensor { bind1(.reduce(.sum, axes: axes), x) }
    /// The index of the extremum along `axis` (int32).
    package static func argReduce(_ op: ArgReduceOp, _ x: Tensor, axis: Int) -> Tensor {
        bind1(.argReduce(op, axis: axis), x)
    }
    /// The cumulative sum along `axis`, from the end when `reverse`.
    package static func cumsum(_ x: Tensor, axis: Int, reverse: Bool) -> Tensor {
        bind1(.cumsum(axis: axis, reverse: reverse), x)
    }
}
