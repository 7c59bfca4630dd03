import FlockNN
import FlockTestSupport
import Testing

// Initialisers against jax.nn.initializers (Fixtures/initializers.*, written
// by tools/make_nn_fixtures.py): the same key, shape and dtype must give the
// same numbers. Bit for bit, except where a float32 kernel or a factorisation
// differs from XLA's (see `tolerance(for:)`).

extension FixtureCase {
    /// The Flock initialiser this case calls.
    var initializer: Initializer {
        let axes = (ints("inAxis") ?? [-2], ints("outAxis") ?? [-1], ints("batchAxis") ?? [])
        switch string("fn")! {
        case "variance_scaling":
            return .varianceScaling(
                scale: double("scale")!, mode: FanMode(rawValue: string("mode")!)!,
                distribution: VarianceScalingDistribution(rawValue: string("distribution")!)!,
                inAxis: axes.0, outAxis: axes.1, batchAxis: axes.2)
        case "lecun_normal": return .lecunNormal(inAxis: axes.0, outAxis: axes.1, batchAxis: axes.2)
        case "lecun_uniform": return .lecunUniform(inAxis: axes.0, outAxis: axes.1, batchAxis: axes.2)
        case "glorot_normal": return .glorotNormal(inAxis: axes.0, outAxis: axes.1, batchAxis: axes.2)
        case "glorot_uniform": return .glorotUniform(inAxis: axes.0, outAxis: axes.1, batchAxis: axes.2)
        case "he_normal": return .heNormal(inAxis: axes.0, outAxis: axes.1, batchAxis: axes.2)
        case "he_uniform": return .heUniform(inAxis: axes.0, outAxis: axes.1, batchAxis: axes.2)
        case "zeros": return .zeros
        case "ones": return .ones
        case "constant": return .constant(double("value")!)
        case "normal": return .normal(stddev: double("stddev")!)
        case "uniform": return .uniform(scale: double("scale")!)
        case "truncated_normal":
            return .truncatedNormal(stddev: double("stddev")!, lower: double("lower")!, upper: double("upper")!)
        case "orthogonal": return .orthogonal(scale: double("scale")!, columnAxis: int("columnAxis")!)
        case let fn: fatalError("unknown initializer \(fn)")
        }
    }

    /// Whether this case samples a truncated normal (float32 erf/log kernels may differ from XLA's).
    var isTruncatedNormal: Bool {
        ["truncated_normal", "lecun_normal", "glorot_normal", "he_normal"].contains(string("fn")!)
            || string("distribution") == "truncated_normal"
    }
}

private func check(_ c: FixtureCase) throws {
    let result = try catchingErrors { c.initializer(PRNGKey(c.int("seed")!), c.ints("shape")!, dtype: c.dtype) }
    let expected = c["out"]
    #expect(result.shape == expected.shape && result.dtype == expected.dtype, "\(result.dtype)\(result.shape) vs \(expected.dtype)\(expected.shape)")
    if c.string("fn") == "orthogonal" {
        // A Householder QR in Double against LAPACK's in the dtype: equal to rounding.
        let tight = c.dtype == .float64
        expectClose(result, expected, rtol: tight ? 1e-12 : 2e-6, atol: tight ? 1e-13 : 1e-6, "orthogonal")
    } else if c.isTruncatedNormal && c.dtype == .float32 {
        // Flock's float32 erf/erfinv differ from XLA's by a few ulps, which the
        // inverse-CDF sampler amplifies near the bounds (as in RandomTests).
        expectClose(result, expected, rtol: 2e-4, atol: 1e-6, "truncated normal float32")
    } else {
        let ulps = maxUlps(result, expected)
        #expect(ulps == 0, "differs from JAX by up to \(ulps) ulps")
    }
}

@Suite struct InitializersAgainstJAX {
    @Test(arguments: NNFixtures.cases("initializers", "variance_scaling"))
    func varianceScaling(_ c: FixtureCase) throws { try check(c) }

    @Test(arguments: NNFixtures.cases(
        "initializers", "lecun_normal", "lecun_uniform", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform"))
    func named(_ c: FixtureCase) throws { try check(c) }

    @Test(arguments: NNFixtures.cases("initializers", "zeros", "ones", "constant", "normal", "uniform", "truncated_normal"))
    func plain(_ c: FixtureCase) throws { try check(c) }

    @Test(arguments: NNFixtures.cases("initializers", "orthogonal"))
    func orthogonal(_ c: FixtureCase) throws { try check(c) }
}

@Suite struct InitializerIdentities {
    /// Orthogonal columns: wᵀw = I (tall) and rows: w wᵀ = I (wide), in float64.
    @Test(arguments: [[6, 3], [3, 6], [5, 5]])
    func orthonormal(_ shape: [Int]) {
        let w = Initializer.orthogonal()(PRNGKey(4), shape, dtype: .float64)
        let gram = shape[0] >= shape[1] ? matmul(w.T, w) : matmul(w, w.T)
        expectClose(gram, eye(min(shape[0], shape[1]), dtype: .float64), rtol: 0, atol: 1e-13, "gram")
    }
}

@Suite struct InitializerErrors {
    @Test func rankOneWithDefaultAxes() {
        let message = errorMessage { _ = try catchingErrors { Initializer.lecunNormal()(PRNGKey(0), [5]) } }
        #expect(message == "varianceScaling: cannot compute fan sizes of a rank-1 shape [5] with the default inAxis -2; the shape needs rank ≥ 2 or an explicit inAxis")
    }

    @Test func axisOutOfRange() {
        let message = errorMessage { _ = try catchingErrors { Initializer.heUniform(inAxis: [3])(PRNGKey(0), [2, 3]) } }
        #expect(message == "varianceScaling: inAxis 3 is out of range for shape [2, 3]")
    }

    @Test func integerDtype() {
        let message = errorMessage { _ = try catchingErrors { Initializer.glorotNormal()(PRNGKey(0), [2, 3], dtype: .int32) } }
        #expect(message == "varianceScaling: dtype must be float32 or float64, got int32")
    }

    @Test func orthogonalRank() {
        let message = errorMessage { _ = try catchingErrors { Initializer.orthogonal()(PRNGKey(0), [4]) } }
        #expect(message == "orthogonal: the shape needs rank ≥ 2, got [4]")
    }

    @Test func negativeDimension() {
        let message = errorMessage { _ = try catchingErrors { Initializer.normal()(PRNGKey(0), [2, -1]) } }
        #expect(message == "initializer: negative dimensions are not allowed, got shape [2, -1]")
    }
}
