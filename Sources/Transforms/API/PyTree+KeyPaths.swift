// Key paths name where a leaf sits in a pytree, written as JAX's `keystr`
// writes them: `['w']` for a dictionary key, `[0]` for a list element,
// `.weight` for a struct field; the root leaf's path is the empty string.
// They come from the nodes ``treeStructure(_:)`` describes (a leaf's node
// is `path: leaf`, listed in ``treeLeaves(_:)`` order), so every conformance,
// including hand-written ones, has them.

/// The path part of a structure node `path: description` (the root `.` is `""`).
func nodePath(_ node: String) -> (path: String, isLeaf: Bool) {
    let cut = node.firstRange(of: ": ").map { node[..<$0.lowerBound] } ?? node[...]
    let path = cut == "." ? "" : String(cut)
    return (path, node.hasSuffix(": leaf"))
}

/// The key path of every leaf of `tree`, in ``treeLeaves(_:)`` order, as
/// `jax.tree_util.keystr` writes them.
///
/// ```swift
/// treeLeafPaths(["b": [x, y], "a": z])   // ["['a']", "['b'][0]", "['b'][1]"]
/// ```
public func treeLeafPaths<T: PyTree>(_ tree: T) -> [String] {
    treeStructure(tree).nodes.map(nodePath).filter(\.isLeaf).map(\.path)
}

/// Every leaf of `tree` with its key path (`jax.tree_util.tree_leaves_with_path`,
/// paths as `keystr` writes them).
///
/// ```swift
/// for (path, leaf) in treeLeavesWithPath(params) { print(path, leaf.shape) }   // ['w'] [3, 2] …
/// ```
public func treeLeavesWithPath<T: PyTree>(_ tree: T) -> [(path: String, leaf: Tensor)] {
    let leaves = treeLeaves(tree), paths = treeLeafPaths(tree)
    guard paths.count == leaves.count else {
        raise(FlockError("tree_leaves_with_path: \(T.self) describes \(paths.count) leaves in its structure but flattens to \(leaves.count); its PyTree conformance must describe every leaf"))
        return leaves.enumerated().map { ("[leaf \($0.offset)]", $0.element) }
    }
    return Array(zip(paths, leaves)).map { (path: $0.0, leaf: $0.1) }
}

/// Applies `f` to every leaf and its key path (`jax.tree_util.tree_map_with_path`).
///
/// ```swift
/// // Weight decay on kernels only:
/// let decayed = treeMapWithPath(params) { path, w in path.hasSuffix("['kernel']") ? w * 0.99 : w }
/// ```
public func treeMapWithPath<T: PyTree>(_ tree: T, _ f: (String, Tensor) -> Tensor) -> T {
    treeUnflatten(like: tree, treeLeavesWithPath(tree).map { f($0.path, $0.leaf) })
}

/// Applies `f` to corresponding leaves of two trees of the same structure,
/// with their key path (`jax.tree_util.tree_map_with_path(f, a, b)`).
public func treeMapWithPath<T: PyTree>(_ a: T, _ b: T, _ f: (String, Tensor, Tensor) -> Tensor) -> T {
    treeMapWithPath(a, [b]) { path, xs in f(path, xs[0], xs[1]) }
}

/// Applies `f` to the corresponding leaves of `tree` and of every tree in
/// `rest`, all of one structure (`jax.tree.map(f, tree, *rest)`); `f` gets
/// `tree`'s leaf first, then one per tree of `rest`. Trees that differ are an
/// error naming the first path where they do.
///
/// ```swift
/// let mean = treeMap(p0, [p1, p2]) { xs in (xs[0] + xs[1] + xs[2]) / 3 }
/// ```
public func treeMap<T: PyTree>(_ tree: T, _ rest: [T], _ f: ([Tensor]) -> Tensor) -> T {
    treeMapWithPath(tree, rest) { _, xs in f(xs) }
}

/// Applies `f` to corresponding leaves of three trees of one structure (`jax.tree.map`).
///
/// ```swift
/// let next = treeMap(params, m, v) { p, m, v in p - 0.01 * m / (sqrt(v) + 1e-8) }
/// ```
public func treeMap<T: PyTree>(_ a: T, _ b: T, _ c: T, _ f: (Tensor, Tensor, Tensor) -> Tensor) -> T {
    treeMapWithPath(a, [b, c]) { _, xs in f(xs[0], xs[1], xs[2]) }
}

/// Applies `f` to the key path and the corresponding leaves of `tree` and of
/// every tree in `rest`, all of one structure
/// (`jax.tree_util.tree_map_with_path(f, tree, *rest)`); a mismatch is an
/// error naming the path where the trees differ.
///
/// ```swift
/// let sum = treeMapWithPath(g0, [g1]) { path, xs in xs[0] + xs[1] }
/// ```
public func treeMapWithPath<T: PyTree>(_ tree: T, _ rest: [T], _ f: (String, [Tensor]) -> Tensor) -> T {
    let structure = treeStructure(tree)
    for (i, t) in rest.enumerated() {
        if let d = structure.firstDifference(from: treeStructure(t)) {
            raise(FlockError("tree_map: tree \(i + 1) has a different structure from tree 0: they differ at \(d)"))
            return tree
        }
    }
    let withPaths = treeLeavesWithPath(tree)
    let others = rest.map(treeLeaves)
    return treeUnflatten(like: tree, withPaths.indices.map { j in f(withPaths[j].path, [withPaths[j].leaf] + others.map { $0[j] }) })
}

extension Dictionary where Key == String, Value: PyTree {
    /// The value at `key`, or an error naming the key and the keys there are
    /// (JAX's `KeyError`) instead of a nil to unwrap. `path` names where this
    /// dictionary sits in a larger tree, for the message.
    ///
    /// ```swift
    /// let w = params.value(at: "kernel")        // not params["kernel"]!
    /// let b = params.value(at: "bias", path: "['dense']")
    /// ```
    public func value(at key: String, path: String = "") -> Value {
        if let v = self[key] { return v }
        raise(FlockError("pytree: no key '\(key)' at \(path)['\(key)']; the dictionary\(path.isEmpty ? "" : " at \(path)") has keys \(keys.sorted())"))
        if let placeholder: Value = poisonedPlaceholder() { return placeholder }
        // A value type with no placeholder: any entry stands in (its leaves
        // are poisoned below when they reach a transform); an empty
        // dictionary has none, which only the error can report.
        if let any = values.first { return treeMap(any) { _ in Tensor.poisoned } }
        exitWithError(FlockError("pytree: no key '\(key)' at \(path)['\(key)'] in an empty dictionary"))
    }
}
