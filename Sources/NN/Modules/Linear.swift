/// A dense layer `y = x · kernel + bias` over the last axis (Flax `Dense` / NNX `Linear`).
///
/// The kernel is `[inFeatures, outFeatures]`; by default it is drawn with
/// ``Initializer/lecunNormal(inAxis:outAxis:batchAxis:)`` and the bias is zero, as in Flax.
///
/// ```swift
/// let layer = Linear(784, 128, key: PRNGKey(0))
/// let y = layer(x)                  // x: [batch, 784] → y: [batch, 128]
/// ```
public struct Linear: Layer, PyTreeStruct {
    /// `[inFeatures, outFeatures]`.
    public var kernel: Tensor
    /// `[outFeatures]`, or nil without a bias.
    public var bias: Tensor?
    public static let fields: [PyTreeField<Linear>] = [.init(\.kernel, "kernel"), .init(\.bias, "bias")]

    /// A layer with the given parameters.
    ///
    /// ```swift
    /// let layer = Linear(kernel: w, bias: b)   // w: [in, out], b: [out]
    /// ```
    public init(kernel: Tensor, bias: Tensor? = nil) {
        if kernel.rank != 2 || (bias != nil && bias!.shape != [kernel.shape.last ?? -1]) {
            raiseLayerError("Linear", "the kernel must be [in, out] and the bias [out], got kernel \(shapeText(kernel.shape)) and bias \(bias.map { shapeText($0.shape) } ?? "none")")
        }
        self.kernel = kernel
        self.bias = bias
    }

    /// A layer initialised from a key stream: kernel, then bias, each from the next key
    /// (the parameters of `nnx.Linear(in, out, rngs=nnx.Rngs(key))` for `KeyStream(key)`).
    ///
    /// ```swift
    /// var keys = KeyStream(PRNGKey(0))
    /// let layer = Linear(4, 3, keys: &keys)
    /// ```
    public init(
        _ inFeatures: Int, _ outFeatures: Int, useBias: Bool = true, dtype: DType = .float32,
        kernelInit: Initializer = .lecunNormal(), biasInit: Initializer = .zeros, keys: inout KeyStream
    ) {
        let kernel = kernelInit(keys.next(), [inFeatures, outFeatures], dtype: dtype)
        self.init(kernel: kernel, bias: useBias ? biasInit(keys.next(), [outFeatures], dtype: dtype) : nil)
    }

    /// A layer initialised from `key` (as `KeyStream(key)`).
    ///
    /// ```swift
    /// let layer = Linear(4, 3, key: PRNGKey(0))
    /// ```
    public init(
        _ inFeatures: Int, _ outFeatures: Int, useBias: Bool = true, dtype: DType = .float32,
        kernelInit: Initializer = .lecunNormal(), biasInit: Initializer = .zeros, key: PRNGKey
    ) {
        var keys = KeyStream(key)
        self.init(inFeatures, outFeatures, useBias: useBias, dtype: dtype, kernelInit: kernelInit, biasInit: biasInit, keys: &keys)
    }

    /// The number of input features.
    public var inFeatures: Int { kernel.shape[0] }
    /// The number of output features.
    public var outFeatures: Int { kernel.shape[1] }

    /// `x · kernel + bias` for `x` of shape `[…, inFeatures]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard x.rank >= 1, x.shape.last == inFeatures else {
            raiseLayerError("Linear", "expected input of shape […, \(inFeatures)], got \(shapeText(x.shape))")
            return .poisoned
        }
        let y = dotGeneral(x, kernel, DotDimensionNumbers(lhsContracting: [x.rank - 1], rhsContracting: [0]))
        return bias.map { y + $0 } ?? y
    }
}

/// A parameterless layer applying a function, such as an activation, inside ``Sequential``.
///
/// ```swift
/// let model = Sequential(Linear(4, 8, key: k0), Activation(relu), Linear(8, 2, key: k1))
/// ```
public struct Activation: Layer, PyTreeStruct {
    /// The function applied.
    public let function: @Sendable (Tensor) -> Tensor
    public static var fields: [PyTreeField<Activation>] { [] }

    /// A layer that applies `function`.
    public init(_ function: @escaping @Sendable (Tensor) -> Tensor) { self.function = function }

    /// `function(x)`.
    public func callAsFunction(_ x: Tensor) -> Tensor { function(x) }
}
