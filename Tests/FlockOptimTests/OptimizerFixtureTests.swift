import FlockOptim
import FlockTestSupport
import Testing

/// Parameters and optimiser state together: one pytree a jitted step takes and donates.
struct TrainState: PyTreeStruct {
    var params: [String: Tensor]
    var opt: OptimizerState
    static let fields: [PyTreeField<TrainState>] = [.init(\.params, "params"), .init(\.opt, "opt")]
}

@Suite struct OptimizerFixtureTests {
    /// Runs a fixture case eagerly (or as one jitted step with donated state)
    /// and compares every step's updates and params and the final state with optax.
    func check(_ name: String, jitted: Bool) {
        let c = OptaxReference.optimizer(name)
        let tx = OptaxReference.build(c["spec"] as! [String: Any])
        var params = OptaxReference.tree(c["params"]!)
        var state = tx.initialize(params)
        let step = jit(donateArgnums: [0]) { (s: TrainState, g: [String: Tensor]) -> [String: [String: Tensor]] in
            let (u, newState) = tx.update(g, state: s.opt, params: s.params)
            // The state travels as a tree of its own leaves (a dictionary keyed by position).
            var leaves: [String: Tensor] = [:]
            for (i, l) in newState.leaves.enumerated() { leaves[String(format: "%04d", i)] = l }
            return ["updates": u, "params": applyUpdates(s.params, u), "state": leaves]
        }
        for (k, st) in (c["steps"] as! [[String: Any]]).enumerated() {
            let grads = OptaxReference.tree(st["grads"]!)
            let updates: [String: Tensor]
            if jitted {
                let out = step(TrainState(params: params, opt: state), grads)
                updates = out["updates"]!
                params = out["params"]!
                state = treeUnflatten(like: state, out["state"]!.keys.sorted().map { out["state"]![$0]! })
            } else {
                let (u, s) = tx.update(grads, state: state, params: params)
                updates = u
                state = s
                params = applyUpdates(params, u)
            }
            let wantUpdates = OptaxReference.tree(st["updates"]!), wantParams = OptaxReference.tree(st["params"]!)
            for key in wantUpdates.keys.sorted() {
                expectClose(updates[key]!, wantUpdates[key]!, "\(name) step \(k) updates['\(key)']")
                expectClose(params[key]!, wantParams[key]!, "\(name) step \(k) params['\(key)']")
            }
        }
        let wantState = (c["state"] as! [Any]).map(OptaxReference.tensor)
        #expect(state.leaves.count == wantState.count, "\(name): \(state.leaves.count) state leaves, optax has \(wantState.count)")
        for (i, (a, e)) in zip(state.leaves, wantState).enumerated() {
            expectClose(a, e, "\(name) final state leaf \(i) (\(state.paths[i]))")
        }
    }

    @Test(arguments: OptaxReference.optimizerNames)
    func eagerMatchesOptax(_ name: String) { check(name, jitted: false) }

    @Test(arguments: OptaxReference.optimizerNames)
    func jittedMatchesOptax(_ name: String) { check(name, jitted: true) }

    @Test(arguments: OptaxReference.scheduleNames)
    func scheduleMatchesOptax(_ name: String) {
        let c = OptaxReference.schedule(name)
        let schedule = OptaxReference.schedule(spec: c["spec"])!
        let steps = c["steps"] as! [Int]
        let want = OptaxReference.tensor(c["values"]!).toArray(Float.self)
        let traced = jit { (count: Tensor) in schedule(count) }
        for (s, w) in zip(steps, want) {
            let eager = schedule.value(at: s)
            let jitted = traced(Tensor(Int32(s))).item(Float.self)
            let ok = { (x: Float) in Swift.abs(x - w) <= 1e-6 + 2e-6 * Swift.abs(w) }
            #expect(ok(eager), "\(name) at step \(s): \(eager), optax has \(w)")
            #expect(ok(jitted), "\(name) jitted at step \(s): \(jitted), optax has \(w)")
        }
    }

    @Test func globalNormMatchesOptax() {
        let g = OptaxReference.root["global_norm"] as! [String: Any]
        expectClose(globalNorm(OptaxReference.tree(g["grads"]!)), OptaxReference.tensor(g["norm"]!), "global norm")
    }
}
