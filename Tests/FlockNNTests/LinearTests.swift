import FlockNN
import FlockTestSupport
import Testing

@Suite struct LinearAgainstFlax {
    @Test(arguments: NNFixtures.cases("layers", "Linear"))
    func linear(_ c: FixtureCase) throws {
        let p = c.params
        try checkLayer(c, Linear(kernel: p["kernel"]!, bias: p["bias"])) { m, x in m(x[0]) }
        checkInit(c, Linear(c.int("inFeatures")!, c.int("outFeatures")!, useBias: c.bool("useBias")!, key: PRNGKey(c.int("seed")!)))
    }

    @Test(arguments: NNFixtures.cases("layers", "MLP"))
    func mlp(_ c: FixtureCase) throws {
        let sizes = c.ints("sizes")!
        let p = c.params
        let layers = (0..<sizes.count - 1).map { Linear(kernel: p["layers.\($0).kernel"]!, bias: p["layers.\($0).bias"]) }
        try checkLayer(c, MLP(layers: layers)) { m, x in m(x[0]) }
        checkInit(c, MLP(sizes[0], hidden: Array(sizes.dropFirst().dropLast()), sizes.last!, key: PRNGKey(c.int("seed")!)))
    }
}

@Suite struct ModuleBasics {
    @Test func sequentialIsAPyTree() throws {
        let keys = Random.split(PRNGKey(0), num: 2)
        let model = Sequential(Linear(3, 4, key: keys[0]), Activation(relu), Linear(4, 2, useBias: false, key: keys[1]))
        #expect(model.parameters.map(\.path) == ["layers[0].kernel", "layers[0].bias", "layers[2].kernel"])
        #expect(model.parameterCount == 3 * 4 + 4 + 4 * 2)
        // Sequential = the layers called by hand.
        let x = Random.normal(PRNGKey(5), shape: [2, 3])
        let l0 = model.layers[0] as! Linear, l2 = model.layers[2] as! Linear
        expectClose(model(x), l2(relu(l0(x))), rtol: 0, atol: 0, "sequential")
        // Rebuilding from leaves (what grad and optimisers do) keeps the structure.
        let doubled = treeMap(model) { $0 * 2 }
        expectClose((doubled.layers[0] as! Linear).kernel, l0.kernel * 2, rtol: 0, atol: 0, "rebuilt")
        #expect(treeStructure(doubled) == treeStructure(model))
        // Gradients flow through the existential layers: compare with finite differences.
        let g = grad { (m: Sequential) in m(x).sum() }(model)
        #expect(g.parameters.map(\.path) == model.parameters.map(\.path))
        let g0 = (g.layers[2] as! Linear).kernel
        expectClose(g0, matmul(relu(l0(x)).T, ones([2, 2])), rtol: 1e-6, atol: 1e-6, "grad")
    }

    @Test func summaryTable() {
        let mlp = MLP(4, hidden: [8], 2, key: PRNGKey(0))
        #expect(mlp.parameterCount == 4 * 8 + 8 + 8 * 2 + 2)
        let expected = """
            path              shape   dtype    parameters
            ─────────────────────────────────────────────
            layers[0].kernel  [4, 8]  float32          32
            layers[0].bias    [8]     float32           8
            layers[1].kernel  [8, 2]  float32          16
            layers[1].bias    [2]     float32           2
            ─────────────────────────────────────────────
            total                              58 (232 B)
            """
        #expect(mlp.summary() == expected)
    }

    @Test func keyStreamIsFoldIn() {
        var keys = KeyStream(PRNGKey(3))
        _ = keys.next()
        #expect(keys.next().data.toArray(UInt32.self) == Random.foldIn(PRNGKey(3), 1).data.toArray(UInt32.self))
        #expect(keys.count == 2)
    }
}

@Suite struct LinearErrors {
    @Test func wrongInputShape() {
        let layer = Linear(4, 3, key: PRNGKey(0))
        #expect(errorMessage { _ = layer(ones([2, 5])) } == "Linear: expected input of shape […, 4], got [2, 5]")
    }

    @Test func pathInsideContainers() {
        let mlp = MLP(4, hidden: [8], 2, key: PRNGKey(0))
        let broken = MLP(layers: [mlp.layers[0], Linear(5, 2, key: PRNGKey(1))])
        #expect(errorMessage { _ = broken(ones([1, 4])) } == "Linear at layers[1]: expected input of shape […, 5], got [1, 8]")
        let model = Sequential(Activation(relu), Linear(3, 2, key: PRNGKey(0)))
        #expect(errorMessage { _ = model(ones([2, 4])) } == "Linear at layers[1]: expected input of shape […, 3], got [2, 4]")
    }

    @Test func badParameters() {
        #expect(errorMessage { _ = Linear(kernel: ones([3]), bias: nil) } == "Linear: the kernel must be [in, out] and the bias [out], got kernel [3] and bias none")
    }
}
