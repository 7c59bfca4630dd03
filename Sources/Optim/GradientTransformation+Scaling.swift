import FlockCore
import FlockTransforms

// Transformations that scale updates by constants, schedules, parameters
// (weight decay, trust ratios), and the step count that schedules read.

/// State leaf names `field` + the parameter's path, one per parameter leaf.
func perLeafNames(_ field: String, _ info: [LeafInfo]) -> [String] { info.map { "\(field)\($0.path)" } }

/// Reports that a transformation needed the parameters and returns the updates unchanged.
func missingParams(_ name: String, _ updates: [Tensor]) -> [Tensor] {
    raise(FlockError("\(name): this transformation reads the parameters: pass params: to update(_:state:params:)"))
    return updates
}

extension GradientTransformation {
    /// Multiplies updates by a constant (`optax.scale`).
    public static func scale(_ stepSize: Double) -> GradientTransformation {
        stateless("scale") { u, _, _ in u.map { stepSize * $0 } }
    }

    /// Multiplies updates by `schedule(count)` and counts steps (`optax.scale_by_schedule`).
    ///
    /// ```swift
    /// let decay = GradientTransformation.scaleBySchedule(.exponentialDecay(initValue: 1, transitionSteps: 100, decayRate: 0.5))
    /// ```
    public static func scaleBySchedule(_ schedule: Schedule) -> GradientTransformation {
        GradientTransformation(
            name: "scaleBySchedule", stateCount: { _ in 1 }, initFlat: { _, _ in [(".count", zeroCount())] },
            updateFlat: { updates, state, _, _ in
                let step = schedule(state[0])
                return (updates.map { step.converted(to: $0.dtype) * $0 }, [safeIncrement(state[0])])
            })
    }

    /// Multiplies updates by −learning rate (or +, when `flipSign` is false)
    /// (`optax.scale_by_learning_rate`). A constant keeps no state; a
    /// schedule keeps the step count it reads.
    ///
    /// ```swift
    /// let adam = GradientTransformation.chain(.scaleByAdam(), .scaleByLearningRate(1e-3))
    /// ```
    public static func scaleByLearningRate(_ learningRate: Schedule, flipSign: Bool = true) -> GradientTransformation {
        let m: Double = flipSign ? -1 : 1
        if let c = learningRate.constantValue { return scale(m * c) }
        return scaleBySchedule(Schedule { count in m * learningRate(count) })
    }

    /// Adds `weightDecay · params` to the updates (`optax.add_decayed_weights`),
    /// only on the leaves `mask` selects when given.
    ///
    /// ```swift
    /// let decay = GradientTransformation.addDecayedWeights(1e-4, mask: { $0.shape.count > 1 })
    /// ```
    public static func addDecayedWeights(_ weightDecay: Schedule = 0, mask: (@Sendable (LeafInfo) -> Bool)? = nil) -> GradientTransformation {
        let constant = weightDecay.constantValue
        let t = GradientTransformation(
            name: "addDecayedWeights", stateCount: { _ in constant == nil ? 1 : 0 },
            initFlat: { _, _ in constant == nil ? [(".count", zeroCount())] : [] },
            updateFlat: { updates, state, params, _ in
                guard let params else { return (missingParams("addDecayedWeights", updates), state) }
                if let constant {
                    if constant == 0 { return (updates, state) }
                    return (zip(updates, params).map { g, p in g + constant * p }, state)
                }
                let s = weightDecay(state[0])
                return (zip(updates, params).map { g, p in g + s.converted(to: p.dtype) * p }, [safeIncrement(state[0])])
            })
        return mask.map { masked(t, where: $0) } ?? t
    }

    /// Scales each leaf's update by `trustCoefficient · ‖param‖ / (‖update‖ + eps)`,
    /// or by 1 when either norm is zero (`optax.scale_by_trust_ratio`, LAMB's
    /// layer-wise ratio). Norms below `minNorm` count as `minNorm`.
    public static func scaleByTrustRatio(minNorm: Double = 0, trustCoefficient: Double = 1, eps: Double = 0) -> GradientTransformation {
        stateless("scaleByTrustRatio") { updates, params, _ in
            guard let params else { return missingParams("scaleByTrustRatio", updates) }
            return zip(updates, params).map { u, p in
                let pn = safeNorm(p, minNorm: minNorm), un = safeNorm(u, minNorm: minNorm)
                let ratio = trustCoefficient * pn / (un + eps)
                let zero = (pn .== Tensor(0, dtype: pn.dtype)) .| (un .== Tensor(0, dtype: un.dtype))
                return u * `where`(zero, Tensor(1, dtype: p.dtype), ratio)
            }
        }
    }
}

/// The 2-norm of all of `x`'s elements, at least `minNorm` (`optax.safe_norm`).
func safeNorm(_ x: Tensor, minNorm: Double) -> Tensor {
    let norm = sqrt((x * x).sum())
    return minNorm == 0 ? norm : `where`(norm .<= Tensor(minNorm, dtype: norm.dtype), Tensor(minNorm, dtype: norm.dtype), norm)
}
