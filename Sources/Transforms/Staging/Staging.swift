@_exported @_spi(Engine) import FlockCore

/// The staging interpreter: records primitives into a jaxpr.
///
/// Its tracer carries a jaxpr variable. Inputs that are not its own tracers
/// (concrete arrays, or tracers of outer transforms) are *known*: in
/// `partial` mode an equation whose inputs are all known is forwarded to the
/// parent interpreter and not recorded (partial evaluation, used by
/// `linearize`); otherwise known inputs become constants of the jaxpr (or
/// inline literals when they are concrete scalars).
package final class StagingInterpreter: Interpreter, @unchecked Sendable {
    /// The interpreter known values and (in `partial` mode) known equations go to.
    package let parent: any Interpreter
    /// Forward equations with only known inputs to the parent instead of staging them.
    package let partial: Bool
    private var nextID = 0
    private(set) var equations: [Equation] = []
    private(set) var constVars: [Var] = []
    private(set) var consts: [Tensor] = []

    /// A staging interpreter over `parent`; `partial` forwards equations whose inputs are all known.
    package init(parent: any Interpreter, partial: Bool) {
        self.parent = parent
        self.partial = partial
    }

    package final class StagedTracer: Tracer, @unchecked Sendable {
        package let variable: Var
        init(variable: Var, owner: StagingInterpreter) {
            self.variable = variable
            super.init(aval: variable.aval, owner: owner)
        }
    }

    /// A new variable of the jaxpr being recorded, with the given abstract value.
    package func freshVar(_ aval: AbstractValue) -> Var {
        nextID += 1
        return Var(id: nextID, aval: aval)
    }

    /// A new input variable, returned as a tracer.
    package func newInput(_ aval: AbstractValue) -> (Var, Tensor) {
        let v = freshVar(aval)
        return (v, Tensor(tracer: StagedTracer(variable: v, owner: self)))
    }

    /// Whether `x` is one of this interpreter's tracers.
    package func owns(_ x: Tensor) -> Bool { (x.tracer as? StagedTracer)?.owner === self }

    /// The atom for `x`: its variable, a literal, or a new constant variable.
    package func atom(_ x: Tensor) -> Atom {
        if let t = x.tracer as? StagedTracer, t.owner === self { return .variable(t.variable) }
        if x.isConcrete && x.rank == 0 { return .literal(LiteralValue(x)) }
        let v = freshVar(x.aval)
        constVars.append(v)
        consts.append(x)
        return .variable(v)
    }

    package func process(_ primitive: Primitive, _ inputs: [Tensor]) throws -> [Tensor] {
        if partial && !inputs.contains(where: owns) {
            return try withInterpreter(parent) { try parent.process(primitive, inputs) }
        }
        let outAvals = try primitive.abstractEval(inputs.map(\.aval))
        let atoms = inputs.map(atom)
        let outs = outAvals.map(freshVar)
        equations.append(Equation(primitive: primitive, inputs: atoms, outputs: outs))
        return outs.map { Tensor(tracer: StagedTracer(variable: $0, owner: self)) }
    }

    /// Packages what was recorded into a jaxpr with `inputs` and `outputs`.
    package func finish(inputs: [Var], outputs: [Tensor]) -> Jaxpr {
        let outAtoms = outputs.map(atom)
        return Jaxpr(inputs: inputs, constVars: constVars, consts: consts, equations: equations, outputs: outAtoms)
    }
}

/// Traces `f` on abstract inputs into a jaxpr, staging every operation.
///
/// Values `f` captures from outside (concrete arrays or outer tracers) become
/// the jaxpr's constants.
public func traceToJaxpr(_ avals: [AbstractValue], _ f: ([Tensor]) -> [Tensor]) -> Jaxpr {
    let staging = StagingInterpreter(parent: InterpreterContext.current, partial: false)
    let inputs = avals.map { staging.newInput($0) }
    let outs = withInterpreter(staging) { f(inputs.map(\.1)) }
    return staging.finish(inputs: inputs.map(\.0), outputs: outs)
}

extension Jaxpr {
    /// The same program with its constants turned into leading inputs, and the
    /// constant values to pass for them. Higher-order primitives take closed jaxprs.
    public func closureConverted() -> (jaxpr: Jaxpr, constArgs: [Tensor]) {
        if constVars.isEmpty { return (self, []) }
        let j = Jaxpr(inputs: constVars + inputs, constVars: [], consts: [], equations: equations, outputs: outputs)
        return (j, consts)
    }
}

/// Traces `f` and returns a closed jaxpr plus the captured values to pass as leading operands.
public func traceClosed(_ avals: [AbstractValue], _ f: ([Tensor]) -> [Tensor]) -> (jaxpr: Jaxpr, constArgs: [Tensor]) {
    traceToJaxpr(avals, f).closureConverted()
}
