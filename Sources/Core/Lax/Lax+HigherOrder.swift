/// `lax`'s higher-order primitives and collectives (see ``lax``). Jaxprs are
/// closed: captured values come first among the operands.
extension lax {
    /// The identity with a zero derivative.
    package static func stopGradient(_ x: Tensor) -> Tensor { bind1(.stopGradient, x) }
    /// A staged call of `jaxpr` (JAX's `pjit`).
    package static func call(_ jaxpr: Jaxpr, kind: CallKind, _ operands: [Tensor]) -> [Tensor] {
        bind(.call(jaxpr, kind: kind), operands)
    }
    /// Branch `index` (int32, clamped) of `branches` applied to `operands`.
    package static func cond(_ index: Tensor, branches: [Jaxpr], _ operands: [Tensor]) -> [Tensor] {
        bind(.cond(branches: branches), [index] + operands)
    }
    /// `body` applied while `cond` holds; operands: cond consts, body consts, carry.
    package static func whileLoop(
        cond: Jaxpr, body: Jaxpr, condConstCount: Int, bodyConstCount: Int, _ operands: [Tensor]
    ) -> [Tensor] {
        bind(.whileLoop(cond: cond, body: body, condConstCount: condConstCount, bodyConstCount: bodyConstCount), operands)
    }
    /// `body` scanned over the leading axis; operands: consts, carry, scanned inputs.
    package static func scan(
        body: Jaxpr, length: Int, reverse: Bool, constCount: Int, carryCount: Int, _ operands: [Tensor]
    ) -> [Tensor] {
        bind(.scan(body: body, length: length, reverse: reverse, constCount: constCount, carryCount: carryCount), operands)
    }
    /// `jaxpr` applied, recomputed in the backward pass (`jax.checkpoint`).
    package static func checkpoint(_ jaxpr: Jaxpr, _ operands: [Tensor]) -> [Tensor] {
        bind(.checkpoint(jaxpr), operands)
    }
    /// `jaxpr` applied, differentiated by `rule` (`jax.custom_jvp`).
    package static func customJVP(_ jaxpr: Jaxpr, rule: CustomRule, _ operands: [Tensor]) -> [Tensor] {
        bind(.customJVP(jaxpr, rule: rule), operands)
    }
    /// `jaxpr` applied, differentiated by `rule` (`jax.custom_vjp`).
    package static func customVJP(_ jaxpr: Jaxpr, rule: CustomRule, _ operands: [Tensor]) -> [Tensor] {
        bind(.customVJP(jaxpr, rule: rule), operands)
    }
    /// The linear part of a custom VJP: operands are the residuals then the tangents.
    package static func customVJPLinear(
        rule: CustomRule, residualCount: Int, outAvals: [AbstractValue], _ operands: [Tensor]
    ) -> [Tensor] {
        bind(.customVJPLinear(rule: rule, residualCount: residualCount, outAvals: outAvals), operands)
    }
}

// MARK: - Collectives

extension lax {
    /// The sum over the members of the named axes.
    package static func psum(_ x: Tensor, axes: [String]) -> Tensor { bind1(.psum(axes: axes), x) }
    /// The maximum over the members of the named axes.
    package static func pmax(_ x: Tensor, axes: [String]) -> Tensor { bind1(.pmax(axes: axes), x) }
    /// The minimum over the members of the named axes.
    package static func pmin(_ x: Tensor, axes: [String]) -> Tensor { bind1(.pmin(axes: axes), x) }
    /// Every member's `x` stacked at `axis` (concatenated there when `tiled`).
    package static func allGather(_ x: Tensor, axes: [String], axis: Int, tiled: Bool) -> Tensor {
        bind1(.allGather(axes: axes, axis: axis, tiled: tiled), x)
    }
    /// The sum over members, member `i` keeping block `i` of `scatterDimension`.
    package static func psumScatter(_ x: Tensor, axes: [String], scatterDimension: Int, tiled: Bool) -> Tensor {
        bind1(.psumScatter(axes: axes, scatterDimension: scatterDimension, tiled: tiled), x)
    }
    /// `x` sent along the (source, destination) `pairs`; zeros where nothing arrives.
    package static func ppermute(_ x: Tensor, axes: [String], pairs: [PermutationPair]) -> Tensor {
        bind1(.ppermute(axes: axes, pairs: pairs), x)
    }
    /// Block `j` of `splitAxis` to member `j`, arriving at position `i` of `concatAxis`.
    package static func allToAll(_ x: Tensor, axes: [String], splitAxis: Int, concatAxis: Int, tiled: Bool) -> Tensor {
        bind1(.allToAll(axes: axes, splitAxis: splitAxis, concatAxis: concatAxis, tiled: tiled), x)
    }
    /// The member's index along the named axes (int32).
    package static func axisIndex(axes: [String]) -> Tensor { bind1(.axisIndex(axes: axes)) }
    /// Member `source`'s `x` on every member.
    package static func pbroadcast(_ x: Tensor, axes: [String], source: Int) -> Tensor {
        bind1(.pbroadcast(axes: axes, source: source), x)
    }
}
