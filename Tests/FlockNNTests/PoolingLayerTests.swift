import FlockNN
import FlockTestSupport
import Testing

// MaxPool and AvgPool against flax.linen.max_pool / avg_pool
// (Fixtures/pooling.*, tools/make_nn_fixtures.py pooling): output and the
// gradient with respect to the input.
@Suite struct PoolingAgainstFlax {
    @Test(arguments: NNFixtures.cases("pooling"))
    func pool(_ c: FixtureCase) throws {
        let padding: ConvolutionPadding
        switch c.string("padding") {
        case "SAME": padding = .same
        case "VALID": padding = .valid
        default: padding = .explicit(c.intLists("padding")!)
        }
        let window = c.ints("windowShape")!, strides = c.ints("strides")
        if c.string("layer") == "MaxPool" {
            try checkLayer(c, MaxPool(windowShape: window, strides: strides, padding: padding)) { m, x in m(x[0]) }
        } else {
            let pool = AvgPool(windowShape: window, strides: strides, padding: padding, countIncludePad: c.bool("countIncludePad")!)
            try checkLayer(c, pool) { m, x in m(x[0]) }
        }
    }
}

@Suite struct PoolingLayers {
    @Test func haveNoParametersAndComposeInSequential() throws {
        var keys = KeyStream(PRNGKey(1))
        let model = Sequential(
            Conv(1, 4, kernelSize: [3, 3], keys: &keys), Activation(relu), MaxPool(windowShape: [2, 2], strides: [2, 2]),
            AvgPool(windowShape: [3, 3], padding: .same, countIncludePad: false),
            Activation { $0.reshaped([$0.shape[0], -1]) }, Linear(4 * 3 * 3, 2, keys: &keys))
        let x = Random.normal(PRNGKey(2), shape: [2, 6, 6, 1])
        #expect(try catchingErrors { model(x) }.shape == [2, 2])
        #expect(model.parameters.map(\.path) == ["layers[0].kernel", "layers[0].bias", "layers[5].kernel", "layers[5].bias"])
        #expect(MaxPool(windowShape: [2, 2]).parameters.isEmpty && AvgPool(windowShape: [2]).parameters.isEmpty)
    }

    @Test func errorsNameTheLayerAndItsPath() {
        let x = ones([2, 4, 4, 3])
        #expect(errorMessage { _ = MaxPool(windowShape: [2, 0])(x) } == "MaxPool: windowShape must hold positive sizes, got [2, 0]")
        #expect(errorMessage { _ = AvgPool(windowShape: [])(x) } == "AvgPool: windowShape must hold positive sizes, got []")
        #expect(errorMessage { _ = MaxPool(windowShape: [2, 2, 2, 2])(x) }
            == "MaxPool: expected input [batch…, 4 spatial dimensions, features] for windowShape [2, 2, 2, 2], got [2, 4, 4, 3]")
        #expect(errorMessage { _ = AvgPool(windowShape: [2, 2], strides: [2])(x) }
            == "AvgPool: strides must hold 2 positive integers for windowShape [2, 2], got [2]")
        #expect(errorMessage { _ = MaxPool(windowShape: [2, 2], strides: [1, 0])(x) }
            == "MaxPool: strides must hold 2 positive integers for windowShape [2, 2], got [1, 0]")
        #expect(errorMessage { _ = AvgPool(windowShape: [2, 2], padding: .explicit([[1, 1]]))(x) }
            == "AvgPool: explicit padding must hold 2 [low, high] pairs, got [[1, 1]]")
        let model = Sequential(Activation(relu), MaxPool(windowShape: [2, 2, 2]))
        #expect(errorMessage { _ = model(ones([4, 4])) }
            == "MaxPool at layers[1]: expected input [batch…, 3 spatial dimensions, features] for windowShape [2, 2, 2], got [4, 4]")
    }
}
