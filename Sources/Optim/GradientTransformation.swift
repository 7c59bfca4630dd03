import FlockCore
import FlockTransforms

// The optimiser core, optax's design: a gradient transformation is a pair of
// pure functions, `init(params) -> state` and `update(grads, state, params)
// -> (updates, state)`. Every transformation is written once over flat lists
// of leaves (STYLE habit 4); `initialize(_:)` and `update(_:state:params:)`
// are the typed pytree adapters around that core.

/// One parameter leaf as a transformation sees it: where it sits in the
/// parameter tree, its shape and dtype. Masks (``GradientTransformation/masked(_:where:)``,
/// `adamw`'s `mask:`) decide from these.
public struct LeafInfo: Hashable, Sendable, CustomStringConvertible {
    /// The leaf's key path in the tree, as pytree structures print it
    /// (`['w1']`, `.layers[0].weight`; empty for a lone tensor).
    public let path: String
    /// The leaf's shape.
    public let shape: [Int]
    /// The leaf's dtype.
    public let dtype: DType

    /// The path, dtype and shape, as error messages print them.
    public var description: String { "\(path.isEmpty ? "." : path) \(dtype) \(shape)" }

    /// The leaf infos of a tree, in leaf order.
    static func of<P: PyTree>(_ tree: P) -> [LeafInfo] {
        let leaves = treeLeaves(tree)
        let paths = treeLeafPaths(tree)
        return zip(paths, leaves).map { LeafInfo(path: $0, shape: $1.shape, dtype: $1.dtype) }
    }
}

/// A gradient transformation (`optax.GradientTransformation`): pure `init`
/// and `update` functions over pytrees of parameters.
///
/// Optimisers and their building blocks are static members, so they read
/// with a leading dot wherever a transformation is expected:
///
/// ```swift
/// let optimizer = GradientTransformation.chain(.clipByGlobalNorm(1), .adam(learningRate: 1e-3))
/// var state = optimizer.initialize(params)
/// let g = grad { (p: Params) in loss(p, x, y) }(params)
/// let (updates, newState) = optimizer.update(g, state: state, params: params)
/// params = applyUpdates(params, updates)
/// state = newState
/// ```
///
/// The state (``OptimizerState``) is a pytree: it passes through `jit` as an
/// argument and a result (donate it with the parameters) and is saved by
/// checkpoints. It remembers the parameters it was made for; updating with
/// gradients of another model is an error naming the first differing path.
public struct GradientTransformation: Sendable {
    /// Flat state leaf names and initial values for parameter leaves.
    typealias InitFunction = @Sendable (_ params: [Tensor], _ info: [LeafInfo]) -> [(name: String, value: Tensor)]
    /// Flat update: new updates and new state leaves (same count as given).
    typealias UpdateFunction = @Sendable (
        _ updates: [Tensor], _ state: [Tensor], _ params: [Tensor]?, _ info: [LeafInfo]
    ) -> (updates: [Tensor], state: [Tensor])

    /// A short name for error messages (`scaleByAdam`, `chain`, …).
    public let name: String
    let initFlat: InitFunction
    let updateFlat: UpdateFunction
    /// How many state leaves `initFlat` makes for these parameters (chain splits its state with it).
    let stateCount: @Sendable (_ info: [LeafInfo]) -> Int

    init(name: String, stateCount: @escaping @Sendable ([LeafInfo]) -> Int, initFlat: @escaping InitFunction, updateFlat: @escaping UpdateFunction) {
        self.name = name
        self.stateCount = stateCount
        self.initFlat = initFlat
        self.updateFlat = updateFlat
    }

    /// The same transformation under another name (the optimisers name their chains).
    func named(_ newName: String) -> GradientTransformation {
        GradientTransformation(name: newName, stateCount: stateCount, initFlat: initFlat, updateFlat: updateFlat)
    }

    /// A transformation without state.
    static func stateless(
        _ name: String, _ update: @escaping @Sendable (_ updates: [Tensor], _ params: [Tensor]?, _ info: [LeafInfo]) -> [Tensor]
    ) -> GradientTransformation {
        GradientTransformation(name: name, stateCount: { _ in 0 }, initFlat: { _, _ in [] }) { u, s, p, info in
            (update(u, p, info), s)
        }
    }

    /// The identity: updates pass unchanged, no state (`optax.identity`).
    public static var identity: GradientTransformation { stateless("identity") { u, _, _ in u } }

    // MARK: Typed adapters

    /// The initial state for `params` (`tx.init(params)`).
    ///
    /// ```swift
    /// let state = GradientTransformation.adam(learningRate: 1e-3).initialize(params)
    /// ```
    public func initialize<P: PyTree>(_ params: P) -> OptimizerState {
        let info = LeafInfo.of(params)
        let named = initFlat(treeLeaves(params), info)
        return OptimizerState(leaves: named.map(\.value), paths: named.map(\.name), parameters: info)
    }

    /// Transforms gradients into updates and advances the state
    /// (`tx.update(grads, state, params)`).
    ///
    /// - Parameters:
    ///   - grads: gradients, a tree like the parameters the state was made for.
    ///   - state: the state from ``initialize(_:)`` or the previous update.
    ///   - params: the current parameters; transformations that read them
    ///     (weight decay, trust ratio) raise an error without them.
    /// - Returns: the updates (add them with ``applyUpdates(_:_:)``) and the new state.
    public func update<P: PyTree>(_ grads: P, state: OptimizerState, params: P? = nil) -> (updates: P, state: OptimizerState) {
        let info = LeafInfo.of(grads)
        if let message = state.mismatch(with: info, expectedStateCount: stateCount(info), transformation: name) {
            raise(FlockError(message))
            return (grads, state)
        }
        var paramLeaves: [Tensor]? = nil
        if let params {
            let pinfo = LeafInfo.of(params)
            if let d = firstDifference(pinfo, info, "the params", "the gradients") {
                raise(FlockError("\(name).update: the params and the gradients differ: \(d)"))
                return (grads, state)
            }
            paramLeaves = treeLeaves(params)
        }
        let (updates, newState) = updateFlat(treeLeaves(grads), state.leaves, paramLeaves, info)
        return (treeUnflatten(like: grads, updates), state.replacingLeaves(newState))
    }
}

/// The first difference between two trees' leaves (`aName`'s and `bName`'s),
/// described for an error message: the first mismatching path, and what differs there.
func firstDifference(_ a: [LeafInfo], _ b: [LeafInfo], _ aName: String, _ bName: String) -> String? {
    func show(_ p: String) -> String { p.isEmpty ? "." : p }
    for (x, y) in zip(a, b) where x != y {
        if x.path != y.path { return "first mismatching path \(show(x.path)) in \(aName), \(show(y.path)) in \(bName)" }
        return "first mismatching path \(show(x.path)): \(x.dtype) \(x.shape) in \(aName), \(y.dtype) \(y.shape) in \(bName)"
    }
    if a.count > b.count { return "first mismatching path \(show(a[b.count].path)): in \(aName) only (\(a.count) leaves, \(bName) \(b.count))" }
    if b.count > a.count { return "first mismatching path \(show(b[a.count].path)): in \(bName) only (\(b.count) leaves, \(aName) \(a.count))" }
    return nil
}

/// Adds updates to parameters (`optax.apply_updates`): `p + u`, in each
/// parameter's dtype.
///
/// ```swift
/// params = applyUpdates(params, updates)
/// ```
public func applyUpdates<P: PyTree>(_ params: P, _ updates: P) -> P {
    treeMap(params, updates) { p, u in
        let s = p + u
        return s.dtype == p.dtype ? s : s.converted(to: p.dtype)
    }
}

// MARK: - Numerics shared by the transformations

/// `count + 1`, staying at Int32.max instead of wrapping (`optax.safe_increment`).
func safeIncrement(_ count: Tensor) -> Tensor {
    let maxValue = Tensor(Int32.max)
    return `where`(count .< maxValue, count + 1, maxValue)
}

/// A zero int32 step count.
func zeroCount() -> Tensor { zeros([], dtype: .int32) }

/// `t / (1 - decay^count)` (`optax.tree.bias_correction`), the power in float32.
func biasCorrection(_ moment: Tensor, decay: Double, count: Tensor) -> Tensor {
    let correction = 1 - pow(decay.weakTensor, count.converted(to: .float32))
    return moment / correction.converted(to: moment.dtype)
}

/// `(1 - decay)·g^order + decay·t` (`optax.tree.update_moment`).
func updateMoment(_ g: Tensor, _ t: Tensor, decay: Double, order: Int) -> Tensor {
    let gk = order == 1 ? g : g * g
    return (1 - decay) * gk + decay * t
}
