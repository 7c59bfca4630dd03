import Foundation

// Parameter counting and the summary table of a model.

/// One leaf of a pytree with its path, as listed by ``Module/parameters``.
public struct NamedParameter: Sendable {
    /// The leaf's path in the tree, e.g. `layers[0].kernel`.
    public let path: String
    /// The leaf.
    public let value: Tensor
}

extension Module {
    /// The leaves of the model with their paths, in pytree order.
    ///
    /// ```swift
    /// for p in mlp.parameters { print(p.path, p.value.shape) }   // layers[0].kernel [4, 8] …
    /// ```
    public var parameters: [NamedParameter] {
        var nodes: [String] = []
        describeStructure(path: "", into: &nodes)
        // Leaves are the nodes described as "<path>: leaf", in flattening order.
        let paths = nodes.compactMap { node -> String? in
            guard node.hasSuffix(": leaf") else { return nil }
            let path = String(node.dropLast(": leaf".count))
            return path == "." ? "" : (path.hasPrefix(".") ? String(path.dropFirst()) : path)
        }
        return zip(paths, treeLeaves(self)).map { NamedParameter(path: $0, value: $1) }
    }

    /// The number of scalars in all the model's parameters.
    ///
    /// ```swift
    /// let mlp = MLP(784, hidden: [128], 10, key: PRNGKey(0))
    /// print(mlp.parameterCount)   // 101770
    /// ```
    public var parameterCount: Int { treeLeaves(self).reduce(0) { $0 + $1.count } }

    /// A table of the model's parameters: path, shape, dtype, count, and the total.
    ///
    /// ```swift
    /// print(MLP(4, hidden: [8], 2, key: PRNGKey(0)).summary())
    /// // path              shape   dtype    parameters
    /// // layers[0].kernel  [4, 8]  float32          32
    /// // …
    /// // total                                      58 (232 B)
    /// ```
    public func summary() -> String {
        let rows = parameters.map { p in
            [p.path.isEmpty ? "." : p.path, shapeText(p.value.shape), p.value.dtype.rawValue, "\(p.value.count)"]
        }
        let bytes = parameters.reduce(0) { $0 + $1.value.count * $1.value.dtype.byteSize }
        let header = ["path", "shape", "dtype", "parameters"]
        let footer = ["total", "", "", "\(parameterCount) (\(byteText(bytes)))"]
        let all = [header] + rows + [footer]
        let widths = (0..<4).map { c in all.map { $0[c].count }.max()! }
        func line(_ r: [String]) -> String {
            let left = (0..<3).map { r[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            let count = String(repeating: " ", count: widths[3] - r[3].count) + r[3]
            return (left + [count]).joined(separator: "  ").trimmingTrailingSpaces()
        }
        let rule = String(repeating: "─", count: widths.reduce(0, +) + 6)
        return ([line(header), rule] + rows.map(line) + [rule, line(footer)]).joined(separator: "\n")
    }
}

private func byteText(_ bytes: Int) -> String {
    if bytes < 1024 { return "\(bytes) B" }
    if bytes < 1024 * 1024 { return String(format: "%.1f KiB", Double(bytes) / 1024) }
    return String(format: "%.1f MiB", Double(bytes) / 1024 / 1024)
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
