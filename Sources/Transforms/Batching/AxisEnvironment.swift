/// Named axes: the environment collectives consult.
///
/// `vmap(f, axisName: "i")` binds the name `"i"` to its batch interpreter for
/// the dynamic extent of `f` (and of every sub-function its batching rules
/// trace). A collective such as `psum(x, axisName: "i")` looks the name up to
/// find the axis size and the interpreter that owns the axis; inner bindings
/// shadow outer ones of the same name, as in JAX.

/// One active named axis.
public struct AxisFrame: Sendable {
    /// The axis name given to `vmap` (`axisName:`).
    public let name: String
    /// The number of examples along the axis.
    public let size: Int
    /// The interpreter that maps over the axis.
    public let interpreter: BatchInterpreter
}

/// The task-local stack of active named axes, innermost last.
public enum AxisEnvironment {
    /// The active frames; bound by `vmap` for the extent of the mapped function.
    @TaskLocal public static var frames: [AxisFrame] = []
}

/// The innermost active axis called `name`, or nil when no transform binds it.
///
/// ```swift
/// vmap({ x in
///     print(activeAxis(named: "batch")?.size)   // Optional(8)
///     return x
/// }, axisName: "batch")(xs)
/// ```
public func activeAxis(named name: String) -> AxisFrame? {
    AxisEnvironment.frames.last { $0.name == name }
}

/// The size of the innermost active axis called `name`, or nil when no
/// transform binds it (`jax.lax.axis_size`).
public func activeAxisSize(_ name: String) -> Int? {
    activeAxis(named: name)?.size
}

/// Runs `body` with `interpreter`'s axis bound to its name (when it has one).
func withAxisBound<R>(_ interpreter: BatchInterpreter, _ body: () throws -> R) rethrows -> R {
    guard let name = interpreter.axisName else { return try body() }
    let frame = AxisFrame(name: name, size: interpreter.axisSize, interpreter: interpreter)
    return try AxisEnvironment.$frames.withValue(AxisEnvironment.frames + [frame], operation: body)
}
