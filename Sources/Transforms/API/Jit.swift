import Synchronization

/// A jit-compiled function: traces once per abstract signature into a jaxpr,
/// caches it, and runs it as one `pjit` call equation.
///
/// This first `jit` evaluates the cached jaxpr equation by equation; because
/// the call is a primitive, `grad`, `vmap` and an enclosing `jit` transform
/// its body like any other program. The optimising compiler replaces the
/// evaluation without changing this interface.
public final class JitFunction: @unchecked Sendable {
    let name: String
    let body: ([Tensor]) -> [Tensor]
    private struct Key: Hashable {
        let avals: [AbstractValue]
        let statics: [String]
        /// Named axes in scope (name and size): collectives' shapes depend on them.
        let axes: [AxisKey]
    }
    private struct AxisKey: Hashable {
        let name: String
        let size: Int
    }
    private let cache = Mutex<[Key: Jaxpr]>([:])
    private let misses = Atomic<Int>(0)

    init(name: String, body: @escaping ([Tensor]) -> [Tensor]) {
        self.name = name
        self.body = body
    }

    /// How many times this function has been traced (cache misses).
    public var traceCount: Int { misses.load(ordering: .relaxed) }

    /// Logs why each trace happened when `FLOCK_EXPLAIN_CACHE_MISSES=1`.
    static let explain = getenvFlag("FLOCK_EXPLAIN_CACHE_MISSES")

    /// The jaxpr for `args`' abstract signature, tracing on a miss.
    public func jaxpr(for args: [Tensor], statics: [String] = []) -> Jaxpr {
        let frames = AxisEnvironment.frames
        let key = Key(avals: args.map(\.aval), statics: statics,
                      axes: frames.isEmpty ? [] : frames.map { AxisKey(name: $0.name, size: $0.size) })
        if let j = cache.withLock({ $0[key] }) { return j }
        let j = traceToJaxpr(key.avals, body)
        misses.add(1, ordering: .relaxed)
        if Self.explain {
            let known = cache.withLock { Array($0.keys) }
            print("jit(\(name)): tracing for signature \(key.avals)\(statics.isEmpty ? "" : " statics \(statics)")"
                + (known.isEmpty ? " (first call)" : "; cached signatures: \(known.map(\.avals))"))
        }
        // Jaxprs that captured tracers of an enclosing transform are valid for this call only.
        if j.consts.allSatisfy(\.isConcrete) { cache.withLock { $0[key] = j } }
        return j
    }

    /// Calls the function on flat arguments.
    public func callAsFunction(_ args: [Tensor]) -> [Tensor] {
        let j = jaxpr(for: args)
        let (closed, consts) = j.closureConverted()
        return bind(.call(closed, name: name), consts + args)
    }
}

func getenvFlag(_ name: String) -> Bool {
    guard let p = getenv(name) else { return false }
    let s = String(cString: p)
    return s == "1" || s.lowercased() == "true"
}

#if canImport(Glibc)
import Glibc
#endif

/// Compiles `f` over flat lists of tensors (`jax.jit`).
public func jit(name: String = "jit", _ f: @escaping ([Tensor]) -> [Tensor]) -> JitFunction {
    JitFunction(name: name, body: f)
}

/// Compiles a unary tensor function (`jax.jit`).
///
/// ```swift
/// let f = jit { (x: Tensor) in tanh(x) * 0.5 + 0.5 }
/// let y = f(x)      // traced on the first call, cached for this shape and dtype
/// ```
public func jit(name: String = "jit", _ f: @escaping (Tensor) -> Tensor) -> (Tensor) -> Tensor {
    let j = JitFunction(name: name) { [f($0[0])] }
    return { j([$0])[0] }
}

/// Compiles a function between pytrees (`jax.jit`).
public func jit<P: PyTree, Q: PyTree>(name: String = "jit", _ f: @escaping (P) -> Q) -> (P) -> Q {
    // While a call traces, the body needs that call's input tree (for its
    // structure); the output structure is remembered per input structure.
    let state = JitTreeState<P, Q>()
    let j = JitFunction(name: name) { leaves in
        let template = state.current!
        let q = f(treeUnflatten(like: template, leaves))
        state.outputs[treeStructure(template)] = q
        return treeLeaves(q)
    }
    return { p in
        state.lock.withLock {
            let s = treeStructure(p)
            state.current = p
            let outs = j(treeLeaves(p))
            state.current = nil
            return treeUnflatten(like: state.outputs[s]!, outs)
        }
    }
}

final class JitTreeState<P, Q>: @unchecked Sendable {
    let lock = PosixLock()
    var current: P?
    var outputs: [TreeStructure: Q] = [:]
}

/// A recursive mutex for state that is not `Sendable` (tracing may re-enter).
final class PosixLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() {
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(&mutex, &attr)
        pthread_mutexattr_destroy(&attr)
    }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// The jaxpr of `f` at the abstract signature of `args` (`jax.make_jaxpr`).
///
/// ```swift
/// print(makeJaxpr { x in [sin($0[0]) * 2] }([Tensor([1, 2] as [Float])]))
/// ```
public func makeJaxpr(_ f: @escaping ([Tensor]) -> [Tensor]) -> ([Tensor]) -> Jaxpr {
    { args in traceToJaxpr(args.map(\.aval), f) }
}

/// The jaxpr of a unary tensor function at `x`'s shape and dtype.
public func makeJaxpr(_ f: @escaping (Tensor) -> Tensor) -> (Tensor) -> Jaxpr {
    { x in traceToJaxpr([x.aval]) { [f($0[0])] } }
}
