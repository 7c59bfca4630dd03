/// Named axes bound by `vmap`.
///
/// `vmap(f, axisName: "i")` binds the name `"i"` to its batch interpreter for
/// the dynamic extent of `f` (and of every sub-function its batching rules
/// trace), in Core's ``AxisEnvironment`` — the same stack that binds names to
/// communicators, so inner bindings of either kind shadow outer ones, as in
/// JAX. A collective over `"i"` is then handled by that interpreter's batching
/// rule (psum = sum over the batch axis).

extension AxisFrame {
    /// The batch interpreter mapping over the axis, for an axis bound by `vmap`.
    package var interpreter: BatchInterpreter? {
        if case .mapped(let i) = binding { return i as? BatchInterpreter }
        return nil
    }
}

/// Runs `body` with `interpreter`'s axis bound to its name (when it has one).
func withAxisBound<R>(_ interpreter: BatchInterpreter, _ body: () throws -> R) rethrows -> R {
    guard let name = interpreter.axisName else { return try body() }
    return try withAxisFrame(AxisFrame(name: name, size: interpreter.axisSize, binding: .mapped(interpreter)), body)
}
