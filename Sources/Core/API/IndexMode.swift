/// How an indexing function treats out-of-bounds indices (the `mode`
/// argument of JAX's `take`, `take_along_axis` and `.at[]` methods).
///
/// JAX's defaults: `take` and `takeAlongAxis` fill, `x[idx]` and
/// `x.at(…).get()` promise in bounds (on CPU: clamp), `x.at(…).set/add/mul/
/// min/max` drop. A mode a function does not have is a ``FlockError``.
///
/// ```swift
/// x.at(Tensor([1, 10] as [Int32])).set(5)                   // the update at 10 is dropped
/// x.at(Tensor([1, 10] as [Int32])).get(mode: .fill, fillValue: 0)  // [x[1], 0]
/// ```
public enum IndexMode: String, Hashable, Sendable, CaseIterable {
    /// The caller promises every index is in bounds; outside, gathers clamp
    /// and scatters drop, and gradients are undefined.
    case promiseInBounds = "promise_in_bounds"
    /// Indices are clamped into bounds.
    case clip
    /// Out-of-bounds updates are dropped (for a gather: the same as `.fill`).
    case drop
    /// Out-of-bounds reads give the fill value (for a scatter: the same as `.drop`).
    case fill
    /// Indices are taken modulo the axis size (`take` and `takeAlongAxis` only).
    case wrap

    /// The gather/scatter primitives' mode, or an error naming `function`.
    package func primitiveMode(_ function: String) -> GatherScatterMode? {
        switch self {
        case .promiseInBounds: return .promiseInBounds
        case .clip: return .clip
        case .drop, .fill: return .fillOrDrop
        case .wrap:
            raise(FlockError("\(function): index mode wrap is not supported; expected promiseInBounds, clip, drop or fill"))
            return nil
        }
    }
}
