import FlockNN
import FlockTestSupport
import Testing

@Suite struct ConvAgainstFlax {
    @Test(arguments: NNFixtures.cases("layers", "Conv"))
    func conv(_ c: FixtureCase) throws {
        let p = c.params
        let padding: ConvolutionPadding
        switch c.string("padding") {
        case "SAME": padding = .same
        case "VALID": padding = .valid
        default: padding = .explicit(c.intLists("padding")!)
        }
        let strides = c.ints("strides")!, inputDilation = c.ints("inputDilation")!, kernelDilation = c.ints("kernelDilation")!
        let groups = c.int("featureGroupCount")!
        let conv = Conv(
            kernel: p["kernel"]!, bias: p["bias"], strides: strides, padding: padding, inputDilation: inputDilation,
            kernelDilation: kernelDilation, featureGroupCount: groups)
        try checkLayer(c, conv, rtol: 1e-4, atol: 1e-5) { m, x in m(x[0]) }
        checkInit(c, Conv(
            c.int("inFeatures")!, c.int("outFeatures")!, kernelSize: c.ints("kernelSize")!, strides: strides, padding: padding,
            inputDilation: inputDilation, kernelDilation: kernelDilation, featureGroupCount: groups, useBias: c.bool("useBias")!,
            key: PRNGKey(c.int("seed")!)))
    }
}

@Suite struct ConvErrors {
    @Test func wrongInput() {
        let conv = Conv(3, 8, kernelSize: [3, 3], key: PRNGKey(0))
        #expect(errorMessage { _ = conv(ones([2, 5, 5, 4])) } == "Conv: expected input of shape [batch…, s1, s2, 3], got [2, 5, 5, 4]")
        #expect(errorMessage { _ = conv(ones([5, 3])) } == "Conv: expected input of shape [batch…, s1, s2, 3], got [5, 3]")
        let model = Sequential(conv, Activation(relu), Conv(3, 8, kernelSize: [3], key: PRNGKey(1)))
        #expect(errorMessage { _ = model(ones([1, 4, 4, 3])) } == "Conv at layers[2]: expected input of shape [batch…, s1, 3], got [1, 4, 4, 8]")
    }

    @Test func badOptions() {
        #expect(errorMessage { _ = Conv(4, 6, kernelSize: [2, 2], featureGroupCount: 3, key: PRNGKey(0)) } == "Conv: featureGroupCount 3 must divide the 4 input features")
        #expect(errorMessage { _ = Conv(4, 6, kernelSize: [2, 2], strides: [1], key: PRNGKey(0)) } == "Conv: strides [1], inputDilation [1, 1] and kernelDilation [1, 1] must each hold 2 positive integers")
        #expect(errorMessage { _ = Conv(2, 2, kernelSize: [2], padding: .explicit([[1, 1], [0, 0]]), key: PRNGKey(0)) } == "Conv: explicit padding must hold 1 [low, high] pairs, got [[1, 1], [0, 0]]")
        #expect(errorMessage { _ = Conv(2, 2, kernelSize: [2], inputDilation: [2], key: PRNGKey(0)) } == "Conv: padding .same is not supported with input dilation [2]; give explicit padding")
        #expect(errorMessage { _ = Conv(kernel: ones([3, 3])) } == "Conv: the kernel must be [k₁, …, kₙ, in / groups, out] with n ≥ 1, got [3, 3]")
    }
}
