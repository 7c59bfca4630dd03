import Synchronization

/// Compiles a function of any number of pytree arguments returning any
/// number of pytrees (`jax.jit` of `f(*args)` returning a tuple).
///
/// Arguments are traced by their leaves; their structures — including the
/// values of ``Static`` arguments and of static struct fields
/// (``PyTreeField/init(static:_:)``) — select the compiled program, so a new
/// static value traces again, as JAX's `static_argnums` does. Static values
/// must be `Hashable`: anything else does not compile.
///
/// ```swift
/// enum Mode: Hashable { case train, eval }
/// let step = jit { (params: [String: Tensor], x: Tensor, mode: Static<Mode>) in
///     let y = model(params, x)
///     return (mode.value == .train ? dropout(y) : y, y.mean())
/// }
/// let (y, m) = step(params, x, Static(.eval))     // traced once per Mode
/// ```
///
/// - Parameter donateArgnums: positions of arguments whose leaves the compiled
///   program may overwrite (`jax.jit(donate_argnums=)`); they are deleted
///   after the call.
/// - Returns: a ``TreeFunction``; its ``TreeFunction/function`` composes with
///   other transforms.
public func jit<each A: PyTree, Q: PyTree>(
    name: String = "jit", donateArgnums: Set<Int> = [], _ f: @escaping (repeat each A) -> Q
) -> TreeFunction<repeat each A, Q> {
    jitTrees(name: name, donateArgnums: donateArgnums, f)
}

/// Compiles a function of any number of pytree arguments returning a tuple
/// of pytrees (`jax.jit` of a function returning `(y, aux)`, `(loss, grads)`, …).
///
/// Each element of the tuple may be any pytree (a tensor, an array, a
/// dictionary, a ``PyTreeStruct``, an optional); a tuple inside the tuple is
/// not a pytree in Swift and does not compile (use an array or a struct).
///
/// ```swift
/// let step = jit { (w: Tensor, x: Tensor) in
///     let (l, g) = valueAndGrad { (w: Tensor) in (matmul(x, w) ** 2).mean() }(w)
///     return (l, w - 0.1 * g)
/// }
/// let (loss, w1) = step(w, x)
/// ```
///
/// - Parameter donateArgnums: positions of arguments whose leaves the compiled
///   program may overwrite (`jax.jit(donate_argnums=)`); they are deleted
///   after the call.
/// - Returns: a ``TreeFunction``; its ``TreeFunction/function`` composes with
///   other transforms.
public func jit<each A: PyTree, each Q: PyTree>(
    name: String = "jit", donateArgnums: Set<Int> = [], _ f: @escaping (repeat each A) -> (repeat each Q)
) -> TreeFunction<repeat each A, (repeat each Q)> {
    let g: TreeFunction<repeat each A, TupleTree<repeat each Q>> = jitTrees(name: name, donateArgnums: donateArgnums) {
        (args: repeat each A) in
        let results = f(repeat each args)
        return TupleTree(repeat each results)
    }
    return TreeFunction { (args: repeat each A) in g(repeat each args).elements }
}

/// The one implementation of `jit` over pytree arguments (the typed
/// overloads forward here): one flat ``JitFunction`` per tuple of argument
/// structures.
func jitTrees<each A: PyTree, Q: PyTree>(
    name: String, donateArgnums: Set<Int>, _ f: @escaping (repeat each A) -> Q
) -> TreeFunction<repeat each A, Q> {
    let state = JitPackState<Q>()
    return TreeFunction { (args: repeat each A) in
        // The structures select the compiled program: compact keys, built on every call.
        var keys: [TreeStructureKey] = [], leaves: [Tensor] = [], counts: [Int] = []
        for a in repeat each args {
            keys.append(TreeStructureKey(a))
            let before = leaves.count
            a.flattenLeaves(into: &leaves)
            counts.append(leaves.count - before)
        }
        if let bad = donateArgnums.filter({ !(0..<counts.count).contains($0) }).min() {
            raise(FlockError("jit(\(name)): donateArgnums \(bad) is out of range for a function of \(counts.count) arguments"))
            return f(repeat each args)
        }
        return state.lock.withLock {
            // The previous call's structures (one comparison), else a lookup, else a new entry.
            let entry: JitPackState<Q>.Entry
            if let last = state.last, last.keys == keys {
                entry = last
            } else if let e = state.entries[keys] {
                entry = e
            } else {
                // Which flat positions are donated depends on each argument's leaf count.
                var donated = Set<Int>(), start = 0
                for (i, n) in counts.enumerated() {
                    if donateArgnums.contains(i) { donated.formUnion(start..<(start + n)) }
                    start += n
                }
                let e = JitPackState<Q>.Entry(keys: keys)
                e.function = JitFunction(name: name, donateArgnums: donated) { [unowned e] xs in
                    // While a call traces, the body rebuilds that call's arguments.
                    let result = state.current!(xs)
                    let outs = treeLeaves(result)
                    e.output = (result, outs.count)
                    return outs
                }
                state.entries[keys] = e
                entry = e
            }
            state.last = entry
            state.current = { xs in
                let cursor = LeafCursor(xs)
                return f(repeat cursor.take(like: each args))
            }
            defer { state.current = nil }
            let outs = entry.function(leaves)
            guard let (template, count) = entry.output else {
                raise(FlockError("jit(\(name)): the function was not traced"))
                return f(repeat each args)
            }
            guard outs.count == count else { return template }  // an error was raised while tracing
            var slice = ArraySlice(outs)
            return template.rebuilt(from: &slice)
        }
    }
}

/// What a pack `jit` remembers: per tuple of argument structures, one flat
/// jitted function and its result template; the last entry used; the call
/// being traced.
final class JitPackState<Results>: @unchecked Sendable {
    final class Entry {
        let keys: [TreeStructureKey]
        var function: JitFunction!
        var output: (template: Results, leafCount: Int)?
        init(keys: [TreeStructureKey]) { self.keys = keys }
    }
    let lock = PosixLock()
    var current: (([Tensor]) -> Results)?
    var entries: [[TreeStructureKey]: Entry] = [:]
    var last: Entry?
}

/// A static argument of a jitted function (`jax.jit(static_argnums=)`): its
/// value is part of the pytree's structure (no leaves), so each distinct
/// value compiles separately and the function sees it as a plain Swift value.
///
/// ```swift
/// let f = jit { (x: Tensor, power: Static<Int>) in pow(x, Float(power.value)) }
/// let y = f(x, Static(3))
/// ```
public struct Static<Value: Hashable>: PyTree, Hashable {
    /// The value.
    public let value: Value
    /// Wraps `value`.
    public init(_ value: Value) { self.value = value }

    /// No leaves (``PyTree``).
    public func flattenLeaves(into leaves: inout [Tensor]) {}
    /// Itself (``PyTree``).
    public func rebuilt(from leaves: inout ArraySlice<Tensor>) -> Static<Value> { self }
    /// One node naming the value and its hash, so different values are different structures (``PyTree``).
    public func describeStructure(path: String, into nodes: inout [String]) {
        nodes.append("\(path.isEmpty ? "." : path): \(staticNodeDescription(value))")
    }
    /// Appends the value's type and the value (``PyTree/appendStructure(to:)``).
    public func appendStructure(to key: inout TreeStructureKey) { key.appendStatic(value) }
}

extension TreeStructureKey {
    /// A static value: its type (AnyHashable alone equates 1 and Int8(1)) and the value.
    mutating func appendStatic<V: Hashable>(_ value: V) {
        tokens.append(.type(ObjectIdentifier(V.self)))
        tokens.append(.value(AnyHashable(value)))
    }
}

/// A static value's structure node: its type, value and hash (two values
/// that print alike still differ by hash).
func staticNodeDescription<V: Hashable>(_ value: V) -> String {
    "static \(V.self) \(String(reflecting: value)) #\(value.hashValue)"
}
