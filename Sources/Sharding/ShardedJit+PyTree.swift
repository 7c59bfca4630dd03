@_spi(Engine) import FlockCore
import FlockTransforms
import Synchronization

/// The shardings of one pytree argument or result of jit over sharded trees
/// (JAX's pytree prefix of shardings): one for every leaf, or one per leaf.
public enum TreeSharding: Hashable, Sendable {
    /// Every leaf laid out by this sharding.
    case all(NamedSharding)
    /// One per leaf, in ``treeLeaves(_:)`` order; a nil entry leaves that
    /// leaf as it is (an argument's own sharding, a result's propagated one).
    case leaves([NamedSharding?])

    func perLeaf(_ count: Int, _ what: String) throws -> [NamedSharding?] {
        switch self {
        case .all(let s): return [NamedSharding?](repeating: s, count: count)
        case .leaves(let l):
            guard l.count == count else {
                throw FlockError("jit: \(what) gives \(l.count) shardings for a tree of \(count) leaves; give one per leaf "
                                 + "(treeLeaves order) or .all(sharding) for every leaf")
            }
            return l
        }
    }
}

/// A pytree whose leaves are sharded arrays (JAX: a pytree of `jax.Array`s):
/// the tree's structure and one ``ShardedArray`` per leaf, in
/// ``treeLeaves(_:)`` order. The arguments and results of
/// `jit(inShardings:outShardings:_:)` over pytrees.
///
/// ```swift
/// let params = try ShardedTree(["w": w, "b": b], sharding: replicated)
/// let batch = try ShardedTree(xs, sharding: rows)
/// let whole: [String: Tensor] = try params.processAllgather()
/// ```
public struct ShardedTree<T: PyTree>: @unchecked Sendable {
    /// The leaves, in ``treeLeaves(_:)`` order.
    public let leaves: [ShardedArray]
    /// A tree of the structure (its leaves' values are not used).
    let template: T

    init(unchecked template: T, leaves: [ShardedArray]) {
        self.template = template
        self.leaves = leaves
    }

    /// `tree`'s leaves laid out by `shardings`, one per leaf in
    /// ``treeLeaves(_:)`` order (each process passes the same global tree).
    ///
    /// - Throws: ``FlockError`` for a count of shardings other than the
    ///   number of leaves, or a sharding that does not fit its leaf.
    public init(_ tree: T, shardings: [NamedSharding]) throws {
        let leaves = treeLeaves(tree)
        guard leaves.count == shardings.count else {
            throw FlockError("ShardedTree: \(shardings.count) shardings for a tree of \(leaves.count) leaves; give one per leaf, "
                             + "in treeLeaves order, or one sharding for every leaf")
        }
        // The structure only: holding the whole leaves would defeat the sharding.
        let placeholder = Tensor(Float(0))
        self.init(unchecked: treeMap(tree) { _ in placeholder }, leaves: try zip(leaves, shardings).map { try ShardedArray($0, sharding: $1) })
    }

    /// `tree` with every leaf laid out by `sharding`.
    public init(_ tree: T, sharding: NamedSharding) throws {
        try self.init(tree, shardings: [NamedSharding](repeating: sharding, count: treeLeaves(tree).count))
    }

    /// Each leaf's sharding, in ``treeLeaves(_:)`` order.
    public var shardings: [NamedSharding] { leaves.map(\.sharding) }

    /// The whole tree on every process (each leaf's
    /// ``ShardedArray/processAllgather()``). Collective.
    public func processAllgather() throws -> T {
        treeUnflatten(like: template, try leaves.map { try $0.processAllgather() })
    }
}

/// A function of pytrees jitted over sharded trees: the flat
/// ``ShardedJitFunction`` of their leaves, one per tuple of argument
/// structures.
public final class ShardedJitTreeFunction<each A: PyTree, Q: PyTree>: @unchecked Sendable {
    /// Per argument, the layouts asked for its leaves (nil: the leaves' own).
    public let inShardings: [TreeSharding?]?
    /// The layouts asked for the result's leaves (nil: the propagated ones).
    public let outShardings: TreeSharding?
    private let f: (repeat each A) -> Q

    private final class Entry: @unchecked Sendable {
        var flat: ShardedJitFunction! = nil
        /// The traced result (its structure, for the results' tree).
        var result: Q? = nil
    }
    private let lock = Mutex<Void>(())
    private var entries: [[TreeStructure]: Entry] = [:]

    init(_ f: @escaping (repeat each A) -> Q, inShardings: [TreeSharding?]?, outShardings: TreeSharding?) {
        self.f = f
        self.inShardings = inShardings
        self.outShardings = outShardings
    }

    /// Runs the function on sharded trees. Collective: every process calls it
    /// with the same global trees.
    ///
    /// - Throws: ``FlockError`` before any collective, on every process, for
    ///   shardings that do not match the trees (see also
    ///   ``ShardedJitFunction/callAsFunction(_:)``).
    public func callAsFunction(_ args: repeat ShardedTree<each A>) throws -> ShardedTree<Q> {
        let (lowered, leaves, result) = try prepared(repeat each args)
        return ShardedTree(unchecked: result, leaves: try lowered(leaves))
    }

    /// The partitioned program of the trees' leaves (its report, collectives
    /// and layouts are over the flat leaves, arguments' first).
    public func lower(_ args: repeat ShardedTree<each A>) throws -> ShardedLoweredFunction {
        try prepared(repeat each args).0
    }

    private func prepared(_ args: repeat ShardedTree<each A>) throws -> (ShardedLoweredFunction, [ShardedArray], Q) {
        var structures: [TreeStructure] = [], leaves: [ShardedArray] = [], asked: [NamedSharding?] = [], count = 0
        for a in repeat each args {
            structures.append(treeStructure(a.template))
            let own = [NamedSharding?](repeating: nil, count: a.leaves.count)
            if let inShardings, count < inShardings.count, let s = inShardings[count] {
                asked += try s.perLeaf(a.leaves.count, "inShardings[\(count)] for argument \(count)")
            } else {
                asked += own
            }
            leaves += a.leaves
            count += 1
        }
        if let inShardings, inShardings.count != count {
            throw FlockError("jit: inShardings has \(inShardings.count) entries but the function takes \(count) arguments; "
                             + "give one per argument (nil: its leaves' own shardings)")
        }
        let entry = lock.withLock { _ -> Entry in
            if let e = entries[structures] { return e }
            let e = Entry()
            let f = self.f
            e.flat = ShardedJitFunction({ xs in
                let cursor = LeafCursor(xs)
                let q = f(repeat cursor.take(like: (each args).template))
                e.result = q
                return treeLeaves(q)
            }, inShardings: asked, outShardings: nil)
            if let outShardings {
                e.flat.outShardingsForCount = { try outShardings.perLeaf($0, "outShardings for the result") }
            }
            entries[structures] = e
            return e
        }
        let lowered = try entry.flat.lower(leaves)
        guard let result = lock.withLock({ _ in entry.result }) else { throw FlockError("jit: the function was not traced") }
        return (lowered, leaves, result)
    }
}

/// Compiles `f`, a function of pytrees, for sharded trees (`jax.jit` with
/// pytrees of shardings): the same partitioning as the flat
/// `jit(inShardings:outShardings:_:)` over flat lists, over the
/// trees' leaves.
///
/// ```swift
/// let step = jit(inShardings: nil, outShardings: .all(replicated)) { (p: [String: Tensor], x: Tensor) in
///     grad { (p: [String: Tensor]) in square(tanh(matmul(x, p["w"]!) + p["b"]!)).mean() }(p)
/// }
/// let g: ShardedTree<[String: Tensor]> = try step(try ShardedTree(params, sharding: replicated),
///                                                 try ShardedTree(xs, sharding: rows))
/// ```
///
/// - Parameters:
///   - inShardings: one entry per argument (nil, or a nil entry: its leaves'
///     own shardings): ``TreeSharding/all(_:)`` for every leaf or
///     ``TreeSharding/leaves(_:)`` one per leaf.
///   - outShardings: the result's leaves' layouts (nil: propagated).
///   - f: the function, written for one device's global trees.
public func jit<each A: PyTree, Q: PyTree>(
    inShardings: [TreeSharding?]?, outShardings: TreeSharding? = nil, _ f: @escaping (repeat each A) -> Q
) -> ShardedJitTreeFunction<repeat each A, Q> {
    ShardedJitTreeFunction(f, inShardings: inShardings, outShardings: outShardings)
}

/// A function of pytrees returning a Swift tuple of pytrees, jitted over
/// sharded trees: `Results` is a tuple of ``ShardedTree``s, one per element
/// of the function's result (JAX's jit of a function returning a tuple of
/// pytrees).
public final class ShardedJitTupleFunction<each A: PyTree, Results>: @unchecked Sendable {
    /// Per argument, the layouts asked for its leaves (nil: the leaves' own).
    public let inShardings: [TreeSharding?]?
    /// The layouts asked for the results' leaves, all elements' in order (nil: propagated).
    public let outShardings: TreeSharding?
    private let call: (repeat ShardedTree<each A>) throws -> Results
    private let lowering: (repeat ShardedTree<each A>) throws -> ShardedLoweredFunction

    init(inShardings: [TreeSharding?]?, outShardings: TreeSharding?,
         call: @escaping (repeat ShardedTree<each A>) throws -> Results,
         lowering: @escaping (repeat ShardedTree<each A>) throws -> ShardedLoweredFunction) {
        self.inShardings = inShardings
        self.outShardings = outShardings
        self.call = call
        self.lowering = lowering
    }

    /// Runs the function on sharded trees; one ``ShardedTree`` per element of
    /// the result. Collective: every process calls it with the same global trees.
    ///
    /// - Throws: ``FlockError`` before any collective, on every process, for
    ///   shardings that do not match the trees.
    public func callAsFunction(_ args: repeat ShardedTree<each A>) throws -> Results {
        try call(repeat each args)
    }

    /// The partitioned program of the trees' leaves (arguments' first, then
    /// every element's results in order).
    public func lower(_ args: repeat ShardedTree<each A>) throws -> ShardedLoweredFunction {
        try lowering(repeat each args)
    }
}

/// Hands out consecutive sharded leaves as trees shaped like templates.
private final class ShardedLeafCursor {
    private var rest: ArraySlice<ShardedArray>
    init(_ leaves: [ShardedArray]) { rest = leaves[...] }

    func take<T: PyTree>(like template: T) -> ShardedTree<T> {
        let n = treeLeaves(template).count
        let leaves = Array(rest.prefix(n))
        rest = rest.dropFirst(n)
        return ShardedTree(unchecked: template, leaves: leaves)
    }
}

/// Compiles `f`, a function of pytrees returning a Swift tuple of pytrees
/// (`(loss, grads)`, `(params, state, metrics)`, …), for sharded trees: as
/// `jit(inShardings:outShardings:_:)` over one result tree, the result split
/// into one ``ShardedTree`` per element.
///
/// ```swift
/// let step = jit(inShardings: nil, outShardings: .all(replicated)) { (p: [String: Tensor], x: Tensor) in
///     let (l, g) = valueAndGrad { (p: [String: Tensor]) in square(matmul(x, p["w"]!)).mean() }(p)
///     return (l, g)
/// }
/// let (loss, grads) = try step(try ShardedTree(params, sharding: replicated), try ShardedTree(xs, sharding: rows))
/// ```
///
/// The tuple must be unlabelled: `valueAndGrad`'s `(value:grad:)` is
/// returned as `(l, g)` (a labelled tuple does not match the element pack).
///
/// - Parameters:
///   - inShardings: one entry per argument (nil, or a nil entry: its leaves'
///     own shardings).
///   - outShardings: the results' leaves' layouts: ``TreeSharding/all(_:)``
///     for every leaf of every element, or ``TreeSharding/leaves(_:)`` one
///     per leaf, the elements' leaves in order (nil: propagated).
///   - f: the function, written for one device's global trees.
public func jit<each A: PyTree, each Q: PyTree>(
    inShardings: [TreeSharding?]?, outShardings: TreeSharding? = nil, _ f: @escaping (repeat each A) -> (repeat each Q)
) -> ShardedJitTupleFunction<repeat each A, (repeat ShardedTree<each Q>)> {
    let whole = ShardedJitTreeFunction({ (args: repeat each A) in
        let results = f(repeat each args)
        return TupleTree(repeat each results)
    }, inShardings: inShardings, outShardings: outShardings)
    return ShardedJitTupleFunction(
        inShardings: inShardings, outShardings: outShardings,
        call: { (args: repeat ShardedTree<each A>) in
            let result = try whole(repeat each args)
            let cursor = ShardedLeafCursor(result.leaves)
            return (repeat cursor.take(like: each result.template.elements))
        },
        lowering: { (args: repeat ShardedTree<each A>) in try whole.lower(repeat each args) })
}
