import Testing

@testable import FlockCore

/// `Random.inBlock`: a block of a sampler's output equals the same block cut
/// out of the whole array, in both threefry modes.
@Suite struct RandomBlockTests {
    typealias Sampler = @Sendable (PRNGKey, [Int]) -> Tensor

    static let samplers: [(String, Sampler)] = [
        ("bits", { Random.bits($0, shape: $1) }),
        ("uniform", { Random.uniform($0, shape: $1, minval: -2, maxval: 3) }),
        ("normal", { Random.normal($0, shape: $1) }),
        ("normal.f64", { Random.normal($0, shape: $1, dtype: .float64) }),
        ("bernoulli", { Random.bernoulli($0, p: 0.3, shape: $1) }),
        ("randint", { Random.randint($0, shape: $1, minval: Tensor(Int32(-5)), maxval: Tensor(Int32(9))) }),
    ]

    @Test(arguments: [true, false])
    func blockEqualsSliceOfWhole(partitionable: Bool) {
        RandomConfig.withThreefryPartitionable(partitionable) {
            let key = PRNGKey(7)
            let global = [6, 4, 3]
            for (name, sample) in Self.samplers {
                let whole = sample(key, global)
                for (start, shape) in [([0, 0, 0], [3, 4, 3]), ([3, 2, 1], [3, 2, 2]), ([5, 0, 0], [1, 4, 3])] {
                    let block = Random.inBlock(of: global, start: start, shape: shape) { sample(key, shape) }
                    let cut = whole[start[0]..<(start[0] + shape[0]), start[1]..<(start[1] + shape[1]), start[2]..<(start[2] + shape[2])]
                    #expect(block.toArray(Double.self) == cut.toArray(Double.self), "\(name) block at \(start) \(shape)")
                }
            }
        }
    }

    @Test func otherShapesInsideABlockAreReported() {
        let message: String?
        do {
            _ = try catchingErrors { Random.inBlock(of: [4], start: [0], shape: [2]) { Random.normal(PRNGKey(0), shape: [3]) } }
            message = nil
        } catch { message = "\(error)" }
        #expect(message?.contains("asked for random bits of shape [3]") == true, "\(message ?? "no error")")
    }
}
