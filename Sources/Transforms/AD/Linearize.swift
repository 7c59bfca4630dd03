/// Reverse mode as JAX does it: `vjp = linearize + transpose`.
///
/// `linearize` runs the JVP interpreter over a partial-evaluation staging
/// interpreter: primal operations (all inputs known) are forwarded and
/// computed now; operations touching tangents are recorded into a linear
/// jaxpr whose constants are the residuals. `vjp` transposes that jaxpr.

/// The result of ``linearizeFlat(_:_:)``: primal outputs and the linear map.
public struct Linearized: Sendable {
    /// Outputs of the function at the primal point.
    public let outputs: [Tensor]
    /// Maps input tangents (one per input; nil-free) to output tangents.
    public let jaxpr: Jaxpr
    /// Which inputs are differentiable (floating point); others have no tangent input.
    public let differentiable: [Bool]
    let inputAvals: [AbstractValue]

    /// Applies the linear map to `tangents` (forward mode through the staged jaxpr).
    public func jvp(_ tangents: [Tensor]) -> [Tensor] {
        let ts = zip(tangents, differentiable).filter(\.1).map(\.0)
        return evalJaxpr(jaxpr, ts)
    }

    /// Transposes the linear map: output cotangents → input cotangents.
    public func vjp(_ cotangents: [Tensor]) -> [Tensor] { vjp(partial: cotangents) }

    /// ``vjp(_:)`` where a nil cotangent stands for zero (outputs such as a
    /// function's auxiliary data that carry no cotangent: nothing flows back).
    func vjp(partial cotangents: [Tensor?]) -> [Tensor] {
        for (k, (c, o)) in zip(cotangents, jaxpr.outputs).enumerated() {
            guard let c, c.shape != o.aval.shape else { continue }
            raise(FlockError(
                "vjp: the pullback's cotangent \(k) has shape \(c.shape), but output \(k) has shape \(o.aval.shape); "
                    + "a cotangent must have its output's shape"))
            return inputAvals.map { _ in Tensor.poisoned }
        }
        let cts = zip(cotangents, jaxpr.outputs).map { c, o -> Tensor? in
            guard let c else { return nil }
            return c.shape == o.aval.shape ? c.converted(to: o.aval.dtype, weak: o.aval.weakType) : c
        }
        let linearArgs = [Tensor?](repeating: nil, count: jaxpr.inputs.count)
        var result: [Tensor?] = []
        do {
            result = try DebugNumerics.within("transpose (grad's backward pass)") { try backwardPass(jaxpr, linearArgs, cts) }
        } catch {
            raise((error as? FlockError) ?? FlockError("vjp: \(error)"))
            return inputAvals.map { _ in Tensor.poisoned }
        }
        var k = 0
        return zip(inputAvals, differentiable).map { aval, d in
            guard d else { return zeros(like: aval) }
            defer { k += 1 }
            return result[k] ?? zeros(like: aval)
        }
    }
}

/// Linearizes `f` at `primals` (`jax.linearize` over flat lists).
public func linearizeFlat(_ f: ([Tensor]) -> [Tensor], _ primals: [Tensor]) -> Linearized {
    let staging = StagingInterpreter(parent: InterpreterContext.current, partial: true)
    let jvp = JVPInterpreter(parent: staging)
    let differentiable = primals.map { $0.dtype.isFloatingPoint }
    var tangentVars: [Var] = []
    let inputs = primals.enumerated().map { i, x -> Tensor in
        guard differentiable[i] else { return x }
        let (v, t) = staging.newInput(AbstractValue(shape: x.shape, dtype: x.dtype, weakType: x.weakType))
        tangentVars.append(v)
        return jvp.lift(x, tangent: t)
    }
    let outs = DebugNumerics.within("linearize (grad's forward pass)") { withInterpreter(jvp) { f(inputs) } }
    let unpacked = outs.map(jvp.unpack)
    let tangentOuts = withInterpreter(staging) {
        unpacked.map { $0.tangent ?? zeros(like: AbstractValue(shape: $0.primal.shape, dtype: $0.primal.dtype)) }
    }
    let jaxpr = staging.finish(inputs: tangentVars, outputs: tangentOuts)
    return Linearized(outputs: unpacked.map(\.primal), jaxpr: jaxpr, differentiable: differentiable,
                      inputAvals: primals.map(\.aval))
}

/// Forward-mode derivative of `f` at `primals` along `tangents` (`jax.jvp` over flat lists).
public func jvpFlat(_ f: ([Tensor]) -> [Tensor], _ primals: [Tensor], _ tangents: [Tensor]) -> (outputs: [Tensor], tangents: [Tensor]) {
    guard primals.count == tangents.count else {
        raise(FlockError("jvp: \(primals.count) primals but \(tangents.count) tangents"))
        return ([], [])
    }
    for (i, (p, t)) in zip(primals, tangents).enumerated() where p.shape != t.shape || (p.dtype.isFloatingPoint && p.dtype != t.dtype) {
        raise(FlockError("jvp: primal and tangent arguments must have the same shape and dtype: argument \(i) primal \(p.dtype)\(p.shape), tangent \(t.dtype)\(t.shape)"))
        return ([], [])
    }
    let interp = JVPInterpreter(parent: InterpreterContext.current)
    let inputs = zip(primals, tangents).map { p, t in p.dtype.isFloatingPoint ? interp.lift(p, tangent: t) : p }
    let outs = DebugNumerics.within("jvp") { withInterpreter(interp) { f(inputs) } }
    let unpacked = outs.map(interp.unpack)
    return (unpacked.map(\.primal), unpacked.map { $0.tangent ?? zeros(like: AbstractValue(shape: $0.primal.shape, dtype: $0.primal.dtype)) })
}

/// Outputs of `f` at `primals` and its pullback (`jax.vjp` over flat lists).
public func vjpFlat(_ f: ([Tensor]) -> [Tensor], _ primals: [Tensor]) -> (outputs: [Tensor], pullback: ([Tensor]) -> [Tensor]) {
    let lin = linearizeFlat(f, primals)
    return (lin.outputs, { lin.vjp($0) })
}
