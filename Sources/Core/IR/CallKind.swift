/// What made a `call` equation: a user's `jit` or one of the compiler's passes.
///
/// The compiler recognises its own calls (fusion groups, product updates) by
/// this kind, never by a name, so a user's `jit(name: "fused_elementwise")`
/// stays an ordinary call.
public enum CallKind: Hashable, Sendable, CustomStringConvertible {
    /// A staged call of a jitted function, with the name given to `jit(name:)`.
    case jit(String)
    /// A group of elementwise equations the compiler runs as one fused loop.
    case fusedElementwise
    /// A product and the elementwise update of its result, run as one accumulating gemm.
    case dotUpdate
    /// `withShardingConstraint` (FlockSharding): an identity whose result must
    /// be laid out by these mesh axes per dimension (a `PartitionSpec`'s
    /// `dimensions`). Evaluation inlines it; jit over sharded arrays reads it.
    case shardingConstraint([[String]])

    /// The name printed in jaxprs (`pjit[name=...]`).
    public var description: String {
        switch self {
        case .jit(let name): name
        case .fusedElementwise: "fused_elementwise"
        case .dotUpdate: "dot_update"
        case .shardingConstraint: "sharding_constraint"
        }
    }
}
