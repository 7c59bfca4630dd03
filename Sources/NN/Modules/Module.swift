// Modules, Equinox / Flax NNX style: a model is a value — a pytree of its
// parameters — with `callAsFunction`. No global state and no registration:
// `grad`, `jit`, `vmap`, optimisers and checkpoints see a model through its
// PyTree conformance. Configuration (sizes, strides, activation functions)
// lives in stored properties that are not pytree fields.

/// A model or layer: a pytree of parameters. Conforming gives
/// ``parameterCount`` and ``summary()``.
///
/// ```swift
/// struct Classifier: Module, PyTreeStruct {
///     var body: MLP
///     var head: Linear
///     static let fields: [PyTreeField<Classifier>] = [.init(\.body, "body"), .init(\.head, "head")]
///     func callAsFunction(_ x: Tensor) -> Tensor { head(relu(body(x))) }
/// }
/// ```
public protocol Module: PyTree {}

/// A module called on one tensor: what ``Sequential`` chains.
///
/// ```swift
/// let layers: [any Layer] = [Linear(4, 8, key: k0), Activation(relu), Linear(8, 2, key: k1)]
/// ```
public protocol Layer: Module {
    /// The layer applied to `x`.
    func callAsFunction(_ x: Tensor) -> Tensor
}

// MARK: - Keys

/// A stream of keys derived from one key: the `n`-th key (from 0) is
/// `Random.foldIn(key, n)`, as a Flax NNX `RngStream` gives them.
///
/// Layers draw one key per parameter, in declaration order (kernel, then bias),
/// so a layer or a model built from `KeyStream(key)` has the parameters that
/// Flax NNX initialises from `nnx.Rngs(key)`.
///
/// ```swift
/// var keys = KeyStream(PRNGKey(0))
/// let a = Linear(4, 8, keys: &keys)
/// let b = Linear(8, 2, keys: &keys)   // same as nnx: one Rngs shared by both layers
/// ```
public struct KeyStream: Sendable {
    /// The root key.
    public let key: PRNGKey
    /// How many keys were drawn so far.
    public private(set) var count: Int

    /// A stream whose first key is `Random.foldIn(key, 0)`.
    public init(_ key: PRNGKey, count: Int = 0) {
        self.key = key
        self.count = count
    }

    /// The next key: `Random.foldIn(key, count)`, then `count += 1`.
    ///
    /// ```swift
    /// var keys = KeyStream(PRNGKey(0))
    /// let w = Initializer.heNormal()(keys.next(), [3, 3])
    /// ```
    public mutating func next() -> PRNGKey {
        defer { count += 1 }
        return Random.foldIn(key, count)
    }
}

// MARK: - Paths in error messages

/// The path of the module being called (`layers[1]`), for error messages;
/// set by containers around their children's calls.
public enum ModulePath {
    @TaskLocal static var current: [String] = []

    /// Runs `body` with `component` appended to the current module path, so
    /// that a layer's error inside names where it is (`layers[1].attention`).
    ///
    /// ```swift
    /// func callAsFunction(_ x: Tensor) -> Tensor {
    ///     ModulePath.with("encoder") { encoder(x) }
    /// }
    /// ```
    public static func with<R>(_ component: String, _ body: () throws -> R) rethrows -> R {
        try $current.withValue(current + [component], operation: body)
    }

    /// The current path, with components joined by dots (`""` at the top).
    public static var description: String {
        current.reduce("") { path, c in path.isEmpty || c.hasPrefix("[") ? path + c : path + "." + c }
    }
}

/// Raises a FlockError naming the layer and, when known, its path:
/// `Linear at layers[2]: …`.
func raiseLayerError(_ layer: String, _ message: String) {
    let path = ModulePath.description
    raise(FlockError("\(layer)\(path.isEmpty ? "" : " at \(path)"): \(message)"))
}

/// Shapes as in error messages: `[2, 3]`.
func shapeText(_ shape: [Int?]) -> String { "[" + shape.map { $0.map(String.init) ?? "…" }.joined(separator: ", ") + "]" }
