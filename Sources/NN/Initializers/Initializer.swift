// Initialisers with jax.nn.initializers' semantics: the same operations on the
// same random bits in the same order, so the same key gives JAX's numbers.

/// A function that makes a parameter tensor from a key, a shape and a dtype
/// (`jax.nn.initializers.Initializer`).
///
/// Initialisers are values: pass them to layers (`Linear(…, kernelInit: .heNormal())`)
/// or call them directly.
///
/// ```swift
/// let w = Initializer.glorotUniform()(PRNGKey(0), [784, 128])
/// let b = Initializer.zeros(PRNGKey(0), [128])
/// ```
public struct Initializer: Sendable {
    let body: @Sendable (PRNGKey, [Int], DType) -> Tensor

    /// An initialiser from a function of key, shape and dtype.
    ///
    /// ```swift
    /// let halves = Initializer { _, shape, dtype in full(shape, 0.5, dtype: dtype) }
    /// ```
    public init(_ body: @escaping @Sendable (_ key: PRNGKey, _ shape: [Int], _ dtype: DType) -> Tensor) {
        self.body = body
    }

    /// A tensor of `shape` and `dtype` drawn with `key`.
    ///
    /// ```swift
    /// let w = Initializer.lecunNormal()(PRNGKey(1), [3, 3, 16, 32])
    /// ```
    public func callAsFunction(_ key: PRNGKey, _ shape: [Int], dtype: DType = .float32) -> Tensor {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            raise(FlockError("initializer: negative dimensions are not allowed, got shape \(shape)"))
            return .poisoned
        }
        return body(key, shape, dtype)
    }
}

// MARK: - Constants and plain distributions

extension Initializer {
    /// Zeros (`jax.nn.initializers.zeros`); the key is ignored.
    ///
    /// ```swift
    /// let b = Initializer.zeros(PRNGKey(0), [10])
    /// ```
    public static let zeros = Initializer { _, shape, dtype in FlockCore.zeros(shape, dtype: dtype) }

    /// Ones (`jax.nn.initializers.ones`); the key is ignored.
    ///
    /// ```swift
    /// let scale = Initializer.ones(PRNGKey(0), [64])
    /// ```
    public static let ones = Initializer { _, shape, dtype in FlockCore.ones(shape, dtype: dtype) }

    /// Every element equal to `value` (`jax.nn.initializers.constant`).
    ///
    /// ```swift
    /// let b = Initializer.constant(0.1)(PRNGKey(0), [10])
    /// ```
    public static func constant(_ value: Double) -> Initializer {
        Initializer { _, shape, dtype in full(shape, value, dtype: dtype) }
    }

    /// Normal values with mean 0 and standard deviation `stddev`
    /// (`jax.nn.initializers.normal`).
    ///
    /// ```swift
    /// let e = Initializer.normal(stddev: 0.02)(PRNGKey(0), [1000, 64])
    /// ```
    public static func normal(stddev: Double = 1e-2) -> Initializer {
        Initializer { key, shape, dtype in
            Random.normal(key, shape: shape, dtype: dtype) * Tensor(stddev, dtype: dtype)
        }
    }

    /// Uniform values in `[0, scale)` (`jax.nn.initializers.uniform`).
    ///
    /// ```swift
    /// let u = Initializer.uniform(scale: 0.1)(PRNGKey(0), [8])
    /// ```
    public static func uniform(scale: Double = 1e-2) -> Initializer {
        Initializer { key, shape, dtype in
            Random.uniform(key, shape: shape, dtype: dtype) * Tensor(scale, dtype: dtype)
        }
    }

    /// Normal values truncated to `(lower, upper)` standard deviations, then
    /// multiplied by `stddev` (`jax.nn.initializers.truncated_normal`).
    ///
    /// The result's standard deviation is a little below `stddev` (the
    /// truncation is not compensated; ``varianceScaling(scale:mode:distribution:inAxis:outAxis:batchAxis:)`` does compensate).
    ///
    /// ```swift
    /// let w = Initializer.truncatedNormal(stddev: 0.02)(PRNGKey(0), [512, 512])
    /// ```
    public static func truncatedNormal(stddev: Double = 1e-2, lower: Double = -2, upper: Double = 2) -> Initializer {
        Initializer { key, shape, dtype in
            Random.truncatedNormal(
                key, lower: Tensor(lower, dtype: dtype), upper: Tensor(upper, dtype: dtype), shape: shape, dtype: dtype)
                * Tensor(stddev, dtype: dtype)
        }
    }
}
