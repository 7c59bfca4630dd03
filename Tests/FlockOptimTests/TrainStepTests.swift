import FlockNN
import FlockOptim
import FlockTestSupport
import Testing

/// A train step's result: the new parameters and state, and the loss.
struct StepResult: PyTreeStruct {
    var state: TrainState
    var loss: Tensor
    static let fields: [PyTreeField<StepResult>] = [.init(\.state, "state"), .init(\.loss, "loss")]
}

/// The digits-sized MLP (64 → 128 → 10) with Adam, as one jitted step.
@Suite struct TrainStepTests {
    static func mlpParams() -> [String: Tensor] {
        [
            "w1": Random.normal(Random.key(1), shape: [64, 128]) * 0.1, "b1": zeros([128]),
            "w2": Random.normal(Random.key(2), shape: [128, 10]) * 0.1, "b2": zeros([10]),
        ]
    }
    static func batch(_ size: Int = 128) -> [Tensor] {
        [Random.normal(Random.key(3), shape: [size, 64]), Random.randint(Random.key(4), shape: [size], minval: 0, maxval: 10)]
    }
    static func loss(_ p: [String: Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
        let h = relu(matmul(x, p["w1"]!) + p["b1"]!)
        return softmaxCrossEntropy(logits: matmul(h, p["w2"]!) + p["b2"]!, integerLabels: y).mean()
    }
    static let tx = GradientTransformation.adam(learningRate: 1e-3)
    static func step(_ s: TrainState, _ batch: [Tensor]) -> StepResult {
        let (l, g) = valueAndGrad { (p: [String: Tensor]) in loss(p, batch[0], batch[1]) }(s.params)
        let (u, opt) = tx.update(g, state: s.opt, params: s.params)
        return StepResult(state: TrainState(params: applyUpdates(s.params, u), opt: opt), loss: l)
    }

    /// jit with the state donated = eager, step after step; the donated
    /// leaves are deleted and their buffers hold the new parameters.
    @Test func jittedDonatedStepEqualsEager() throws {
        let jitted = jit(donateArgnums: [0], Self.step)
        let p = Self.mlpParams()
        var eager = TrainState(params: p, opt: Self.tx.initialize(p))
        var state = TrainState(params: treeMap(p) { $0 + 0 }, opt: Self.tx.initialize(p))
        let b = Self.batch()
        for k in 0..<3 {
            let e = Self.step(eager, b)
            let old = state
            let donatedBuffers = Set(try treeLeaves(old).map { ObjectIdentifier(try $0.concreteArray(for: "test").buffer) })
            let r = jitted(state, b)
            let allDeleted = treeLeaves(old).allSatisfy { $0.isDeleted }
            #expect(allDeleted, "step \(k): every donated leaf is deleted")
            // No copies: each update loop (one per parameter leaf) writes its three
            // results (param, mu, nu) into the buffers of its dying operands — the
            // donated param, mu and nu, or the gradient, which dies there too — so
            // at most one result per loop, plus the scalar count, is outside the
            // donated buffers.
            let newBuffers = try treeLeaves(r.state).map { ObjectIdentifier(try $0.concreteArray(for: "test").buffer) }
            let outside = newBuffers.filter { !donatedBuffers.contains($0) }.count
            #expect(outside <= p.count + 1, "step \(k): \(outside) of \(newBuffers.count) results outside the donated buffers")
            #expect(Swift.abs(r.loss.item() - e.loss.item()) <= 1e-6)
            for (i, (x, y)) in zip(treeLeaves(r.state), treeLeaves(e.state)).enumerated() {
                let a = x.toArray(Double.self), c = y.toArray(Double.self)
                let worst = zip(a, c).map { Swift.abs($0 - $1) / (1e-6 + Swift.abs($1)) }.max() ?? 0
                #expect(worst <= 1e-4, "step \(k) leaf \(i) (\(x.shape)): relative difference \(worst)")
            }
            state = r.state
            eager = e.state
        }
        #expect(state.opt["[0].count"]!.item(Int32.self) == 3)
    }

    /// The plan report (`lower(...).compile()`): donating the parameters and
    /// the optimiser state lets the plan write the new ones into their
    /// buffers. At a small batch the update phase sets the peak: without
    /// donation it holds the old and the new parameters and moments at once;
    /// with donation the peak drops by nearly their whole size — no second
    /// copy. (At batch 128 the backward pass's activations set the peak
    /// either way.)
    @Test(arguments: [8, 128])
    func donatedPlanHoldsNoExtraCopies(batchSize: Int) {
        let p = Self.mlpParams()
        let s = TrainState(params: p, opt: Self.tx.initialize(p))
        let leaves = treeLeaves(s), b = Self.batch(batchSize)
        let stateCount = leaves.count
        let flat = { (args: [Tensor]) -> [Tensor] in
            treeLeaves(Self.step(treeUnflatten(like: s, Array(args[..<stateCount])), Array(args[stateCount...])))
        }
        let donated = jit(name: "train_step", donateArgnums: Set(0..<stateCount), flat).lower(leaves + b).compile()
        let kept = jit(name: "train_step", flat).lower(leaves + b).compile()
        let stateBytes = leaves.reduce(0) { $0 + $1.shape.reduce(1, *) * 4 }  // float32 and int32 leaves
        print("train_step_mlp_adam plan at batch \(batchSize): donated \(donated.instructionCount) instructions, \(donated.bufferCount) buffers, peak \(donated.peakBytes) B;",
              "not donated \(kept.instructionCount) instructions, \(kept.bufferCount) buffers, peak \(kept.peakBytes) B; params+state \(stateBytes) B")
        #expect(donated.instructionCount == kept.instructionCount)
        #expect(donated.peakBytes <= kept.peakBytes)
        if batchSize == 8 {
            // Beyond the arguments, the donated plan needs the gradients (a third
            // of params+state) and a few activations; the other one a second
            // params+state.
            let inputBytes = stateBytes + b.reduce(0) { $0 + $1.shape.reduce(1, *) * 4 }
            #expect(donated.peakBytes - inputBytes < stateBytes / 2, "donated: \(donated.peakBytes - inputBytes) B beyond the arguments")
            #expect(kept.peakBytes - inputBytes >= stateBytes, "not donated: \(kept.peakBytes - inputBytes) B beyond the arguments")
        }
    }
}
