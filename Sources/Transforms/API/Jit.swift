import FlockCompiler
import Synchronization

/// A jit-compiled function (`jax.jit`): traces once per abstract signature
/// into a jaxpr, and on evaluation runs it as an optimised ``Plan``.
///
/// The cache is keyed by the dynamic arguments' abstract values (shape,
/// dtype, weak type) and the values of the static arguments. When the
/// current interpreter evaluates (no transform is active) and the arguments
/// are concrete, a call runs the compiled plan: the jaxpr after the passes of
/// ``optimize(_:name:fuse:)``, compiled by ``compilePlan(_:donated:)``. Under
/// a transform (`grad`, `vmap`, an enclosing `jit`) the call binds one `pjit`
/// equation holding the traced jaxpr, so the transform sees the program.
///
/// The cache keeps at most ``Configuration/jitCacheSize`` signatures; beyond
/// it the least recently used one is evicted (``evictionCount``) and traced
/// again if it is called again.
///
/// Set `FLOCK_EXPLAIN_CACHE_MISSES=1` to log why each trace happened and
/// `FLOCK_DUMP_IR=1` (or `passes`) to print the jaxpr around the passes and
/// the plan.
public final class JitFunction: @unchecked Sendable {
    let name: String
    let body: ([Tensor]) -> [Tensor]
    /// Positions of arguments passed by value: part of the cache key, not traced.
    public let staticArgnums: Set<Int>
    /// Positions of arguments whose buffers the compiled plan may overwrite.
    public let donateArgnums: Set<Int>

    struct Key: Hashable {
        let avals: [AbstractValue]
        let statics: [LiteralValue]
        /// Named axes in scope (name and size): collectives' shapes depend on them.
        let axes: [AxisKey]
    }
    struct AxisKey: Hashable {
        let name: String
        let size: Int
    }
    final class Entry: @unchecked Sendable {
        let jaxpr: Jaxpr
        /// Guarded by the function's cache lock.
        var compiled: CompiledFunction?
        /// The cache's clock when the entry was last looked up (guarded by the lock).
        var lastUsed: UInt64 = 0
        init(jaxpr: Jaxpr) { self.jaxpr = jaxpr }
    }
    /// The signatures traced so far, with a clock for least-recently-used eviction.
    struct Cache {
        var entries: [Key: Entry] = [:]
        var clock: UInt64 = 0

        /// The entry of `key`, marked as used now.
        subscript(key: Key) -> Entry? {
            mutating get {
                guard let e = entries[key] else { return nil }
                clock += 1
                e.lastUsed = clock
                return e
            }
        }
    }
    private let cache = Mutex(Cache())
    /// Per-function limit that replaces ``Configuration/jitCacheSize`` (tests).
    var cacheLimit: Int?
    /// The signature most recently run compiled, with its plan: a repeated call
    /// (the common case) is matched against it without building and hashing a
    /// ``Key`` (a third of a small call's dispatch cost). Only for functions
    /// without static arguments.
    private let recent = Mutex<Recent?>(nil)
    final class Recent: Sendable {
        let key: Key
        let compiled: CompiledFunction
        init(key: Key, compiled: CompiledFunction) {
            self.key = key
            self.compiled = compiled
        }
    }
    private let misses = Atomic<Int>(0)
    private let compilations = Atomic<Int>(0)
    private let evictions = Atomic<Int>(0)

    init(name: String, staticArgnums: Set<Int> = [], donateArgnums: Set<Int> = [], body: @escaping ([Tensor]) -> [Tensor]) {
        self.name = name
        self.body = body
        self.staticArgnums = staticArgnums
        self.donateArgnums = donateArgnums
    }

    /// How many times this function has been traced (cache misses).
    public var traceCount: Int { misses.load(ordering: .relaxed) }
    /// How many plans this function has compiled (one per signature evaluated).
    public var compileCount: Int { compilations.load(ordering: .relaxed) }
    /// How many signatures the cache dropped, least recently used first, to
    /// stay within ``Configuration/jitCacheSize``.
    public var evictionCount: Int { evictions.load(ordering: .relaxed) }
    /// How many signatures are cached now (at most ``Configuration/jitCacheSize``).
    public var cachedSignatureCount: Int { cache.withLock { $0.entries.count } }

    /// Logs why each trace happened when `FLOCK_EXPLAIN_CACHE_MISSES=1`.
    static var explain: Bool { Configuration.explainCacheMisses }

    /// Splits arguments into the traced ones and the cache key.
    private func signature(_ args: [Tensor]) throws -> (dynamic: [Tensor], key: Key) {
        if !staticArgnums.isEmpty || !donateArgnums.isEmpty { try checkArgnums(args.count) }
        let frames = AxisEnvironment.frames
        let axes = frames.isEmpty ? [] : frames.map { AxisKey(name: $0.name, size: $0.size) }
        // The common case, no static arguments, without copying the arguments.
        if staticArgnums.isEmpty { return (args, Key(avals: args.map(\.aval), statics: [], axes: axes)) }
        var dynamic: [Tensor] = [], statics: [LiteralValue] = []
        for (i, x) in args.enumerated() {
            if staticArgnums.contains(i) {
                guard x.isConcrete else {
                    throw FlockError("jit(\(name)): static argument \(i) must be a concrete value, got a traced \(x.aval)")
                }
                statics.append(LiteralValue(x))
            } else {
                dynamic.append(x)
            }
        }
        return (dynamic, Key(avals: dynamic.map(\.aval), statics: statics, axes: axes))
    }

    /// Static and donated positions must name arguments of the call, and not the
    /// same one (JAX raises for both; ignoring them would compile the wrong program).
    private func checkArgnums(_ count: Int) throws {
        for (what, set) in [("staticArgnums", staticArgnums), ("donateArgnums", donateArgnums)] {
            if let bad = set.sorted().first(where: { $0 < 0 || $0 >= count }) {
                throw FlockError("jit(\(name)): \(what) \(bad) is out of range for a call with \(count) arguments")
            }
        }
        if let both = staticArgnums.intersection(donateArgnums).min() {
            throw FlockError("jit(\(name)): argument \(both) cannot be both static and donated")
        }
    }

    /// The cache entry for `args`, tracing on a miss.
    private func entry(_ args: [Tensor], _ dynamic: [Tensor], _ key: Key) -> Entry {
        entry(key) {
            traceToJaxpr(key.avals) { traced in
                var merged: [Tensor] = [], d = traced[...], s = key.statics[...]
                for i in 0..<args.count { merged.append(staticArgnums.contains(i) ? s.popFirst()!.tensor : d.popFirst()!) }
                return body(merged)
            }
        }
    }

    private func entry(_ key: Key, trace: () -> Jaxpr) -> Entry {
        if let e = cache.withLock({ $0[key] }) { return e }
        let j = trace()
        misses.add(1, ordering: .relaxed)
        if Self.explain { explainMiss(key) }
        let e = Entry(jaxpr: j)
        // Jaxprs that captured tracers of an enclosing transform are valid for this call only.
        if j.consts.allSatisfy(\.isConcrete) { insert(e, for: key) }
        return e
    }

    /// Caches `e`, evicting least recently used signatures beyond the limit
    /// (never the one the hot path remembers: it is in use without lookups).
    private func insert(_ e: Entry, for key: Key) {
        let limit = max(1, cacheLimit ?? Configuration.jitCacheSize)
        let hot = recent.withLock { $0?.key }
        let evicted = cache.withLock { c -> Int in
            c.clock += 1
            e.lastUsed = c.clock
            c.entries[key] = e
            var n = 0
            while c.entries.count > limit {
                guard let victim = c.entries.filter({ $0.key != key && $0.key != hot }).min(by: { $0.value.lastUsed < $1.value.lastUsed })
                else { break }
                c.entries.removeValue(forKey: victim.key)
                n += 1
            }
            return n
        }
        if evicted > 0 { evictions.add(evicted, ordering: .relaxed) }
    }

    private func explainMiss(_ key: Key) {
        let known = cache.withLock { Array($0.entries.keys) }
        var reason = "first call"
        if let k = known.first(where: { $0.avals.count == key.avals.count && $0.statics.count == key.statics.count }) {
            var diffs: [String] = []
            for (i, (a, b)) in zip(k.avals, key.avals).enumerated() where a != b {
                diffs.append("dynamic argument \(i) was \(a)\(a.weakType ? " (weak)" : "") and is now \(b)\(b.weakType ? " (weak)" : "")")
            }
            for (i, (a, b)) in zip(k.statics, key.statics).enumerated() where a != b {
                diffs.append("static argument \(i) changed value (\(b.tensor.aval))")
            }
            if k.axes != key.axes {
                diffs.append("named axes in scope were \(k.axes.map { "\($0.name)=\($0.size)" }) and are now \(key.axes.map { "\($0.name)=\($0.size)" })")
            }
            reason = diffs.joined(separator: "; ")
        } else if !known.isEmpty {
            reason = "a new number of arguments (\(key.avals.count))"
        }
        print("jit(\(name)): tracing for signature \(key.avals)\(key.statics.isEmpty ? "" : " with \(key.statics.count) static arguments"): \(reason); \(known.count) signature(s) cached, \(evictionCount) evicted")
    }

    /// The traced jaxpr for `args`' abstract signature, tracing on a miss.
    public func jaxpr(for args: [Tensor]) -> Jaxpr {
        do {
            let (dynamic, key) = try signature(args)
            return entry(args, dynamic, key).jaxpr
        } catch {
            raise(error as! FlockError)
            return traceToJaxpr([]) { _ in [] }
        }
    }

    /// The compiled form of an entry, compiling on first use.
    private func compiled(_ e: Entry, argCount: Int) -> CompiledFunction {
        if let c = cache.withLock({ _ in e.compiled }) { return c }
        let c = CompiledFunction(name: name, jaxpr: e.jaxpr, donated: donatedFlags(argCount))
        compilations.add(1, ordering: .relaxed)
        cache.withLock { _ in if e.compiled == nil { e.compiled = c } }
        return c
    }

    private func donatedFlags(_ argCount: Int) -> [Bool] {
        if donateArgnums.isEmpty { return [] }  // the common case, without allocating
        return (0..<argCount).filter { !staticArgnums.contains($0) }.map { donateArgnums.contains($0) }
    }

    /// The compiled plan of the most recent signature if `args` (concrete,
    /// evaluated eagerly) have it: the key's fields compared in place.
    private func recentCompiled(_ args: [Tensor]) -> CompiledFunction? {
        guard let r = recent.withLock({ $0 }), r.key.avals.count == args.count else { return nil }
        for i in args.indices where !args[i].isConcrete(with: r.key.avals[i]) { return nil }
        let frames = AxisEnvironment.frames
        guard frames.count == r.key.axes.count else { return nil }
        for (f, a) in zip(frames, r.key.axes) where f.size != a.size || f.name != a.name { return nil }
        return r.compiled
    }

    /// Runs a compiled plan, remembering its signature for ``recentCompiled(_:)``.
    private func run(_ c: CompiledFunction, _ key: Key, _ args: [Tensor], _ dynamic: [Tensor]) -> [Tensor] {
        if staticArgnums.isEmpty { recent.withLock { $0 = Recent(key: key, compiled: c) } }
        return DebugNumerics.isOn ? runCheckingNumerics(c, args) : c.run(dynamic)
    }

    /// Runs a compiled plan with the NaN/Inf checks on: on a bad output, the
    /// body runs again on the same arguments under the eval interpreter (op by
    /// op, unfused), so the check names the primitive and the user's line.
    private func runCheckingNumerics(_ c: CompiledFunction, _ args: [Tensor]) -> [Tensor] {
        let dynamicPositions = args.indices.filter { !staticArgnums.contains($0) }
        return c.runCheckingNumerics(dynamicPositions.map { args[$0] }) { dynamic in
            var merged = args
            for (i, x) in zip(dynamicPositions, dynamic) { merged[i] = x }
            _ = body(merged)
        }
    }

    /// Calls the function on flat arguments.
    public func callAsFunction(_ args: [Tensor]) -> [Tensor] {
        // The hot path: the signature of the previous call, already compiled.
        if staticArgnums.isEmpty, InterpreterContext.current is EvalInterpreter, let c = recentCompiled(args) {
            return DebugNumerics.isOn ? runCheckingNumerics(c, args) : c.run(args)
        }
        let dynamic: [Tensor], key: Key
        do { (dynamic, key) = try signature(args) } catch {
            raise(error as! FlockError)
            return [Tensor.poisoned]
        }
        let evaluating = InterpreterContext.current is EvalInterpreter && dynamic.allSatisfy(\.isConcrete)
        // A signature already compiled, found with one lookup.
        if evaluating, let c = cache.withLock({ $0[key]?.compiled }) { return run(c, key, args, dynamic) }
        let e = entry(args, dynamic, key)
        if evaluating, e.jaxpr.consts.allSatisfy(\.isConcrete) {
            return run(compiled(e, argCount: args.count), key, args, dynamic)
        }
        let (closed, consts) = e.jaxpr.closureConverted()
        return bind(.call(closed, kind: .jit(name)), consts + dynamic)
    }

    /// Traces for `args` (ahead of time): `jit(f).lower(args).compile()`.
    public func lower(_ args: [Tensor]) -> LoweredFunction {
        let dynamic: [Tensor], key: Key
        do { (dynamic, key) = try signature(args) } catch {
            raise(error as! FlockError)
            return LoweredFunction(function: self, entry: Entry(jaxpr: traceToJaxpr([]) { _ in [] }), argCount: 0)
        }
        return LoweredFunction(function: self, entry: entry(args, dynamic, key), argCount: args.count)
    }

    /// Traces for abstract arguments (shapes and dtypes only, like
    /// `jax.ShapeDtypeStruct`); the function must have no static arguments.
    public func lower(_ avals: [AbstractValue]) -> LoweredFunction {
        guard staticArgnums.isEmpty else {
            raise(FlockError("jit(\(name)): lowering from abstract values needs the static arguments' values; pass tensors"))
            return LoweredFunction(function: self, entry: Entry(jaxpr: traceToJaxpr([]) { _ in [] }), argCount: 0)
        }
        let frames = AxisEnvironment.frames
        let key = Key(avals: avals, statics: [], axes: frames.map { AxisKey(name: $0.name, size: $0.size) })
        return LoweredFunction(function: self, entry: entry(key) { traceToJaxpr(avals, body) }, argCount: avals.count)
    }

    func compile(_ lowered: LoweredFunction) -> CompiledFunction {
        compiled(lowered.entry, argCount: lowered.argCount)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Compiles `f` over flat lists of tensors (`jax.jit`).
///
/// - Parameters:
///   - staticArgnums: positions of arguments passed by value: each distinct
///     value compiles separately, and `f` sees the concrete tensor.
///   - donateArgnums: positions of arguments whose buffers the compiled plan
///     may reuse for its results (as `jax.jit(donate_argnums=)`). After the
///     call a donated argument is deleted (``Tensor/isDeleted``): reading it
///     is an error, as in JAX.
///
/// ```swift
/// let step = jit(donateArgnums: [0]) { args in [args[0] - 0.1 * args[1]] }
/// params = step([params, grads])[0]
/// ```
public func jit(
    name: String = "jit", staticArgnums: Set<Int> = [], donateArgnums: Set<Int> = [],
    _ f: @escaping ([Tensor]) -> [Tensor]
) -> JitFunction {
    JitFunction(name: name, staticArgnums: staticArgnums, donateArgnums: donateArgnums, body: f)
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
///
/// - Parameter donateArgnums: `[0]` donates every leaf of the argument (see
///   ``jit(name:staticArgnums:donateArgnums:_:)``): afterwards they are deleted.
///
/// ```swift
/// let update = jit(donateArgnums: [0]) { (p: [String: Tensor]) in treeMap(p) { $0 * 0.99 } }
/// params = update(params)
/// ```
public func jit<P: PyTree, Q: PyTree>(
    name: String = "jit", donateArgnums: Set<Int> = [], _ f: @escaping (P) -> Q
) -> (P) -> Q {
    let g: TreeFunction<P, Q> = jitTrees(name: name, donateArgnums: donateArgnums, f)
    return { g($0) }
}

/// Compiles a function of two pytrees (`jax.jit` of `f(params, batch)`).
///
/// - Parameter donateArgnums: `0` donates every leaf of the first argument,
///   `1` of the second (`jax.jit(donate_argnums=)`); donated leaves are deleted
///   after the call. Static values are ``Static`` arguments of the
///   argument-pack ``jit(name:donateArgnums:_:)``, or static struct fields
///   (``PyTreeField/init(static:_:)``).
///
/// ```swift
/// let step = jit(donateArgnums: [0]) { (params: [String: Tensor], batch: [Tensor]) in
///     let g = grad { (p: [String: Tensor]) in loss(p, batch[0], batch[1]) }(params)
///     return treeMap(params, g) { $0 - 0.01 * $1 }
/// }
/// params = step(params, [x, y])
/// ```
public func jit<P: PyTree, R: PyTree, Q: PyTree>(
    name: String = "jit", donateArgnums: Set<Int> = [], _ f: @escaping (P, R) -> Q
) -> (P, R) -> Q {
    if let bad = donateArgnums.first(where: { !(0...1).contains($0) }) {
        raise(FlockError("jit(\(name)): donateArgnums \(bad) is out of range for a function of 2 arguments"))
    }
    let g: TreeFunction<P, R, Q> = jitTrees(name: name, donateArgnums: donateArgnums, f)
    return { g($0, $1) }
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
