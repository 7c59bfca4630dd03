import FlockNN
import FlockTestSupport
import Testing

@Suite struct AttentionAgainstFlax {
    @Test(arguments: NNFixtures.cases("layers", "MultiHeadAttention"))
    func multiHeadAttention(_ c: FixtureCase) throws {
        let p = c.params
        func projection(_ name: String, inRank: Int) -> LinearGeneral {
            LinearGeneral(kernel: p["\(name).kernel"]!, bias: p["\(name).bias"], inRank: inRank)
        }
        let rate = c.double("dropoutRate")!
        let attention = MultiHeadAttention(
            query: projection("query", inRank: 1), key: projection("key", inRank: 1), value: projection("value", inRank: 1),
            out: projection("out", inRank: 2), dropoutRate: rate)
        // The masks, built with Flock's helpers, must equal the ones nnx built.
        let cross = c.bool("crossAttention")!, inputs = c.inputs
        var mask: Tensor? = nil
        if c.bool("causal")! { mask = MultiHeadAttention.causalMask(length: inputs[0].shape[inputs[0].rank - 2]) }
        if c.bool("padding")! {
            let valid = Array(inputs.suffix(2))
            let padding = MultiHeadAttention.attentionMask(queryValid: valid[0], keyValid: valid[1])
            mask = mask.map { $0 .& padding } ?? padding
        }
        if let mask {
            let expected = c["mask"]
            #expect(mask.broadcast(to: expected.shape).converted(to: .float32).toArray(Float.self) == expected.toArray(Float.self), "mask")
        }
        let deterministic = c.bool("deterministic")!
        // nnx draws the dropout key as rngs.dropout(): fold_in(key, 0).
        let key = Random.foldIn(PRNGKey(c.int("dropoutSeed")!), 0)
        try checkLayer(c, attention, rtol: 1e-4, atol: 1e-5) { m, x in
            m(x[0], cross ? x[1] : nil, mask: mask, deterministic: deterministic, key: key)
        }
        checkInit(c, MultiHeadAttention(
            numHeads: c.int("numHeads")!, inFeatures: c.int("inFeatures")!, qkvFeatures: c.int("qkvFeatures")!,
            outFeatures: c.int("outFeatures")!, dropoutRate: rate, useBias: c.bool("useBias")!, key: PRNGKey(c.int("seed")!)))
    }
}

@Suite struct AttentionErrors {
    @Test func errors() {
        let attention = MultiHeadAttention(numHeads: 2, inFeatures: 4, key: PRNGKey(0))
        #expect(errorMessage { _ = attention(ones([2, 3, 5])) } == "MultiHeadAttention: expected query input of shape [batch…, length, 4], got [2, 3, 5]")
        #expect(errorMessage { _ = attention(ones([2, 3, 4]), ones([3, 3, 4])) } == "MultiHeadAttention: query and key/value inputs must have the same batch dimensions, got [2, 3, 4] and [3, 3, 4]")
        #expect(errorMessage { _ = attention(ones([2, 3, 4]), mask: MultiHeadAttention.causalMask(length: 4)) } == "MultiHeadAttention: the mask [1, 4, 4] does not broadcast to [batch…, heads, queryLength, keyLength] = [2, 2, 3, 3]")
        #expect(errorMessage { _ = MultiHeadAttention(numHeads: 3, inFeatures: 4, key: PRNGKey(0)) } == "MultiHeadAttention: qkvFeatures 4 must be divisible by numHeads 3")
        let dropping = MultiHeadAttention(numHeads: 2, inFeatures: 4, dropoutRate: 0.1, key: PRNGKey(0))
        #expect(errorMessage { _ = dropping(ones([1, 3, 4]), deterministic: false) } == "MultiHeadAttention: deterministic is false and dropoutRate is 0.1 but no key was given")
        // Inside a container, the message names the path.
        #expect(errorMessage { _ = ModulePath.with("encoder") { attention(ones([1, 3, 5])) } } == "MultiHeadAttention at encoder: expected query input of shape [batch…, length, 4], got [1, 3, 5]")
        #expect(errorMessage { _ = MultiHeadAttention(query: attention.query, key: attention.key, value: attention.value, out: attention.query) } == "MultiHeadAttention: query, key and value must project to the same [heads, headDim] that out projects from, got [2, 2], [2, 2], [2, 2] and [4]")
    }
}
