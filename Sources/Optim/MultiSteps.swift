import FlockCore
import FlockTransforms

extension GradientTransformation {
    /// Gradient accumulation (`optax.MultiSteps`): averages (or sums, when
    /// `useGradMean` is false) the gradients of `everyK` calls and applies
    /// `inner` once with them; the other calls return zero updates and leave
    /// `inner`'s state unchanged. State: `.miniStep`, `.gradientStep`,
    /// `.innerState…`, `.accGrads…`.
    ///
    /// Like optax, each call runs `inner` and keeps its result only on the
    /// k-th call, so the step stays one jittable program without branches.
    ///
    /// ```swift
    /// let optimizer = GradientTransformation.multiSteps(.adam(learningRate: 1e-3), everyK: 4)
    /// ```
    public static func multiSteps(_ inner: GradientTransformation, everyK: Int, useGradMean: Bool = true) -> GradientTransformation {
        if everyK < 1 {
            raise(FlockError("multiSteps: everyK must be at least 1, got \(everyK)"))
        }
        let k = Swift.max(everyK, 1)
        return GradientTransformation(
            name: "multiSteps", stateCount: { 2 + inner.stateCount($0) + $0.count },
            initFlat: { params, info in
                [(".miniStep", zeroCount()), (".gradientStep", zeroCount())]
                    + inner.initFlat(params, info).map { (".innerState\($0.name)", $0.value) }
                    + zip(perLeafNames(".accGrads", info), params.map { zeros($0.shape, dtype: .float32) }).map { ($0, $1) }
            },
            updateFlat: { updates, state, params, info in
                let mini = state[0], step = state[1]
                let m = inner.stateCount(info)
                let innerState = Array(state[2..<2 + m]), acc = Array(state[(2 + m)...])
                // Welford's running mean (optax's arithmetic), or a plain sum.
                let accumulated = zip(updates, acc).map { g, a in
                    useGradMean ? a + (g - a) / (mini + 1).converted(to: a.dtype) : g + a
                }
                let (final, newInner) = inner.updateFlat(
                    zip(accumulated, updates).map { $0.dtype == $1.dtype ? $0 : $0.converted(to: $1.dtype) }, innerState, params, info)
                let emit = mini .== Tensor(Int32(k - 1))
                let emitInt = emit.converted(to: .int32)
                let newMini = safeIncrement(mini) % Tensor(Int32(k))
                let newStep = emitInt * safeIncrement(step) + (1 - emitInt) * step
                let keptInner = zip(innerState, newInner).map { old, new in `where`(emit, new, old).converted(to: old.dtype) }
                let newAcc = accumulated.map { ((1 - emit.converted(to: $0.dtype)) * $0).converted(to: .float32) }
                let out = final.map { emit.converted(to: $0.dtype) * $0 }
                return (out, [newMini, newStep] + keptInner + newAcc)
            })
    }
}

extension OptimizerState {
    /// Whether a ``GradientTransformation/multiSteps(_:everyK:useGradMean:)``
    /// state has just applied its inner optimiser (`MultiSteps.has_updated`).
    public var multiStepsHasUpdated: Tensor? {
        guard let mini = self[".miniStep"], let step = self[".gradientStep"] else { return nil }
        return (mini .== Tensor(Int32(0))) .& (step .> Tensor(Int32(0)))
    }
}
