/// Pytrees: nested containers whose leaves are tensors.
///
/// Transforms work on flat lists of tensors; pytrees are the thin adapter
/// between user types and those lists. `Tensor`, arrays, `[String: T]`
/// dictionaries (keys in sorted order, as JAX), optionals and user structs
/// conform. A struct needs one line per field:
///
/// ```swift
/// struct Layer: PyTreeStruct {
///     var w: Tensor
///     var b: Tensor
///     static let fields: [PyTreeField<Layer>] = [.init(\.w, "w"), .init(\.b, "b")]
/// }
/// ```
public protocol PyTree {
    /// Appends this tree's leaves, in order, to `leaves`.
    func flattenLeaves(into leaves: inout [Tensor])
    /// A tree of the same structure as `self` whose leaves are taken, in order, from `leaves`.
    func rebuilt(from leaves: inout ArraySlice<Tensor>) -> Self
    /// Appends a description of this tree's structure (one entry per node, with its path).
    func describeStructure(path: String, into nodes: inout [String])
}

extension Tensor: PyTree {
    /// Appends this value's leaves to `leaves`, in the tree's order (``PyTree``).
    public func flattenLeaves(into leaves: inout [Tensor]) { leaves.append(self) }
    /// A value of this structure built from the next leaves of `leaves` (``PyTree``).
    public func rebuilt(from leaves: inout ArraySlice<Tensor>) -> Tensor { leaves.removeFirst() }
    /// Adds a line per node of this tree, under `path`, to `nodes` (``PyTree``).
    public func describeStructure(path: String, into nodes: inout [String]) { nodes.append("\(path.isEmpty ? "." : path): leaf") }
}

extension Array: PyTree where Element: PyTree {
    /// Appends this value's leaves to `leaves`, in the tree's order (``PyTree``).
    public func flattenLeaves(into leaves: inout [Tensor]) { for e in self { e.flattenLeaves(into: &leaves) } }
    /// A value of this structure built from the next leaves of `leaves` (``PyTree``).
    public func rebuilt(from leaves: inout ArraySlice<Tensor>) -> [Element] { map { $0.rebuilt(from: &leaves) } }
    /// Adds a line per node of this tree, under `path`, to `nodes` (``PyTree``).
    public func describeStructure(path: String, into nodes: inout [String]) {
        nodes.append("\(path.isEmpty ? "." : path): list of \(count)")
        for (i, e) in enumerated() { e.describeStructure(path: "\(path)[\(i)]", into: &nodes) }
    }
}

extension Dictionary: PyTree where Key == String, Value: PyTree {
    /// Appends this value's leaves to `leaves`, in the tree's order (``PyTree``).
    public func flattenLeaves(into leaves: inout [Tensor]) {
        for k in keys.sorted() { self[k]!.flattenLeaves(into: &leaves) }
    }
    /// A value of this structure built from the next leaves of `leaves` (``PyTree``).
    public func rebuilt(from leaves: inout ArraySlice<Tensor>) -> [String: Value] {
        var out: [String: Value] = [:]
        for k in keys.sorted() { out[k] = self[k]!.rebuilt(from: &leaves) }
        return out
    }
    /// Adds a line per node of this tree, under `path`, to `nodes` (``PyTree``).
    public func describeStructure(path: String, into nodes: inout [String]) {
        nodes.append("\(path.isEmpty ? "." : path): dict with keys \(keys.sorted())")
        for k in keys.sorted() { self[k]!.describeStructure(path: "\(path)['\(k)']", into: &nodes) }
    }
}

extension Optional: PyTree where Wrapped: PyTree {
    /// Appends this value's leaves to `leaves`, in the tree's order (``PyTree``).
    public func flattenLeaves(into leaves: inout [Tensor]) { self?.flattenLeaves(into: &leaves) }
    /// A value of this structure built from the next leaves of `leaves` (``PyTree``).
    public func rebuilt(from leaves: inout ArraySlice<Tensor>) -> Wrapped? { self.map { $0.rebuilt(from: &leaves) } }
    /// Adds a line per node of this tree, under `path`, to `nodes` (``PyTree``).
    public func describeStructure(path: String, into nodes: inout [String]) {
        if let w = self { w.describeStructure(path: path, into: &nodes) } else { nodes.append("\(path.isEmpty ? "." : path): None") }
    }
}

/// One field of a ``PyTreeStruct``: a writable key path and its name.
public struct PyTreeField<Root>: @unchecked Sendable {
    let name: String
    let flatten: (Root, inout [Tensor]) -> Void
    let rebuild: (inout Root, inout ArraySlice<Tensor>) -> Void
    let describe: (Root, String, inout [String]) -> Void

    /// A field at `keyPath`, named `name` in printed tree structures (usually the property's name).
    /// ```swift
    /// struct Linear: PyTreeStruct {
    ///     var weight: Tensor
    ///     var bias: Tensor
    ///     static let fields = [PyTreeField(\Linear.weight, "weight"), PyTreeField(\Linear.bias, "bias")]
    /// }
    /// ```
    public init<V: PyTree>(_ keyPath: WritableKeyPath<Root, V>, _ name: String) {
        self.name = name
        flatten = { root, leaves in root[keyPath: keyPath].flattenLeaves(into: &leaves) }
        rebuild = { root, leaves in root[keyPath: keyPath] = root[keyPath: keyPath].rebuilt(from: &leaves) }
        describe = { root, path, nodes in root[keyPath: keyPath].describeStructure(path: path, into: &nodes) }
    }

    /// A static field (Flax's `field(pytree_node=False)`): no leaves, but its
    /// value is part of the struct's structure, so `jit` compiles once per
    /// value of it instead of baking in the value it first saw.
    /// ```swift
    /// struct Block: PyTreeStruct {
    ///     var w: Tensor
    ///     var training: Bool
    ///     static let fields = [PyTreeField(\Block.w, "w"), PyTreeField(static: \Block.training, "training")]
    /// }
    /// ```
    public init<V: Hashable>(static keyPath: KeyPath<Root, V>, _ name: String) {
        self.name = name
        flatten = { _, _ in }
        rebuild = { _, _ in }
        describe = { root, path, nodes in nodes.append("\(path): \(staticNodeDescription(root[keyPath: keyPath]))") }
    }
}

/// A struct whose pytree structure is its list of ``fields``.
public protocol PyTreeStruct: PyTree {
    /// The fields that hold the struct's leaves, in flattening order; other stored properties are static data.
    static var fields: [PyTreeField<Self>] { get }
}

extension PyTreeStruct {
    /// Appends this value's leaves to `leaves`, in the tree's order (``PyTree``).
    public func flattenLeaves(into leaves: inout [Tensor]) { for f in Self.fields { f.flatten(self, &leaves) } }
    /// A value of this structure built from the next leaves of `leaves` (``PyTree``).
    public func rebuilt(from leaves: inout ArraySlice<Tensor>) -> Self {
        var copy = self
        for f in Self.fields { f.rebuild(&copy, &leaves) }
        return copy
    }
    /// Adds a line per node of this tree, under `path`, to `nodes` (``PyTree``).
    public func describeStructure(path: String, into nodes: inout [String]) {
        nodes.append("\(path.isEmpty ? "." : path): \(Self.self)")
        for f in Self.fields { f.describe(self, "\(path).\(f.name)", &nodes) }
    }
}

/// The leaves of `tree`, in order (`jax.tree.leaves`).
public func treeLeaves<T: PyTree>(_ tree: T) -> [Tensor] {
    var leaves: [Tensor] = []
    tree.flattenLeaves(into: &leaves)
    return leaves
}

/// The structure of a pytree (`jax.tree.structure`): compare two with `==`.
public struct TreeStructure: Hashable, Sendable, CustomStringConvertible {
    /// One line per node, `path: type`, in flattening order.
    public let nodes: [String]
    /// The description, one line per element.
    public var description: String { nodes.joined(separator: "\n") }

    /// The first path at which two structures differ, if any.
    public func firstDifference(from other: TreeStructure) -> String? {
        for (a, b) in zip(nodes, other.nodes) where a != b { return "\(a)  vs  \(b)" }
        if nodes.count != other.nodes.count {
            return nodes.count > other.nodes.count ? "\(nodes[other.nodes.count])  vs  (missing)" : "(missing)  vs  \(other.nodes[nodes.count])"
        }
        return nil
    }
}

/// The structure of `tree`.
public func treeStructure<T: PyTree>(_ tree: T) -> TreeStructure {
    var nodes: [String] = []
    tree.describeStructure(path: "", into: &nodes)
    return TreeStructure(nodes: nodes)
}

/// Leaves and a function that rebuilds a tree like `tree` from new leaves (`jax.tree.flatten`).
public func treeFlatten<T: PyTree>(_ tree: T) -> (leaves: [Tensor], unflatten: ([Tensor]) -> T) {
    (treeLeaves(tree), { treeUnflatten(like: tree, $0) })
}

/// A tree shaped like `template` holding `leaves` (`jax.tree.unflatten`).
public func treeUnflatten<T: PyTree>(like template: T, _ leaves: [Tensor]) -> T {
    let expected = treeLeaves(template).count
    if leaves.count != expected {
        raise(FlockError("tree_unflatten: the structure has \(expected) leaves, got \(leaves.count)"))
    }
    var slice = ArraySlice(leaves + [Tensor](repeating: Tensor.poisoned, count: Swift.max(0, expected - leaves.count)))
    return template.rebuilt(from: &slice)
}

/// Applies `f` to every leaf (`jax.tree.map`).
public func treeMap<T: PyTree>(_ tree: T, _ f: (Tensor) -> Tensor) -> T {
    treeUnflatten(like: tree, treeLeaves(tree).map(f))
}

/// Applies `f` to corresponding leaves of two trees of the same structure;
/// a mismatch is an error naming where the trees differ.
public func treeMap<T: PyTree>(_ a: T, _ b: T, _ f: (Tensor, Tensor) -> Tensor) -> T {
    let sa = treeStructure(a), sb = treeStructure(b)
    if let d = sa.firstDifference(from: sb) {
        raise(FlockError("tree_map: pytree structures differ at \(d)"))
        return a
    }
    return treeUnflatten(like: a, zip(treeLeaves(a), treeLeaves(b)).map(f))
}

/// A stand-in result of type `T` after an error, for functions that have no
/// value of `T` to return: a poisoned tensor, or an empty array or dictionary;
/// nil for other types.
func poisonedPlaceholder<T>() -> T? {
    (Tensor.poisoned as Any) as? T ?? ([Tensor]() as Any) as? T ?? ([String: Tensor]() as Any) as? T
}
