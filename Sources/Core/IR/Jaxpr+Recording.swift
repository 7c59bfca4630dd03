/// Records the primitives a function of Core applies to abstract inputs into a
/// closed jaxpr: a minimal staging interpreter, for Core's own composite
/// functions that carry a custom derivative (``Primitive/customJVP(_:rule:)``
/// needs the function as a jaxpr, and FlockTransforms' tracer is out of
/// Core's reach).
///
/// `f` may use its inputs and concrete values (constants, which become
/// literals when rank-0 and are evaluated when every operand of an operation
/// is concrete); a tracer of another interpreter inside `f` is an error.
package func recordJaxpr(_ avals: [AbstractValue], _ f: ([Tensor]) -> [Tensor]) throws -> Jaxpr {
    let recorder = RecordingInterpreter()
    let inputs = avals.map { recorder.freshVar($0) }
    let outs = withInterpreter(recorder) { f(inputs.map { Tensor(tracer: RecordingInterpreter.Recorded(variable: $0, owner: recorder)) }) }
    return Jaxpr(inputs: inputs, constVars: recorder.constVars, consts: recorder.consts,
                 equations: recorder.equations, outputs: try outs.map(recorder.atom))
}

private final class RecordingInterpreter: Interpreter, @unchecked Sendable {
    final class Recorded: Tracer, @unchecked Sendable {
        let variable: Var
        init(variable: Var, owner: RecordingInterpreter) {
            self.variable = variable
            super.init(aval: variable.aval, owner: owner)
        }
    }

    var equations: [Equation] = []
    var constVars: [Var] = []
    var consts: [Tensor] = []
    private var nextID = 0

    func freshVar(_ aval: AbstractValue) -> Var {
        nextID += 1
        return Var(id: nextID, aval: aval)
    }

    /// The atom for `x`: its variable, a literal (rank-0 constant) or a new constant variable.
    func atom(_ x: Tensor) throws -> Atom {
        if let t = x.tracer as? Recorded, t.owner === self { return .variable(t.variable) }
        guard x.isConcrete else {
            throw FlockError("recordJaxpr: an operand is a tracer of another transform (\(x.aval))")
        }
        if x.rank == 0 { return .literal(LiteralValue(x)) }
        let v = freshVar(x.aval)
        constVars.append(v)
        consts.append(x)
        return .variable(v)
    }

    func process(_ primitive: Primitive, _ inputs: [Tensor]) throws -> [Tensor] {
        if inputs.allSatisfy(\.isConcrete) { return try EvalInterpreter.shared.process(primitive, inputs) }
        let atoms = try inputs.map(atom)
        let outs = try primitive.abstractEval(inputs.map(\.aval)).map(freshVar)
        equations.append(Equation(primitive: primitive, inputs: atoms, outputs: outs))
        return outs.map { Tensor(tracer: Recorded(variable: $0, owner: self)) }
    }
}
