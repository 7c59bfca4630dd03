import FlockCore
import FlockTransforms

// Transformations that keep moving averages of the gradients: momentum
// (trace), Adam's two moments, RMSProp's (centred) second moment, Adagrad's
// sum of squares and Lion's momentum. Formulas and state layouts follow
// optax: per-parameter fields are named `.mu`, `.nu`, … + the parameter's path.

extension GradientTransformation {
    /// Momentum: `trace = g + decay·trace`, the update is the trace, or
    /// `g + decay·trace` with Nesterov (`optax.trace`).
    public static func trace(decay: Double, nesterov: Bool = false) -> GradientTransformation {
        GradientTransformation(
            name: "trace", stateCount: { $0.count },
            initFlat: { params, info in zip(perLeafNames(".trace", info), params.map(zerosLike)).map { ($0, $1) } },
            updateFlat: { updates, state, _, _ in
                let newTrace = zip(updates, state).map { g, t in g + decay * t }
                let out = nesterov ? zip(updates, newTrace).map { g, t in g + decay * t } : newTrace
                return (out, newTrace)
            })
    }

    /// Adam's rescaling (`optax.scale_by_adam`): bias-corrected moments,
    /// `m̂ / (√(v̂ + epsRoot) + eps)`; Nesterov's variant (NAdam) when asked.
    /// State: `.count`, `.mu`, `.nu`.
    ///
    /// ```swift
    /// let adam = GradientTransformation.chain(.scaleByAdam(b1: 0.9, b2: 0.999), .scaleByLearningRate(1e-3))
    /// ```
    public static func scaleByAdam(
        b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8, epsRoot: Double = 0, nesterov: Bool = false
    ) -> GradientTransformation {
        GradientTransformation(
            name: "scaleByAdam", stateCount: { 1 + 2 * $0.count },
            initFlat: { params, info in
                [(".count", zeroCount())] + zip(perLeafNames(".mu", info) + perLeafNames(".nu", info), (params + params).map(zerosLike)).map { ($0, $1) }
            },
            updateFlat: { updates, state, _, _ in
                let n = updates.count
                let mu = zip(updates, state[1..<1 + n]).map { updateMoment($0, $1, decay: b1, order: 1) }
                let nu = zip(updates, state[(n + 1)...]).map { updateMoment($0, $1, decay: b2, order: 2) }
                let count = safeIncrement(state[0])
                let muHat: [Tensor]
                if nesterov {
                    let next = safeIncrement(count)
                    muHat = zip(mu, updates).map { m, g in
                        b1 * biasCorrection(m, decay: b1, count: next) + (1 - b1) * biasCorrection(g, decay: b1, count: count)
                    }
                } else {
                    muHat = mu.map { biasCorrection($0, decay: b1, count: count) }
                }
                let out = zip(muHat, nu).map { m, v in m / (sqrt(biasCorrection(v, decay: b2, count: count) + epsRoot) + eps) }
                return (out, [count] + mu + nu)
            })
    }

    /// RMSProp's rescaling by the moving average of squared gradients
    /// (`optax.scale_by_rms`): `g / √(ν + eps)` (or `g / (√ν + eps)` when
    /// `epsInSqrt` is false), ν bias-corrected when asked. State: `.count`
    /// (with bias correction), `.nu`.
    public static func scaleByRms(
        decay: Double = 0.9, eps: Double = 1e-8, initialScale: Double = 0, epsInSqrt: Bool = true, biasCorrection corrected: Bool = false
    ) -> GradientTransformation {
        GradientTransformation(
            name: "scaleByRms", stateCount: { $0.count + (corrected ? 1 : 0) },
            initFlat: { params, info in
                let nu = zip(perLeafNames(".nu", info), params.map { full($0.shape, initialScale, dtype: $0.dtype) }).map { ($0, $1) }
                return corrected ? [(".count", zeroCount())] + nu : nu
            },
            updateFlat: { updates, state, _, _ in
                let offset = corrected ? 1 : 0
                let nu = zip(updates, state[offset...]).map { updateMoment($0, $1, decay: decay, order: 2) }
                let count = corrected ? safeIncrement(state[0]) : nil
                let out = zip(updates, nu).map { g, v in
                    let vHat = count.map { biasCorrection(v, decay: decay, count: $0) } ?? v
                    let scaling = epsInSqrt ? rsqrt(vHat + eps) : 1 / (sqrt(vHat) + eps)
                    return scaling * g
                }
                return (out, (count.map { [$0] } ?? []) + nu)
            })
    }

    /// Centred RMSProp's rescaling by the moving standard deviation of the
    /// gradients (`optax.scale_by_stddev`): `g / √(ν − μ² + eps)` (or
    /// `g / (√(ν − μ²) + eps)`). State: `.count` (with bias correction), `.mu`, `.nu`.
    public static func scaleByStddev(
        decay: Double = 0.9, eps: Double = 1e-8, initialScale: Double = 0, epsInSqrt: Bool = true, biasCorrection corrected: Bool = false
    ) -> GradientTransformation {
        GradientTransformation(
            name: "scaleByStddev", stateCount: { 2 * $0.count + (corrected ? 1 : 0) },
            initFlat: { params, info in
                let mu = zip(perLeafNames(".mu", info), params.map(zerosLike)).map { ($0, $1) }
                let nu = zip(perLeafNames(".nu", info), params.map { full($0.shape, initialScale, dtype: $0.dtype) }).map { ($0, $1) }
                return (corrected ? [(".count", zeroCount())] : []) + mu + nu
            },
            updateFlat: { updates, state, _, _ in
                let n = updates.count, offset = corrected ? 1 : 0
                let mu = zip(updates, state[offset..<offset + n]).map { updateMoment($0, $1, decay: decay, order: 1) }
                let nu = zip(updates, state[(offset + n)...]).map { updateMoment($0, $1, decay: decay, order: 2) }
                let count = corrected ? safeIncrement(state[0]) : nil
                var out: [Tensor] = []
                for i in 0..<n {
                    let m = count.map { biasCorrection(mu[i], decay: decay, count: $0) } ?? mu[i]
                    let v = count.map { biasCorrection(nu[i], decay: decay, count: $0) } ?? nu[i]
                    let scaling = epsInSqrt ? rsqrt(v - m * m + eps) : 1 / (sqrt(v - m * m) + eps)
                    out.append(scaling * updates[i])
                }
                return (out, (count.map { [$0] } ?? []) + mu + nu)
            })
    }

    /// Adagrad's rescaling by the root of the sum of all squared gradients
    /// (`optax.scale_by_rss`): `g / √(Σg² + eps)`, 0 where the sum is 0.
    /// State: `.sumOfSquares`.
    public static func scaleByRss(initialAccumulatorValue: Double = 0.1, eps: Double = 1e-7) -> GradientTransformation {
        GradientTransformation(
            name: "scaleByRss", stateCount: { $0.count },
            initFlat: { params, info in
                zip(perLeafNames(".sumOfSquares", info), params.map { full($0.shape, initialAccumulatorValue, dtype: $0.dtype) }).map { ($0, $1) }
            },
            updateFlat: { updates, state, _, _ in
                let sums = zip(updates, state).map { g, t in g * g + t }
                let out = zip(updates, sums).map { g, t in
                    `where`(t .> Tensor(0, dtype: t.dtype), rsqrt(t + eps), Tensor(0, dtype: t.dtype)) * g
                }
                return (out, sums)
            })
    }

    /// Lion's update direction (`optax.scale_by_lion`): `sign((1 − b1)·g + b1·m)`,
    /// then `m ← (1 − b2)·g + b2·m`. State: `.count`, `.mu`.
    public static func scaleByLion(b1: Double = 0.9, b2: Double = 0.99) -> GradientTransformation {
        GradientTransformation(
            name: "scaleByLion", stateCount: { 1 + $0.count },
            initFlat: { params, info in
                [(".count", zeroCount())] + zip(perLeafNames(".mu", info), params.map(zerosLike)).map { ($0, $1) }
            },
            updateFlat: { updates, state, _, _ in
                let m = Array(state[1...])
                let out = zip(updates, m).map { g, m in sign((1 - b1) * g + b1 * m) }
                let mu = zip(updates, m).map { updateMoment($0, $1, decay: b2, order: 1) }
                return (out, [safeIncrement(state[0])] + mu)
            })
    }
}
