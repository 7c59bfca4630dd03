/// Interpreters and `bind`: the one path every operation takes.
///
/// Every operation on ``Tensor`` ends in ``bind(_:_:)``, which hands the primitive
/// to the *current* interpreter, read from a task-local context. The eval
/// interpreter (the default) runs kernels on concrete arrays; transforms install
/// their own interpreter with ``withInterpreter(_:_:)`` and run their rules under
/// the parent, so transforms nest in any order.

/// An interpretation of primitives: evaluation, JVP, batching, staging, ...
package protocol Interpreter: AnyObject, Sendable {
    /// Applies `primitive` to `inputs`, which may include tracers of this
    /// interpreter and values of outer ones (to be treated as constants).
    func process(_ primitive: Primitive, _ inputs: [Tensor]) throws -> [Tensor]
}

/// The per-task interpreter context.
package enum InterpreterContext {
    /// The interpreter `bind` hands primitives to in this task: evaluation by default;
    /// transforms install theirs for the scope of the function they trace.
    @TaskLocal package static var current: any Interpreter = EvalInterpreter.shared
}

/// Runs `body` with `interpreter` as the current interpreter.
package func withInterpreter<R>(_ interpreter: any Interpreter, _ body: () throws -> R) rethrows -> R {
    try InterpreterContext.$current.withValue(interpreter, operation: body)
}

/// A value owned by an interpreter other than eval (JVP pair, batched value,
/// IR variable). Subclasses carry the payload; `aval` is what shape rules see.
@_spi(Engine) open class Tracer: @unchecked Sendable {
    public let aval: AbstractValue
    /// The interpreter that created this tracer; only it may unwrap it.
    package let owner: any Interpreter

    package init(aval: AbstractValue, owner: any Interpreter) {
        self.aval = aval
        self.owner = owner
    }
}

/// Applies `primitive` to `inputs` under the current interpreter.
///
/// Errors are reported through ``raise(_:)``: thrown from an enclosing
/// ``catchingErrors(_:)``, otherwise fatal. Poisoned inputs skip the work.
package func bind(_ primitive: Primitive, _ inputs: [Tensor]) -> [Tensor] {
    for x in inputs {
        if case .poisoned = x.storage {
            return Array(repeating: x, count: primitive.outputCount(inputCount: inputs.count))
        }
    }
    do {
        return try InterpreterContext.current.process(primitive, inputs)
    } catch {
        let e = (error as? FlockError) ?? FlockError("\(primitive.name): \(error)")
        raise(e)
        return Array(repeating: Tensor(poisoned: e), count: primitive.outputCount(inputCount: inputs.count))
    }
}

/// ``bind(_:_:)`` for single-output primitives.
@inline(__always)
package func bind1(_ primitive: Primitive, _ inputs: Tensor...) -> Tensor {
    bind(primitive, inputs)[0]
}

/// The default interpreter: checks shapes and runs CPU kernels.
package final class EvalInterpreter: Interpreter {
    /// The one evaluating interpreter.
    package static let shared = EvalInterpreter()

    package func process(_ primitive: Primitive, _ inputs: [Tensor]) throws -> [Tensor] {
        var arrays: [DenseArray] = []
        arrays.reserveCapacity(inputs.count)
        var avals: [AbstractValue] = []
        avals.reserveCapacity(inputs.count)
        for x in inputs {
            guard case .concrete(let a) = x.storage else {
                throw FlockError(
                    "\(primitive.name): an input is a tracer of a transform that is no longer active "
                        + "(a traced value escaped its transform, e.g. stored outside a jit or grad)")
            }
            if a.isDeleted { throw Tensor.deletedError(primitive.name) }
            arrays.append(a)
            avals.append(x.aval)
        }
        let outAvals = try primitive.abstractEval(avals)
        try checkAllocations(outAvals, operation: primitive.name)
        let outs = try SubnormalMode.flushing { try primitive.evaluate(arrays, outAvals: outAvals) }
        if DebugNumerics.isOn { try DebugNumerics.check(primitive, inputs: arrays, outputs: outs) }
        return zip(outs, outAvals).map { Tensor(concrete: $0, weakType: $1.weakType) }
    }
}

/// ``bind(_:_:)`` for single-output primitives, with the inputs as an array.
@inline(__always)
package func bind1(_ primitive: Primitive, _ inputs: [Tensor]) -> Tensor {
    bind(primitive, inputs)[0]
}
