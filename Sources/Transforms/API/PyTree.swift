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
    /// Appends this tree's structure to `key` in a compact form, without
    /// text: what `jit` compares on every call to pick its compiled program.
    ///
    /// Equal keys must mean equal ``describeStructure(path:into:)`` nodes,
    /// and two values of one type with equal nodes must append equal keys.
    /// The default implementation appends those nodes; a conformance of its
    /// own only makes calls cheaper (count, name and static value tokens,
    /// no text).
    func appendStructure(to key: inout TreeStructureKey)
}

extension PyTree {
    /// Appends the tree's described nodes (``PyTree/appendStructure(to:)``'s default).
    public func appendStructure(to key: inout TreeStructureKey) {
        var nodes: [String] = []
        describeStructure(path: "", into: &nodes)
        key.tokens.append(.described(nodes))
    }
}

/// A pytree's structure in compact form (``PyTree/appendStructure(to:)``):
/// node kinds, counts, dictionary keys and static values, in flattening
/// order. Equal keys mean equal ``TreeStructure``s; building one costs no
/// text, so `jit` builds one per argument on every call.
public struct TreeStructureKey: Hashable, @unchecked Sendable {
    enum Token: Hashable {
        case leaf, none
        case list(Int), tuple(Int)
        case keys([String])
        case type(ObjectIdentifier)
        case value(AnyHashable)
        case described([String])
    }
    var tokens: [Token] = []

    /// An empty key.
    public init() {}

    /// Appends a leaf.
    public mutating func appendLeaf() { tokens.append(.leaf) }

    /// Appends a node of type `type` carrying `detail` (a static value, or
    /// whatever else makes two structures of this type differ).
    public mutating func appendNode<Detail: Hashable>(_ type: Any.Type, _ detail: Detail) {
        tokens.append(.type(ObjectIdentifier(type)))
        tokens.append(.value(AnyHashable(detail)))
    }

    /// Appends a node of type `type` with `count` children.
    public mutating func appendNode(_ type: Any.Type, count: Int) {
        tokens.append(.type(ObjectIdentifier(type)))
        tokens.append(.list(count))
    }

    /// Appends a node of type `type` whose children are named `names`.
    public mutating func appendNode(_ type: Any.Type, names: [String]) {
        tokens.append(.type(ObjectIdentifier(type)))
        tokens.append(.keys(names))
    }

    /// The key of `tree`.
    public init<T: PyTree>(_ tree: T) { tree.appendStructure(to: &self) }
}

extension Tensor: PyTree {
    /// Appends this value's leaves to `leaves`, in the tree's order (``PyTree``).
    public func flattenLeaves(into leaves: inout [Tensor]) { leaves.append(self) }
    /// A value of this structure built from the next leaves of `leaves` (``PyTree``).
    public func rebuilt(from leaves: inout ArraySlice<Tensor>) -> Tensor { leaves.removeFirst() }
    /// Adds a line per node of this tree, under `path`, to `nodes` (``PyTree``).
    public func describeStructure(path: String, into nodes: inout [String]) { nodes.append("\(path.isEmpty ? "." : path): leaf") }
    /// Appends a leaf (``PyTree/appendStructure(to:)``).
    public func appendStructure(to key: inout TreeStructureKey) { key.tokens.append(.leaf) }
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
    /// Appends a list node and each element (``PyTree/appendStructure(to:)``).
    public func appendStructure(to key: inout TreeStructureKey) {
        key.tokens.append(.list(count))
        for e in self { e.appendStructure(to: &key) }
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
    /// Appends the sorted keys and each value (``PyTree/appendStructure(to:)``).
    public func appendStructure(to key: inout TreeStructureKey) {
        let sorted = keys.sorted()
        key.tokens.append(.keys(sorted))
        for k in sorted { self[k]!.appendStructure(to: &key) }
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
    /// Appends the wrapped tree, or a `None` node (``PyTree/appendStructure(to:)``).
    public func appendStructure(to key: inout TreeStructureKey) {
        if let w = self { w.appendStructure(to: &key) } else { key.tokens.append(.none) }
    }
}

/// One field of a ``PyTreeStruct``: a writable key path and its name.
public struct PyTreeField<Root>: @unchecked Sendable {
    let name: String
    let flatten: (Root, inout [Tensor]) -> Void
    let rebuild: (inout Root, inout ArraySlice<Tensor>) -> Void
    let describe: (Root, String, inout [String]) -> Void
    let structure: (Root, inout TreeStructureKey) -> Void

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
        structure = { root, key in root[keyPath: keyPath].appendStructure(to: &key) }
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
        structure = { root, key in key.appendStatic(root[keyPath: keyPath]) }
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
    /// Appends the struct's type and each field (``PyTree/appendStructure(to:)``).
    public func appendStructure(to key: inout TreeStructureKey) {
        key.tokens.append(.type(ObjectIdentifier(Self.self)))
        for f in Self.fields { f.structure(self, &key) }
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
