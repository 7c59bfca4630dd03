import FlockOptim
import FlockTestSupport
import Testing

/// A user struct of parameters: optimisers work on any pytree.
struct Dense: PyTreeStruct {
    var b: Tensor
    var s: Tensor
    var w: Tensor
    static let fields: [PyTreeField<Dense>] = [.init(\.b, "b"), .init(\.s, "s"), .init(\.w, "w")]
}

@Suite struct OptimizerTests {
    static let params: [String: Tensor] = [
        "w": Tensor([0.5, -1.0, 2.0, 0.25, 1.5, -0.75] as [Float], shape: [2, 3]),
        "b": zeros([3]),
        "s": Tensor(Float(0.7)),
    ]
    static func grads(_ k: Int) -> [String: Tensor] {
        treeMap(params) { p in sin(onesLike(p) * Double(k + 1) + p) }
    }

    /// The same optimiser on a struct and on a dictionary with the same
    /// leaves in the same order gives the same updates and states.
    @Test func structParamsMatchDictionaryParams() {
        let p = Self.params
        let dense = Dense(b: p["b"]!, s: p["s"]!, w: p["w"]!)
        let tx = GradientTransformation.adamw(learningRate: 0.01, weightDecay: 0.1, mask: { $0.shape.count > 1 })
        var sd = tx.initialize(p), ss = tx.initialize(dense)
        var pd = p, ps = dense
        for k in 0..<4 {
            let g = Self.grads(k)
            let (ud, nsd) = tx.update(g, state: sd, params: pd)
            let (us, nss) = tx.update(Dense(b: g["b"]!, s: g["s"]!, w: g["w"]!), state: ss, params: ps)
            #expect(treeLeaves(ud).map { $0.toArray(Float.self) } == treeLeaves(us).map { $0.toArray(Float.self) })
            (sd, ss) = (nsd, nss)
            pd = applyUpdates(pd, ud)
            ps = applyUpdates(ps, us)
        }
        #expect(sd.leaves.map { $0.toArray(Float.self) } == ss.leaves.map { $0.toArray(Float.self) })
        // The state's leaves are named by the parameters' key paths.
        #expect(ss.paths == ["[0].count", "[0].mu.b", "[0].mu.s", "[0].mu.w", "[0].nu.b", "[0].nu.s", "[0].nu.w"])
        #expect(sd.paths[1] == "[0].mu['b']")
        #expect(ss["[0].count"]!.dtype == .int32 && ss["[0].count"]!.item(Int32.self) == 4)
    }

    /// An optimiser state's compact structure key (what `jit` compares per
    /// call) agrees with its described structure: the same for states of
    /// the same transformation and parameters, different for another
    /// parameter layout or another transformation.
    @Test func stateStructureKeysAgreeWithDescribedStructures() {
        let p = Self.params, dense = Dense(b: p["b"]!, s: p["s"]!, w: p["w"]!)
        let adam = GradientTransformation.adam(learningRate: 0.1), sgd = GradientTransformation.sgd(learningRate: 0.1)
        let states = [adam.initialize(p), adam.update(Self.grads(0), state: adam.initialize(p), params: p).1,
                      adam.initialize(dense), sgd.initialize(p), adam.initialize(["w": p["w"]!])]
        for a in states {
            for b in states {
                #expect((TreeStructureKey(a) == TreeStructureKey(b)) == (treeStructure(a) == treeStructure(b)), "\(a.paths) / \(b.paths)")
            }
        }
        #expect(TreeStructureKey(states[0]) == TreeStructureKey(states[1]))
        #expect(TreeStructureKey(states[0]) != TreeStructureKey(states[2]))
    }

    /// A schedule, a mask and gradient accumulation compose: MultiSteps of
    /// k steps with the mean equals one inner step on the mean gradient.
    @Test func multiStepsEqualsOneStepOnTheMeanGradient() {
        let inner = GradientTransformation.chain(.clipByGlobalNorm(1), .adam(learningRate: .cosineDecay(initValue: 0.1, decaySteps: 10)))
        let accumulate = GradientTransformation.multiSteps(inner, everyK: 3)
        var state = accumulate.initialize(Self.params)
        var total: [String: Tensor] = treeMap(Self.params) { zerosLike($0) }
        for k in 0..<3 {
            let (u, s) = accumulate.update(Self.grads(k), state: state, params: Self.params)
            state = s
            if k < 2 {
                #expect(treeLeaves(u).allSatisfy { $0.toArray(Float.self).allSatisfy { $0 == 0 } })
                #expect(state.multiStepsHasUpdated!.item(Bool.self) == false)
            } else {
                total = u
            }
        }
        #expect(state.multiStepsHasUpdated!.item(Bool.self) == true)
        let mean = treeMap(treeMap(Self.grads(0), Self.grads(1)) { $0 + $1 }, Self.grads(2)) { ($0 + $1) / 3 }
        let (direct, _) = inner.update(mean, state: inner.initialize(Self.params), params: Self.params)
        for (a, b) in zip(treeLeaves(total), treeLeaves(direct)) {
            for (x, y) in zip(a.toArray(Float.self), b.toArray(Float.self)) { #expect(Swift.abs(x - y) <= 1e-6 + 1e-5 * Swift.abs(y)) }
        }
    }

    @Test func stateFromAnotherModelIsAnError() {
        let tx = GradientTransformation.adam(learningRate: 1e-3)
        let state = tx.initialize(Self.params)
        var wider = Self.params
        wider["w"] = zeros([3, 3])
        #expect(errorMessage { _ = tx.update(wider, state: state) }
            == "adam.update: the optimiser state was made for a different model: first mismatching path ['w']: float32 [2, 3] in the state, float32 [3, 3] in the gradients")
        var fewer = Self.params
        fewer["b"] = nil
        #expect(errorMessage { _ = tx.update(fewer, state: state) }
            == "adam.update: the optimiser state was made for a different model: first mismatching path ['b'] in the state, ['s'] in the gradients")
        var more = Self.params
        more["z"] = zeros([1])
        #expect(errorMessage { _ = tx.update(more, state: state) }
            == "adam.update: the optimiser state was made for a different model: first mismatching path ['z']: in the gradients only (4 leaves, the state 3)")
        let dense = Dense(b: zeros([3]), s: zeros([]), w: zeros([2, 3]))
        #expect(errorMessage { _ = tx.update(dense, state: state) }
            == "adam.update: the optimiser state was made for a different model: first mismatching path ['b'] in the state, .b in the gradients")
        #expect(errorMessage { _ = tx.update(Self.params, state: GradientTransformation.sgd(learningRate: 0.1).initialize(Self.params)) }
            == "adam.update: the state has 0 leaves, this transformation keeps 7 for these parameters: the state comes from another optimiser")
    }

    @Test func missingOrMismatchedParamsAreErrors() {
        let tx = GradientTransformation.adamw(learningRate: 1e-3)
        let state = tx.initialize(Self.params)
        #expect(errorMessage { _ = tx.update(Self.grads(0), state: state) }
            == "addDecayedWeights: this transformation reads the parameters: pass params: to update(_:state:params:)")
        let trust = GradientTransformation.scaleByTrustRatio()
        #expect(errorMessage { _ = trust.update(Self.grads(0), state: trust.initialize(Self.params)) }
            == "scaleByTrustRatio: this transformation reads the parameters: pass params: to update(_:state:params:)")
        var other = Self.params
        other["s"] = zeros([2])
        #expect(errorMessage { _ = tx.update(Self.grads(0), state: state, params: other) }
            == "adamw.update: the params and the gradients differ: first mismatching path ['s']: float32 [2] in the params, float32 [] in the gradients")
    }

    @Test func badHyperparametersAreErrors() {
        #expect(errorMessage { _ = Schedule.cosineDecay(initValue: 1, decaySteps: 0) } == "cosineDecay: decaySteps must be positive, got 0")
        #expect(errorMessage { _ = Schedule.piecewiseConstant(initValue: 1, boundariesAndScales: [3: -0.5]) }
            == "piecewiseConstant: scales must be non-negative, got -0.5 at boundary 3")
        #expect(errorMessage { _ = Schedule.joined([.constant(1), .constant(2)], boundaries: []) } == "joined: 2 schedules need 1 boundaries, got 0")
        #expect(errorMessage { _ = GradientTransformation.multiSteps(.sgd(learningRate: 1), everyK: 0) } == "multiSteps: everyK must be at least 1, got 0")
    }
}
