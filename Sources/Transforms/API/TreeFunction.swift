/// A transformed function of any number of pytree arguments, as the
/// argument-pack forms of `vmap` and `jit` return it.
///
/// Call it directly, or take ``function`` to hand it to another transform.
/// (A struct rather than a closure: Swift cannot yet apply a closure of a
/// parameter pack in the expression that creates it, as in `vmap(f, …)(x, y)`.)
///
/// ```swift
/// let batched = vmap({ (p: [String: Tensor], x: Tensor) in model(p, x) }, inAxes: [nil, 0])
/// let ys = batched(params, xs)
/// let fast = jit(batched.function)
/// ```
public struct TreeFunction<each Argument, Result> {
    /// The function as a closure.
    public let function: (repeat each Argument) -> Result

    /// Wraps `function`.
    public init(_ function: @escaping (repeat each Argument) -> Result) { self.function = function }

    /// Calls the function.
    public func callAsFunction(_ arguments: repeat each Argument) -> Result { function(repeat each arguments) }
}

/// Hands out consecutive leaves to rebuild the arguments of a pack one by one.
package final class LeafCursor {
    private var rest: ArraySlice<Tensor>
    package init(_ leaves: [Tensor]) { rest = leaves[...] }
    /// A tree shaped like `template` from the next leaves.
    package func take<T: PyTree>(like template: T) -> T { template.rebuilt(from: &rest) }
}

/// A transformed function of any number of pytree arguments that can fail
/// with a ``FlockError`` it throws (the argument-pack form of `pmap`).
///
/// ```swift
/// let step = pmap({ (p: [String: Tensor], x: Tensor) in model(p, x) }, axisName: "d", inAxes: [nil, 0])
/// let ys = try step(params, xs)
/// ```
public struct ThrowingTreeFunction<each Argument, Result> {
    /// The function as a closure.
    public let function: (repeat each Argument) throws -> Result

    /// Wraps `function`.
    public init(_ function: @escaping (repeat each Argument) throws -> Result) { self.function = function }

    /// Calls the function.
    public func callAsFunction(_ arguments: repeat each Argument) throws -> Result { try function(repeat each arguments) }
}
