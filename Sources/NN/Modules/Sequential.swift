/// Layers applied one after the other (Flax `Sequential`). Its pytree is the
/// list of its layers' pytrees (paths `layers[0].kernel`, …); errors inside
/// a layer name its index.
///
/// ```swift
/// let model = Sequential(
///     Linear(784, 128, key: keys[0]), Activation(relu),
///     Linear(128, 10, key: keys[1]))
/// let logits = model(images)
/// ```
public struct Sequential: Layer {
    /// The layers, in call order.
    public var layers: [any Layer]

    /// A model applying `layers` in order.
    public init(_ layers: [any Layer]) { self.layers = layers }

    /// A model applying `layers` in order.
    public init(_ layers: any Layer...) { self.layers = layers }

    /// The layers applied in order to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        layers.enumerated().reduce(x) { y, item in ModulePath.with("layers[\(item.offset)]") { item.element(y) } }
    }

    /// Appends every layer's leaves, in layer order.
    public func flattenLeaves(into leaves: inout [Tensor]) { for l in layers { l.flattenLeaves(into: &leaves) } }

    /// The same layers rebuilt from `leaves`, in layer order.
    public func rebuilt(from leaves: inout ArraySlice<Tensor>) -> Sequential {
        Sequential(layers.map { rebuiltLayer($0, from: &leaves) })
    }

    /// The structure: `layers[i]` for each layer.
    public func describeStructure(path: String, into nodes: inout [String]) {
        nodes.append("\(path.isEmpty ? "." : path): Sequential")
        nodes.append("\(path).layers: list of \(layers.count)")
        for (i, l) in layers.enumerated() { l.describeStructure(path: "\(path).layers[\(i)]", into: &nodes) }
    }

    /// The structure in compact form: the layer count, then each layer.
    public func appendStructure(to key: inout TreeStructureKey) {
        key.appendNode(Sequential.self, count: layers.count)
        for l in layers { l.appendStructure(to: &key) }
    }
}

/// `layer` rebuilt from leaves, as an existential again (opens the existential).
private func rebuiltLayer<L: Layer>(_ layer: L, from leaves: inout ArraySlice<Tensor>) -> any Layer {
    layer.rebuilt(from: &leaves)
}

/// A multilayer perceptron: ``Linear`` layers with an activation between them
/// (not after the last).
///
/// ```swift
/// let mlp = MLP(64, hidden: [128, 128], 10, key: PRNGKey(0))
/// let logits = mlp(x)              // x: [batch, 64] → [batch, 10]
/// ```
public struct MLP: Layer, PyTreeStruct {
    /// The dense layers, input to output.
    public var layers: [Linear]
    /// The function applied after every layer but the last.
    public let activation: @Sendable (Tensor) -> Tensor
    /// The pytree fields, in flattening order (their names are the parameter paths).
    public static let fields: [PyTreeField<MLP>] = [.init(\.layers, "layers")]

    /// An MLP with the given layers.
    ///
    /// ```swift
    /// let mlp = MLP(layers: [Linear(kernel: w0, bias: b0), Linear(kernel: w1, bias: b1)], activation: gelu)
    /// ```
    public init(layers: [Linear], activation: @escaping @Sendable (Tensor) -> Tensor = { relu($0) }) {
        self.layers = layers
        self.activation = activation
    }

    /// An MLP `inFeatures → hidden[0] → … → outFeatures`, its layers drawn in
    /// order from one key stream (so from `key`, the parameters are those of
    /// an NNX model whose `nnx.Linear` layers share `nnx.Rngs(key)`).
    ///
    /// ```swift
    /// let mlp = MLP(784, hidden: [256, 256], 10, activation: gelu, key: PRNGKey(0))
    /// ```
    public init(
        _ inFeatures: Int, hidden: [Int], _ outFeatures: Int, activation: @escaping @Sendable (Tensor) -> Tensor = { relu($0) },
        useBias: Bool = true, dtype: DType = .float32, kernelInit: Initializer = .lecunNormal(),
        biasInit: Initializer = .zeros, key: PRNGKey
    ) {
        var keys = KeyStream(key)
        let sizes = [inFeatures] + hidden + [outFeatures]
        let layers = (0..<sizes.count - 1).map { i in
            Linear(sizes[i], sizes[i + 1], useBias: useBias, dtype: dtype, kernelInit: kernelInit, biasInit: biasInit, keys: &keys)
        }
        self.init(layers: layers, activation: activation)
    }

    /// The layers applied to `x`, with the activation between them.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var y = x
        for (i, layer) in layers.enumerated() {
            y = ModulePath.with("layers[\(i)]") { layer(y) }
            if i < layers.count - 1 { y = activation(y) }
        }
        return y
    }
}
