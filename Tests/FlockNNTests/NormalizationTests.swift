import FlockNN
import FlockTestSupport
import Testing

@Suite struct NormalizationAgainstFlax {
    @Test(arguments: NNFixtures.cases("layers", "LayerNorm"))
    func layerNorm(_ c: FixtureCase) throws {
        let p = c.params, eps = c.double("epsilon")!, features = c.int("features")!
        try checkLayer(c, LayerNorm(scale: p["scale"], bias: p["bias"], features: features, epsilon: eps)) { m, x in m(x[0]) }
        checkInit(c, LayerNorm(features, epsilon: eps, useBias: c.bool("useBias")!, useScale: c.bool("useScale")!))
    }

    @Test(arguments: NNFixtures.cases("layers", "RMSNorm"))
    func rmsNorm(_ c: FixtureCase) throws {
        let p = c.params, eps = c.double("epsilon")!, features = c.int("features")!
        try checkLayer(c, RMSNorm(scale: p["scale"], features: features, epsilon: eps)) { m, x in m(x[0]) }
        checkInit(c, RMSNorm(features, epsilon: eps, useScale: c.bool("useScale")!))
    }

    @Test(arguments: NNFixtures.cases("layers", "BatchNorm"))
    func batchNorm(_ c: FixtureCase) throws {
        let p = c.params, features = c.int("features")!, ura = c.bool("useRunningAverage")!
        let bn = BatchNorm(scale: p["scale"], bias: p["bias"], features: features, momentum: c.double("momentum")!, epsilon: c.double("epsilon")!)
        let state = BatchNorm.State(mean: c["state.mean"], variance: c["state.var"])
        try checkLayer(c, bn) { m, x in m(x[0], state: state, useRunningAverage: ura).0 }
        let (_, updated) = try catchingErrors { bn(c["x0"], state: state, useRunningAverage: ura) }
        expectClose(updated.mean, c["newState.mean"], "running mean")
        expectClose(updated.variance, c["newState.var"], "running var")
        checkInit(c, BatchNorm(features))
        let initial = BatchNorm(features).initialState()
        #expect(initial.mean.toArray(Float.self) == [Float](repeating: 0, count: features))
        #expect(initial.variance.toArray(Float.self) == [Float](repeating: 1, count: features))
    }
}

@Suite struct BatchNormDataParallel {
    /// Under vmap(axisName:), each replica holds a slice of the batch; with
    /// `axisName` the statistics (and the running update) are those of the whole
    /// batch — equal to one BatchNorm over the concatenated batch.
    @Test func pmeanOverNamedAxisEqualsGlobalBatch() throws {
        let x = Random.normal(PRNGKey(1), shape: [4, 6, 3]) * 2 + 1   // 4 replicas × 6 examples × 3 features
        let scale = Random.normal(PRNGKey(2), shape: [3]), bias = Random.normal(PRNGKey(3), shape: [3])
        let global = BatchNorm(scale: scale, bias: bias, features: 3, momentum: 0.9)
        let replica = BatchNorm(scale: scale, bias: bias, features: 3, momentum: 0.9, axisName: "data")
        let state = global.initialState()
        let (yGlobal, sGlobal) = global(x.reshaped([24, 3]), state: state, useRunningAverage: false)
        let outs = try catchingErrors {
            vmap({ (xs: [Tensor]) -> [Tensor] in
                let (y, s) = replica(xs[0], state: state, useRunningAverage: false)
                return [y, s.mean, s.variance]
            }, axisName: "data")([x])
        }
        expectClose(outs[0].reshaped([24, 3]), yGlobal, rtol: 1e-5, atol: 1e-5, "normalised")
        for r in 0..<4 {
            expectClose(outs[1][r], sGlobal.mean, rtol: 1e-5, atol: 1e-6, "running mean, replica \(r)")
            expectClose(outs[2][r], sGlobal.variance, rtol: 1e-5, atol: 1e-6, "running var, replica \(r)")
        }
        // Without the axis name each replica would use its own statistics: not the global ones.
        let local = global(x[0], state: state, useRunningAverage: false).0
        #expect(abs(local - yGlobal[0..<6]).max().item() > 1e-3)
    }
}

@Suite struct DropoutAgainstFlax {
    @Test(arguments: NNFixtures.cases("layers", "Dropout"))
    func dropout(_ c: FixtureCase) throws {
        let layer = Dropout(rate: c.double("rate")!, broadcastDims: c.ints("broadcastDims")!)
        let key = PRNGKey(c.int("keySeed")!), deterministic = c.bool("deterministic")!
        // rtol 0: the kept values are x / keep exactly as in JAX.
        try checkLayer(c, layer, rtol: 0, atol: 0) { m, x in m(x[0], deterministic: deterministic, key: key) }
    }

    @Test func errors() {
        #expect(errorMessage { _ = Dropout(rate: 0.5)(ones([2]), deterministic: false) } == "Dropout: deterministic is false but no key was given")
        #expect(errorMessage { _ = Dropout(rate: 1.5) } == "Dropout: rate must be in [0, 1], got 1.5")
        #expect(errorMessage { _ = Dropout(rate: 0.5, broadcastDims: [2])(ones([2]), deterministic: false, key: PRNGKey(0)) } == "Dropout: broadcast dimension 2 is out of range for input [2]")
    }
}

@Suite struct EmbeddingAgainstFlax {
    @Test(arguments: NNFixtures.cases("layers", "Embedding"))
    func embedding(_ c: FixtureCase) throws {
        let layer = Embedding(embedding: c.params["embedding"]!)
        if c.string("method") == "attend" {
            try checkLayer(c, layer) { m, x in m.attend(x[0]) }
        } else {
            try checkLayer(c, layer) { m, x in m(x[0]) }
        }
        checkInit(c, Embedding(c.int("numEmbeddings")!, c.int("features")!, key: PRNGKey(c.int("seed")!)))
    }

    @Test func errors() {
        let e = Embedding(5, 3, key: PRNGKey(0))
        #expect(errorMessage { _ = e(ones([2])) } == "Embedding: indices must be integers, got float32")
        #expect(errorMessage { _ = e.attend(ones([2, 4])) } == "Embedding.attend: expected input of shape […, 3], got [2, 4]")
    }
}

@Suite struct NormalizationErrors {
    @Test func wrongFeatures() {
        #expect(errorMessage { _ = LayerNorm(4)(ones([2, 3])) } == "LayerNorm: expected input of shape […, 4], got [2, 3]")
        #expect(errorMessage { _ = RMSNorm(4)(ones([3])) } == "RMSNorm: expected input of shape […, 4], got [3]")
        let bn = BatchNorm(2)
        #expect(errorMessage { _ = bn(ones([2, 3]), state: bn.initialState(), useRunningAverage: true) } == "BatchNorm: expected input of shape […, 2], got [2, 3]")
        #expect(errorMessage { _ = bn(ones([2, 2]), state: BatchNorm(3).initialState(), useRunningAverage: true) } == "BatchNorm: the state must hold mean and var of shape [2], got [3] and [3]")
    }
}
