import Testing
@testable import FlockCore

/// The convolution kernel's temporary memory stays bounded: im2col is tiled,
/// so scratch grows with the thread count, not with batch or image size.
@Suite struct ConvolutionScratchTests {
    static let mib = 1 << 20

    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let lhs: [Int], rhs: [Int], out: [Int]
        var strides = [1, 1], padding = [[1, 1], [1, 1]], lhsDilation = [1, 1]
        var dimensionNumbers: ConvolutionDimensionNumbers? = nil
        var description: String { name }
        var parameters: ConvolutionParameters {
            ConvolutionParameters(windowStrides: strides, padding: padding, lhsDilation: lhsDilation, rhsDilation: [1, 1],
                                  dimensionNumbers: dimensionNumbers)
        }
        func bytes(threads: Int, dtype: DType = .float32) -> Int {
            plannedConvolutionScratchBytes(lhs: lhs, rhs: rhs, out: out, parameters: parameters, dtype: dtype, threads: threads)
        }
    }

    /// The issue's conv2 (batch 128, 28×28, 32→64, 3×3, SAME) and the two
    /// convolutions its gradients run (input gradient: the flipped kernel over
    /// the cotangent; kernel gradient: batch and features swapped).
    static let issueConv2: [Case] = [
        Case(name: "forward", lhs: [128, 32, 28, 28], rhs: [64, 32, 3, 3], out: [128, 64, 28, 28]),
        Case(name: "input gradient", lhs: [128, 64, 28, 28], rhs: [32, 64, 3, 3], out: [128, 32, 28, 28]),
        Case(name: "kernel gradient", lhs: [32, 128, 28, 28], rhs: [64, 128, 28, 28], out: [32, 64, 3, 3]),
        // The same three channels-last (the specs the transpose rules emit for NHWC / HWIO).
        Case(name: "NHWC forward", lhs: [128, 28, 28, 32], rhs: [3, 3, 32, 64], out: [128, 28, 28, 64],
             dimensionNumbers: .channelsLast(spatialRank: 2)),
        Case(name: "NHWC input gradient", lhs: [128, 28, 28, 64], rhs: [3, 3, 32, 64], out: [128, 28, 28, 32],
             dimensionNumbers: ConvolutionDimensionNumbers(lhsSpec: [0, 3, 1, 2], rhsSpec: [2, 3, 0, 1], outSpec: [0, 3, 1, 2])),
        Case(name: "NHWC kernel gradient", lhs: [128, 28, 28, 32], rhs: [128, 28, 28, 64], out: [3, 3, 32, 64],
             dimensionNumbers: ConvolutionDimensionNumbers(lhsSpec: [3, 0, 1, 2], rhsSpec: [3, 0, 1, 2], outSpec: [2, 3, 0, 1])),
    ]

    @Test(arguments: issueConv2)
    func issueConv2StaysUnder64MiB(_ c: Case) {
        for threads in [1, 2, 4, 8, 16] {
            let bytes = c.bytes(threads: threads)
            #expect(bytes > 0, "\(c.name): a real convolution needs scratch")
            #expect(bytes <= 64 * Self.mib, "\(c.name) with \(threads) threads: \(bytes) bytes of scratch")
        }
        // Without tiling the forward im2col would be 128·(32·9)·784 floats ≈ 110 MiB.
        let untiled = 128 * 32 * 9 * 28 * 28 * 4
        #expect(untiled > 64 * Self.mib)
    }

    /// Larger problems: the per-thread scratch does not grow with batch or
    /// image size (same bound as the small problem, per thread).
    static let large: [Case] = [
        Case(name: "ImageNet-size forward", lhs: [256, 64, 112, 112], rhs: [128, 64, 3, 3], out: [256, 128, 112, 112]),
        Case(name: "wide 3×3 forward", lhs: [64, 512, 56, 56], rhs: [512, 512, 3, 3], out: [64, 512, 56, 56]),
        Case(name: "ImageNet-size kernel gradient", lhs: [64, 256, 112, 112], rhs: [128, 256, 112, 112], out: [64, 128, 3, 3]),
        Case(name: "strided input gradient (lhs-dilated)", lhs: [256, 128, 56, 56], rhs: [64, 128, 3, 3], out: [256, 64, 112, 112],
             padding: [[1, 2], [1, 2]], lhsDilation: [2, 2]),
    ]

    @Test(arguments: large)
    func largeShapesStayBounded(_ c: Case) {
        for threads in [1, 2, 8] {
            let bytes = c.bytes(threads: threads)
            // Per thread: 2 MiB of im2col, plus at most a few MiB of
            // accumulator (kernel-gradient form) or transposed kernel.
            #expect(bytes <= threads * 8 * Self.mib, "\(c.name) with \(threads) threads: \(bytes) bytes")
        }
        let lhsBytes = c.lhs.reduce(4, *)
        #expect(c.bytes(threads: 2) * 50 < lhsBytes, "\(c.name): scratch is a small fraction of the input")
    }

    /// Doubling the batch leaves the forward scratch unchanged.
    @Test func scratchIndependentOfBatch() {
        let small = Case(name: "b128", lhs: [128, 32, 28, 28], rhs: [64, 32, 3, 3], out: [128, 64, 28, 28])
        let big = Case(name: "b1024", lhs: [1024, 32, 28, 28], rhs: [64, 32, 3, 3], out: [1024, 64, 28, 28])
        #expect(small.bytes(threads: 2) == big.bytes(threads: 2))
        #expect(small.bytes(threads: 2, dtype: .float64) <= 2 * small.bytes(threads: 2))
    }

    /// An empty convolution allocates nothing.
    @Test func emptyNeedsNoScratch() {
        let empty = Case(name: "empty", lhs: [0, 3, 5, 5], rhs: [4, 3, 3, 3], out: [0, 4, 5, 5])
        #expect(empty.bytes(threads: 2) == 0)
    }
}
