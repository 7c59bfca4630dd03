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

    /// The name printed in jaxprs (`pjit[name=...]`).
    public var description: String {
        switch self {
        case .jit(let name): name
        case .fusedElementwise: "fused_elementwise"
        case .dotUpdate: "dot_update"
        }
    }
}
