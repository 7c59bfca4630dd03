import FlockCore
import FlockTransforms

extension GradientTransformation {
    /// Clips every element of the updates to `[-maxDelta, maxDelta]` (`optax.clip`).
    ///
    /// ```swift
    /// let optimizer = GradientTransformation.chain(.clip(1), .sgd(learningRate: 0.1))
    /// ```
    public static func clip(_ maxDelta: Double) -> GradientTransformation {
        stateless("clip") { updates, _, _ in
            updates.map { FlockCore.clip($0, min: Tensor(-maxDelta, dtype: $0.dtype), max: Tensor(maxDelta, dtype: $0.dtype)) }
        }
    }

    /// Rescales the updates so that their global norm (the 2-norm of all
    /// leaves together) is at most `maxNorm` (`optax.clip_by_global_norm`).
    ///
    /// ```swift
    /// let optimizer = GradientTransformation.chain(.clipByGlobalNorm(1), .adam(learningRate: 1e-3))
    /// ```
    public static func clipByGlobalNorm(_ maxNorm: Double) -> GradientTransformation {
        stateless("clipByGlobalNorm") { updates, _, _ in
            guard !updates.isEmpty else { return updates }
            let norm = globalNormFlat(updates)
            let keep = norm .< Tensor(maxNorm, dtype: norm.dtype)
            return updates.map { t in select(keep, t, (t / norm.converted(to: t.dtype)) * maxNorm) }
        }
    }
}

/// The 2-norm of all elements of all `leaves` (`optax.global_norm`).
func globalNormFlat(_ leaves: [Tensor]) -> Tensor {
    var total: Tensor? = nil
    for l in leaves {
        let s = (l * l).sum()
        total = total.map { $0 + s } ?? s
    }
    return sqrt(total ?? Tensor(Float(0)))
}

/// The global norm of a pytree's leaves (`optax.global_norm`).
///
/// ```swift
/// print(globalNorm(grads).item())
/// ```
public func globalNorm<P: PyTree>(_ tree: P) -> Tensor { globalNormFlat(treeLeaves(tree)) }
