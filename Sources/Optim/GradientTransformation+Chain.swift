import FlockCore
import FlockTransforms

extension GradientTransformation {
    /// Applies `transformations` one after the other (`optax.chain`); the
    /// state is the list of their states, numbered `[0]`, `[1]`, ….
    ///
    /// ```swift
    /// let optimizer = GradientTransformation.chain(.clipByGlobalNorm(1), .scaleByAdam(), .scaleByLearningRate(1e-3))
    /// ```
    public static func chain(_ transformations: GradientTransformation...) -> GradientTransformation {
        chain(transformations)
    }

    /// Applies `transformations` one after the other (`optax.chain`).
    public static func chain(_ transformations: [GradientTransformation]) -> GradientTransformation {
        GradientTransformation(
            name: "chain",
            stateCount: { info in transformations.reduce(0) { $0 + $1.stateCount(info) } },
            initFlat: { params, info in
                var named: [(name: String, value: Tensor)] = []
                for (i, t) in transformations.enumerated() {
                    named += t.initFlat(params, info).map { ("[\(i)]\($0.name)", $0.value) }
                }
                return named
            },
            updateFlat: { updates, state, params, info in
                var u = updates, newState: [Tensor] = [], offset = 0
                for t in transformations {
                    let n = t.stateCount(info)
                    let (nu, ns) = t.updateFlat(u, Array(state[offset..<offset + n]), params, info)
                    u = nu
                    newState += ns
                    offset += n
                }
                return (u, newState)
            })
    }

    /// Applies `inner` only to the parameter leaves `mask` selects; the
    /// others pass unchanged (`optax.masked`). The inner state covers the
    /// selected leaves only.
    ///
    /// ```swift
    /// // weight decay on matrices, not on biases
    /// let decay = GradientTransformation.masked(.addDecayedWeights(1e-4)) { $0.shape.count > 1 }
    /// ```
    public static func masked(_ inner: GradientTransformation, where mask: @escaping @Sendable (LeafInfo) -> Bool) -> GradientTransformation {
        @Sendable func selected(_ info: [LeafInfo]) -> [Int] { info.indices.filter { mask(info[$0]) } }
        return GradientTransformation(
            name: "masked(\(inner.name))",
            stateCount: { info in inner.stateCount(selected(info).map { info[$0] }) },
            initFlat: { params, info in
                let idx = selected(info)
                return inner.initFlat(idx.map { params[$0] }, idx.map { info[$0] })
            },
            updateFlat: { updates, state, params, info in
                let idx = selected(info)
                let (inner, newState) = inner.updateFlat(
                    idx.map { updates[$0] }, state, params.map { p in idx.map { p[$0] } }, idx.map { info[$0] })
                var out = updates
                for (k, i) in idx.enumerated() { out[i] = inner[k] }
                return (out, newState)
            })
    }
}
