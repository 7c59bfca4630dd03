import FlockCore
import FlockTransforms

// Tensor names for checkpoints come from the paths ``treeStructure`` prints
// for each leaf: `.dense['w']` (struct field `dense`, dictionary key `w`) and
// `.layers[0].weight` become `dense.w` and `layers.0.weight`, the dotted
// names PyTorch and Flax checkpoints use. The leaves' order in the structure
// description is the order of ``treeLeaves``, so name i belongs to leaf i.

/// The checkpoint name of every leaf of `tree`, in ``treeLeaves(_:)`` order.
///
/// ```swift
/// struct Dense: PyTreeStruct {
///     var w: Tensor
///     var b: Tensor
///     static let fields: [PyTreeField<Dense>] = [.init(\.w, "w"), .init(\.b, "b")]
/// }
/// treeKeyPaths(["dense": [Dense(w: w, b: b)]])   // ["dense.0.w", "dense.0.b"]
/// ```
///
/// A tree that is a single tensor has the one name `"."`.
///
/// - Throws: ``FlockError`` when two leaves get the same name (a dictionary
///   key containing a `.` can collide with a nested path) or the tree's
///   structure description does not match its leaves.
public func treeKeyPaths<T: PyTree>(_ tree: T) throws -> [String] {
    let leafSuffix = ": leaf"
    let names = treeStructure(tree).nodes.filter { $0.hasSuffix(leafSuffix) }.map { node in
        dottedName(String(node.dropLast(leafSuffix.count)))
    }
    let leafCount = treeLeaves(tree).count
    guard names.count == leafCount else {
        throw FlockError(
            "checkpoint: the tree's structure names \(names.count) leaves but it has \(leafCount); "
                + "its PyTree conformance must describe every leaf")
    }
    var seen: [String: Int] = [:]
    for (i, name) in names.enumerated() {
        if let j = seen.updateValue(i, forKey: name) {
            throw FlockError("checkpoint: leaves \(j) and \(i) both have the name '\(name)'; rename a dictionary key or field")
        }
    }
    return names
}

/// `.a['b'][0]` → `a.b.0`; the root path `.` stays `.`.
private func dottedName(_ path: String) -> String {
    if path == "." { return "." }
    let c = Array(path)
    var parts: [String] = []
    var i = 0
    while i < c.count {
        if c[i] == "[", i + 1 < c.count, c[i + 1] == "'" {
            // A dictionary key: it ends at the first `']` followed by another component or the end.
            var j = i + 2
            while j + 1 < c.count, !(c[j] == "'" && c[j + 1] == "]" && (j + 2 == c.count || c[j + 2] == "." || c[j + 2] == "[")) {
                j += 1
            }
            parts.append(String(c[(i + 2)..<min(j, c.count)]))
            i = j + 2
        } else if c[i] == "[" {
            let close = c[i...].firstIndex(of: "]") ?? c.count
            parts.append(String(c[(i + 1)..<close]))
            i = close + 1
        } else {
            if c[i] == "." { i += 1 }
            let end = c[i...].firstIndex { $0 == "." || $0 == "[" } ?? c.count
            parts.append(String(c[i..<end]))
            i = end
        }
    }
    return parts.joined(separator: ".")
}
