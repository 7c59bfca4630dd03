@_spi(Engine) import FlockCore
/// The batch interpreter: what `vmap` runs a function under.
///
/// Its tracer, ``BatchTracer``, carries a value of the *parent* interpreter and
/// the position of the mapped axis in it (its *batch dimension*), or no batch
/// dimension when the value is the same for every example. The tracer's aval is
/// the per-example view: the value's shape without the batch dimension, which
/// is what user code (and shape rules) see. Each primitive is rewritten by its
/// batching rule (`BatchingRules.swift`) into primitives on the whole
/// batch, which run under the parent interpreter (JAX's Autodidax2, stackless).
package final class BatchInterpreter: Interpreter {
    /// The interpreter the batched primitives run under.
    package let parent: any Interpreter
    /// The size of the mapped axis.
    package let axisSize: Int
    /// The name collectives use to refer to the mapped axis, if any.
    package let axisName: String?

    /// A batch interpreter over `parent` (usually the current interpreter) for
    /// an axis of `axisSize` examples. ``vmapFlat(_:inAxes:outAxes:axisSize:axisName:)``
    /// is the usual way in; rules of higher-order primitives create their own.
    package init(parent: any Interpreter, axisSize: Int, axisName: String? = nil) {
        self.parent = parent
        self.axisSize = axisSize
        self.axisName = axisName
    }

    /// The value and batch dimension behind `x`: this interpreter's tracers are
    /// unwrapped; anything else (concrete arrays, outer tracers) is unbatched.
    package func lift(_ x: Tensor) -> BatchedValue {
        if let t = x.tracer as? BatchTracer, t.owner === self { return BatchedValue(t.value, t.batchDim) }
        return BatchedValue(x, nil)
    }

    /// `x` as seen by code running under this interpreter. Unbatched values need
    /// no tracer: they behave the same wrapped or not.
    package func wrap(_ x: BatchedValue) -> Tensor {
        guard let dim = x.dim, !x.value.isPoisoned else { return x.value }
        precondition(dim >= 0 && dim < x.value.rank && x.value.shape[dim] == axisSize,
                     "vmap: batch dimension \(dim) of \(x.value.shape) does not have the axis size \(axisSize)")
        return Tensor(tracer: BatchTracer(value: x.value, batchDim: dim, owner: self))
    }

    /// Applies `primitive`'s batching rule under the parent, or forwards the
    /// primitive unchanged when no input is batched.
    package func process(_ primitive: Primitive, _ inputs: [Tensor]) throws -> [Tensor] {
        let lifted = inputs.map(lift)
        // A collective over this vmap's axis needs its rule even for unbatched
        // operands (psum of a constant is size × it; axisIndex has no operands).
        let mapsName = mapsOwnAxis(primitive)
        if lifted.allSatisfy({ $0.dim == nil }) && !mapsName {
            let values = lifted.map(\.value)
            return try withInterpreter(parent) { try parent.process(primitive, values) }
        }
        // Check the per-example shapes first, so that errors name the shapes the
        // user wrote code for rather than the batched ones.
        let outAvals = try primitive.abstractEval(inputs.map(\.aval))
        let rules = BatchingRules(axisSize: axisSize, axisName: axisName, mapsName: mapsName)
        let outs = try withInterpreter(parent) { try rules.apply(primitive, lifted, outAvals: outAvals) }
        assert(zip(outs, outAvals).allSatisfy { $0.value.isPoisoned || $0.exampleShape == $1.shape },
               "\(primitive.name): batching rule gave \(outs.map(\.exampleShape)), expected \(outAvals.map(\.shape))")
        return outs.map(wrap)
    }
}

extension BatchInterpreter {
    /// Whether `primitive` is a collective over this interpreter's axis, bound
    /// here (not shadowed by an inner binding of the same name).
    func mapsOwnAxis(_ primitive: Primitive) -> Bool {
        guard let name = axisName, let axes = primitive.collectiveAxes, axes.contains(name) else { return false }
        return activeAxis(named: name)?.interpreter === self
    }
}

/// A value of the parent interpreter with its batch dimension: the tracer of
/// ``BatchInterpreter``. Its aval is the per-example view.
package final class BatchTracer: Tracer, @unchecked Sendable {
    /// The whole batch, a value of the parent interpreter.
    public let value: Tensor
    /// The axis of `value` that is mapped over; nil when every example shares `value`.
    public let batchDim: Int?

    init(value: Tensor, batchDim: Int?, owner: BatchInterpreter) {
        self.value = value
        self.batchDim = batchDim
        var shape = value.shape
        if let batchDim { shape.remove(at: batchDim) }
        super.init(aval: AbstractValue(shape: shape, dtype: value.dtype, weakType: value.weakType), owner: owner)
    }
}

/// A value of the parent interpreter and its batch dimension (nil: unbatched).
public struct BatchedValue: Sendable {
    /// The value, with the batch dimension (if any) included.
    public var value: Tensor
    /// Which dimension of `value` is the batch; nil when the value is the same for every batch element.
    public var dim: Int?

    /// `value` batched along `dim`, or unbatched when `dim` is nil.
    public init(_ value: Tensor, _ dim: Int?) {
        self.value = value
        self.dim = dim
    }

    /// The shape one example sees: the value's shape without the batch dimension.
    public var exampleShape: [Int] {
        var shape = value.shape
        if let dim { shape.remove(at: dim) }
        return shape
    }

    /// The per-example rank.
    public var exampleRank: Int { value.rank - (dim == nil ? 0 : 1) }
}

extension Tensor {
    /// Whether this tensor stands for the result of a failed operation (it is
    /// neither a concrete array nor a tracer).
    var isPoisoned: Bool { !isConcrete && tracer == nil }
}

/// A poisoned placeholder to return after an error was reported with ``raise(_:)``.
///
/// FlockCore keeps its poisoned initialiser internal; an impossible literal is
/// the public route to one. Its own error is dropped: the enclosing
/// `catchingErrors` scope keeps the first error, which the caller just raised.
func poisonedTensor() -> Tensor {
    Tensor([Float](), shape: [1])
}
