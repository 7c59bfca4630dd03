/// The mapped axis of a pytree argument or result, given as a *prefix* of its
/// tree, as JAX's `in_axes`/`out_axes` entries are: a single axis (or nil)
/// applies to every leaf below it, a list to the elements of a list, a
/// dictionary to the keys of a dictionary or the fields of a struct.
///
/// Literals write it: `0`, `nil`, `[0, nil]`, `["w": 0, "b": nil]`.
///
/// ```swift
/// // params whole to every example, x and y mapped over axis 0:
/// let perExample = vmap({ (p: [String: Tensor], x: Tensor, y: Tensor) in loss(p, x, y) },
///                       inAxes: [nil, 0, 0])
/// // inside one argument: the kernel mapped, the bias shared
/// let g = vmap({ (layer: [String: Tensor]) in layer["kernel"]! + layer["bias"]! },
///              inAxes: [["kernel": 0, "bias": nil]])
/// ```
public indirect enum AxisSpec: Hashable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, CustomStringConvertible
{
    /// One axis (nil: unmapped) for every leaf of the subtree.
    case axis(Int?)
    /// One entry per element of a list.
    case list([AxisSpec])
    /// One entry per key of a dictionary, or per field of a struct.
    case keys([String: AxisSpec])

    /// `0`: the axis for every leaf below.
    public init(integerLiteral value: Int) { self = .axis(value) }
    /// `nil`: unmapped leaves.
    public init(nilLiteral: ()) { self = .axis(nil) }
    /// `[a, b]`: one entry per list element.
    public init(arrayLiteral elements: AxisSpec...) { self = .list(elements) }
    /// `["k": a]`: one entry per dictionary key or struct field.
    public init(dictionaryLiteral elements: (String, AxisSpec)...) {
        self = .keys(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// The spec as JAX prints an `in_axes` entry (`None`, `0`, `[0, None]`, `{'w': 0}`).
    public var description: String {
        switch self {
        case .axis(let a): a.map(String.init) ?? "None"
        case .list(let xs): "[" + xs.map(\.description).joined(separator: ", ") + "]"
        case .keys(let d): "{" + d.keys.sorted().map { "'\($0)': \(d[$0]!)" }.joined(separator: ", ") + "}"
        }
    }

    /// The axis of every leaf of `tree`, in ``treeLeaves(_:)`` order, or nil
    /// after raising an error that names `what` (for instance `vmap: inAxes
    /// of argument 1`) and `noun` (what the tree is: argument or result) when
    /// the spec is not a prefix of the tree.
    package func leafAxes<T: PyTree>(for tree: T, _ what: String, noun: String = "argument") -> [Int?]? {
        let nodes = treeStructure(tree).nodes
        let parsed = nodes.map(nodePath)
        let paths = Set(parsed.map(\.path))
        let leafPaths = parsed.filter(\.isLeaf).map(\.path)
        // The spec's leaves, as (path, axis); every node it names must exist.
        var assigned: [(path: String, axis: Int?)] = []
        var failure: String? = nil
        func walk(_ s: AxisSpec, _ path: String) {
            guard failure == nil else { return }
            switch s {
            case .axis(let a): assigned.append((path, a))
            case .list(let xs):
                guard let node = nodes.first(where: { nodePath($0).path == path }), node.hasSuffix(": list of \(xs.count)") else {
                    failure = "it gives a list of \(xs.count) at \(pathName(path)) where the \(noun) has \(nodeDescription(path, nodes))"
                    return
                }
                for (i, x) in xs.enumerated() { walk(x, "\(path)[\(i)]") }
            case .keys(let d):
                for k in d.keys.sorted() {
                    // A dictionary key, or else a struct field of that name.
                    let child = [ "\(path)['\(k)']", "\(path).\(k)" ].first(where: paths.contains)
                    guard let child else {
                        failure = "it names '\(k)' at \(pathName(path)), where the \(noun) has \(nodeDescription(path, nodes))"
                        return
                    }
                    walk(d[k]!, child)
                }
            }
        }
        walk(self, "")
        if failure == nil, let uncovered = leafPaths.first(where: { leaf in !assigned.contains { covers($0.path, leaf) } }) {
            failure = "it gives no axis for the leaf at \(pathName(uncovered)) (a list or dictionary entry must name every element, or use one axis for the whole subtree)"
        }
        if let failure {
            raise(FlockError("\(what) (\(self)) does not match the \(noun)'s tree: \(failure)"))
            return nil
        }
        return leafPaths.map { leaf in assigned.first { covers($0.path, leaf) }!.axis }
    }
}

/// Whether the subtree at `prefix` contains the node at `path`.
private func covers(_ prefix: String, _ path: String) -> Bool {
    guard path.hasPrefix(prefix) else { return false }
    let rest = path.dropFirst(prefix.count)
    return rest.isEmpty || rest.first == "[" || rest.first == "."
}

private func pathName(_ path: String) -> String { path.isEmpty ? "the root" : path }

/// What the tree has at `path` (its node's description), for messages.
private func nodeDescription(_ path: String, _ nodes: [String]) -> String {
    guard let node = nodes.first(where: { nodePath($0).path == path }) else { return "no node" }
    let d = node.firstRange(of: ": ").map { String(node[$0.upperBound...]) } ?? node
    return d == "leaf" ? "a leaf" : d
}
