import FlockNN
import Testing

// Layers against Flax NNX (Fixtures/layers.*): each case stores flax's init of
// the layer from a key, parameters drawn by the script, inputs `x0`, `x1`, …,
// the output, a cotangent `ct`, and the gradients of sum(output · ct) with
// respect to the parameters (`grad.<path>`) and the float inputs (`gx<i>`).

extension FixtureCase {
    /// The stored arrays `<prefix>.<path>` by path (`layers.0.kernel`).
    func tree(_ prefix: String) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in arrays where k.hasPrefix(prefix + ".") { out[String(k.dropFirst(prefix.count + 1))] = v }
        return out
    }
    /// The parameters the script drew, by path.
    var params: [String: Tensor] { tree("param") }
    /// The inputs `x0`, `x1`, … in order.
    var inputs: [Tensor] { (0..<8).compactMap { arrays["x\($0)"] } }
}

/// Flax's dotted path for a Flock parameter path: `layers[0].kernel` → `layers.0.kernel`.
func flaxPath(_ path: String) -> String {
    path.replacingOccurrences(of: "[", with: ".").replacingOccurrences(of: "]", with: "")
}

/// Checks a module against a case: its parameters (by path) equal `expected`
/// (exact, or to `rtol`), its output, and the gradients of sum(output · ct).
func checkLayer<M: Module>(
    _ c: FixtureCase, _ module: M, rtol: Double = 2e-5, atol: Double = 2e-6,
    sourceLocation: SourceLocation = #_sourceLocation, _ call: @escaping (M, [Tensor]) -> Tensor
) throws {
    let inputs = c.inputs
    let out = try catchingErrors { call(module, inputs) }
    expectClose(out, c["out"], rtol: rtol, atol: atol, "output", sourceLocation: sourceLocation)
    let differentiable = inputs.indices.filter { c.arrays["gx\($0)"] != nil }
    let ct = c["ct"]
    let loss = { (m: M, xs: [Tensor]) -> Tensor in
        var all = inputs
        for (i, x) in zip(differentiable, xs) { all[i] = x }
        return (call(m, all) * ct).sum()
    }
    let (gm, gx) = try catchingErrors { grad(loss, argnums: .both)(module, differentiable.map { inputs[$0] }) }
    let expectedGrads = c.tree("grad")
    let named = (gm as M).parameters
    #expect(Set(named.map { flaxPath($0.path) }) == Set(expectedGrads.keys), "parameter paths", sourceLocation: sourceLocation)
    for p in named {
        guard let e = expectedGrads[flaxPath(p.path)] else { continue }
        expectClose(p.value, e, rtol: rtol, atol: atol, "grad \(p.path)", sourceLocation: sourceLocation)
    }
    for (i, g) in zip(differentiable, gx) {
        expectClose(g, c["gx\(i)"], rtol: rtol, atol: atol, "grad x\(i)", sourceLocation: sourceLocation)
    }
}

/// Checks that a module initialised from the case's key has flax's initial parameters.
func checkInit<M: Module>(_ c: FixtureCase, _ module: M, sourceLocation: SourceLocation = #_sourceLocation) {
    let expected = c.tree("init")
    let named = module.parameters
    #expect(Set(named.map { flaxPath($0.path) }) == Set(expected.keys), "parameter paths", sourceLocation: sourceLocation)
    for p in named {
        guard let e = expected[flaxPath(p.path)] else { continue }
        // lecun normal draws a float32 truncated normal: Flock's erf may differ from XLA's in the last bits.
        expectClose(p.value, e, rtol: 2e-4, atol: 1e-7, "init \(p.path)", sourceLocation: sourceLocation)
    }
}
