import FlockCore
import FlockTransforms

/// The state of a ``GradientTransformation``: a pytree of tensors (step
/// counts, moments) plus the parameter layout it was made for.
///
/// Its leaves are named by key paths relative to the transformation: a chain
/// numbers its members (`[0]`), a member names its fields (`.count`, `.mu`),
/// and per-parameter fields continue with the parameter's path
/// (`[0].mu['w1']`). Those names are the state's structure, so `jit` and
/// checkpoints see them; step counts are int32, as in optax.
///
/// ```swift
/// var state = optimizer.initialize(params)
/// print(state["[0].count"]!)       // 0
/// ```
public struct OptimizerState: PyTree, Sendable, CustomStringConvertible {
    /// The state's tensors in order.
    public private(set) var leaves: [Tensor]
    /// The key path of each leaf, relative to the transformation.
    public let paths: [String]
    /// The parameter leaves this state was made for.
    public let parameters: [LeafInfo]

    init(leaves: [Tensor], paths: [String], parameters: [LeafInfo]) {
        self.leaves = leaves
        self.paths = paths
        self.parameters = parameters
    }

    /// The leaf at `path` (one of ``paths``), or nil.
    public subscript(path: String) -> Tensor? {
        paths.firstIndex(of: path).map { leaves[$0] }
    }

    func replacingLeaves(_ new: [Tensor]) -> OptimizerState {
        OptimizerState(leaves: new, paths: paths, parameters: parameters)
    }

    /// Why this state cannot be updated with gradients laid out as `info`, if it cannot.
    func mismatch(with info: [LeafInfo], expectedStateCount: Int, transformation: String) -> String? {
        if let d = firstDifference(parameters, info, "the state", "the gradients") {
            return "\(transformation).update: the optimiser state was made for a different model: \(d)"
        }
        if leaves.count != expectedStateCount {
            return "\(transformation).update: the state has \(leaves.count) leaves, this transformation keeps \(expectedStateCount) for these parameters: the state comes from another optimiser"
        }
        return nil
    }

    /// One line per leaf: its path, dtype and shape.
    public var description: String {
        zip(paths, leaves).map { "\($0): \($1.dtype) \($1.shape)" }.joined(separator: "\n")
    }

    // MARK: PyTree

    /// Appends the state's leaves (``PyTree``).
    public func flattenLeaves(into out: inout [Tensor]) { out.append(contentsOf: leaves) }

    /// The same state with leaves taken from `input` (``PyTree``).
    public func rebuilt(from input: inout ArraySlice<Tensor>) -> OptimizerState {
        var new: [Tensor] = []
        new.reserveCapacity(leaves.count)
        for _ in leaves.indices { new.append(input.removeFirst()) }
        return replacingLeaves(new)
    }

    /// The state's node and one `path: leaf` node per leaf (``PyTree``).
    public func describeStructure(path: String, into nodes: inout [String]) {
        nodes.append("\(path.isEmpty ? "." : path): OptimizerState for \(parameters.count) parameter leaves")
        for p in paths { nodes.append("\(path)\(p): leaf") }
    }

    /// The structure in compact form: the parameter count and the leaves' paths.
    public func appendStructure(to key: inout TreeStructureKey) {
        key.appendNode(OptimizerState.self, count: parameters.count)
        key.appendNode(OptimizerState.self, names: paths)
    }
}
