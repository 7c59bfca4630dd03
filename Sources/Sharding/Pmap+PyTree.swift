@_spi(Engine) import FlockCore
import FlockTransforms
import Synchronization

/// `pmap` over any number of pytree arguments with one ``AxisSpec`` per
/// argument (`jax.pmap(f, in_axes=(None, 0))`): replicated parameters and a
/// sharded batch in one call, however many leaves each has. Returns this
/// process's part of the result, its leaves stacked along `outAxes` (a prefix
/// of the result's tree; nil for results the same on every device).
///
/// ```swift
/// let step = pmap({ (p: [String: Tensor], x: Tensor) in
///     pmean(grad { loss($0, x) }(p), axisName: "d")
/// }, axisName: "d", inAxes: [nil, 0], outAxes: nil)
/// let g = try step(params, batch)      // batch: [localDeviceCount, ...]
/// ```
///
/// A spec that does not match its argument (or a number of specs other than
/// the number of arguments) is a thrown ``FlockError`` naming the argument.
public func pmap<each A: PyTree, Q: PyTree>(
    _ f: @escaping (repeat each A) -> Q, axisName: String, inAxes: [AxisSpec], outAxes: AxisSpec = 0
) -> ThrowingTreeFunction<repeat each A, Q> {
    let state = PmapPackState<Q>()
    return ThrowingTreeFunction { (args: repeat each A) throws in
        var structures: [TreeStructure] = [], leaves: [Tensor] = [], axes: [Int?] = [], count = 0
        try catchingErrors {
            for a in repeat each args {
                structures.append(treeStructure(a))
                leaves += treeLeaves(a)
                if count < inAxes.count, let resolved = inAxes[count].leafAxes(for: a, "pmap: inAxes[\(count)] for argument \(count)") {
                    axes += resolved
                }
                count += 1
            }
        }
        guard inAxes.count == count else {
            throw FlockError("pmap: inAxes has \(inAxes.count) entries (\(tupleDescription(inAxes))) but the function takes \(count) arguments; give one per argument")
        }
        let key = structures
        let function = state.withLock { s -> PmapFunction in
            if let g = s.functions[structures] { return g }
            let g = PmapFunction({ xs in
                let cursor = LeafCursor(xs)
                let q = f(repeat cursor.take(like: each args))
                state.withLock { $0.outputs[structures] = q }
                return treeLeaves(q)
            }, axisName: axisName, inAxes: axes, outAxes: .computed({ n in
                guard let q = state.withLock({ $0.outputs[key] }) else { return [Int?](repeating: nil, count: n) }
                return outAxes.leafAxes(for: q, "pmap: outAxes", noun: "result") ?? [Int?](repeating: nil, count: n)
            }), staticBroadcastedArgnums: [], donateArgnums: [])
            s.functions[structures] = g
            return g
        }
        let outs = try catchingErrors { try function.local(leaves) }
        guard let q = state.withLock({ $0.outputs[structures] }) else { throw FlockError("pmap: the function was not traced") }
        return try catchingErrors { treeUnflatten(like: q, outs) }
    }
}

/// What an argument-pack `pmap` remembers: one flat function per tuple of
/// argument structures and the result template of each.
final class PmapPackState<Q>: @unchecked Sendable {
    struct Fields {
        var outputs: [[TreeStructure]: Q] = [:]
        var functions: [[TreeStructure]: PmapFunction] = [:]
    }
    private let lock = Mutex<Void>(())
    private var fields = Fields()
    func withLock<R>(_ body: (inout Fields) -> R) -> R { lock.withLock { _ in body(&fields) } }
}
