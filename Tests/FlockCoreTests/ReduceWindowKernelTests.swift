import Testing
import CKernels
import FlockTestSupport
@testable import FlockCore

/// The row kernels of reduceWindow (ReduceWindow+Rows.swift) against the
/// general offset-table kernel, bit for bit, for sum/max/min in float32 and
/// float64, with the AVX2 and the baseline loops; inputs hold ties, ±0, ±inf
/// and NaN. (JAX's own values for these kernels: PoolingTests' fixtures.)
@Suite struct ReduceWindowKernelTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let shape: [Int], window: [Int]
        var strides: [Int]? = nil, padding: [[Int]]? = nil, windowDilation: [Int]? = nil, baseDilation: [Int]? = nil
        var description: String { name }

        var parameters: WindowParameters {
            let n = shape.count
            return WindowParameters(
                windowDimensions: window, windowStrides: strides ?? Array(repeating: 1, count: n),
                padding: padding ?? Array(repeating: [0, 0], count: n),
                baseDilation: baseDilation ?? Array(repeating: 1, count: n),
                windowDilation: windowDilation ?? Array(repeating: 1, count: n))
        }
        var outputShape: [Int] { try! windowedShape(shape, parameters) { FlockError($0) } }
    }

    /// Shapes the row kernels take.
    static let cases: [Case] = [
        Case(name: "NHWC 2x2 stride 2", shape: [3, 8, 8, 32], window: [1, 2, 2, 1], strides: [1, 2, 2, 1]),
        Case(name: "NHWC 2x2 stride 2, odd sizes", shape: [2, 7, 9, 5], window: [1, 2, 2, 1], strides: [1, 2, 2, 1]),
        Case(name: "NHWC 3x3 stride 1 overlapping", shape: [2, 6, 7, 8], window: [1, 3, 3, 1]),
        Case(name: "NHWC 3x3 stride 2 SAME-like padding", shape: [2, 9, 8, 3], window: [1, 3, 3, 1], strides: [1, 2, 2, 1],
             padding: [[0, 0], [1, 1], [0, 1], [0, 0]]),
        Case(name: "NHWC wide padding", shape: [1, 4, 5, 4], window: [1, 3, 2, 1], strides: [1, 1, 2, 1],
             padding: [[0, 0], [3, 2], [2, 4], [0, 0]]),
        Case(name: "NHWC negative padding", shape: [2, 9, 10, 6], window: [1, 2, 3, 1], strides: [1, 2, 1, 1],
             padding: [[0, 0], [-1, -2], [-2, 1], [0, 0]]),
        Case(name: "NHWC window dilation", shape: [2, 10, 11, 7], window: [1, 3, 2, 1], strides: [1, 2, 3, 1],
             padding: [[0, 0], [2, 1], [1, 2], [0, 0]], windowDilation: [1, 2, 3, 1]),
        Case(name: "NHWC stride larger than window", shape: [2, 11, 12, 9], window: [1, 2, 2, 1], strides: [1, 3, 4, 1]),
        Case(name: "NHWC one channel", shape: [3, 6, 6, 1], window: [1, 2, 2, 1], strides: [1, 2, 2, 1]),
        Case(name: "NHWC window covers all", shape: [2, 3, 4, 5], window: [1, 3, 4, 1]),
        Case(name: "NCHW 2x2 stride 2", shape: [2, 3, 8, 8], window: [1, 1, 2, 2], strides: [1, 1, 2, 2]),
        Case(name: "NCHW 3x3 stride 1 padded", shape: [2, 4, 7, 9], window: [1, 1, 3, 3], padding: [[0, 0], [0, 0], [1, 1], [1, 1]]),
        Case(name: "NCHW 3x3 stride 2 odd", shape: [1, 2, 11, 13], window: [1, 1, 3, 3], strides: [1, 1, 2, 2],
             padding: [[0, 0], [0, 0], [1, 0], [0, 1]]),
        Case(name: "NCHW stride 3 dilation 2", shape: [2, 2, 13, 17], window: [1, 1, 2, 3], strides: [1, 1, 3, 3],
             windowDilation: [1, 1, 2, 2]),
        Case(name: "NCHW long rows", shape: [1, 1, 3, 100], window: [1, 1, 2, 5], strides: [1, 1, 1, 2],
             padding: [[0, 0], [0, 0], [0, 1], [2, 2]]),
        Case(name: "NWC 1-D", shape: [3, 17, 6], window: [1, 3, 1], strides: [1, 2, 1], padding: [[0, 0], [1, 1], [0, 0]]),
        Case(name: "NCW 1-D", shape: [3, 4, 17], window: [1, 1, 4], strides: [1, 1, 3], padding: [[0, 0], [0, 0], [2, 0]]),
        Case(name: "rank 1", shape: [20], window: [3], strides: [2], padding: [[1, 2]]),
        Case(name: "rank 2, both windowed", shape: [9, 11], window: [2, 3], strides: [2, 1], padding: [[1, 0], [0, 2]]),
        Case(name: "window over batch and H", shape: [4, 6, 5], window: [2, 2, 1], strides: [2, 1, 1]),
        Case(name: "window larger than padded input (empty output)", shape: [2, 3, 3, 4], window: [1, 4, 4, 1]),
    ]

    /// Shapes the row kernels leave to the general kernel.
    static let generalOnly: [Case] = [
        Case(name: "base dilation", shape: [2, 5, 5, 3], window: [1, 2, 2, 1], baseDilation: [1, 2, 1, 1]),
        Case(name: "3-D windows", shape: [2, 4, 5, 6, 3], window: [1, 2, 2, 2, 1], strides: [1, 2, 2, 2, 1]),
        Case(name: "strided batch", shape: [4, 6, 6, 2], window: [1, 2, 2, 1], strides: [2, 2, 2, 1]),
        Case(name: "no window at all", shape: [3, 4], window: [1, 1]),
        Case(name: "empty operand", shape: [0, 4, 4, 2], window: [1, 2, 2, 1], strides: [1, 2, 2, 1]),
    ]

    /// Random values on a coarse grid (many ties) with ±0, ±inf and NaN sprinkled in.
    static func input(_ shape: [Int], _ dtype: DType, seed: UInt64) -> DenseArray {
        var g = SplitMix64(seed: seed)
        let special: [Float] = [0, -0, .infinity, -.infinity, .nan]
        let values = (0..<shape.reduce(1, *)).map { _ -> Float in
            g.int(0...9) == 0 ? special[g.int(0...4)] : Float(g.int(-8...8)) / 4
        }
        let a = DenseArray(values, shape: shape)
        return dtype == .float32 ? a : convertArray(a, to: dtype)
    }

    /// The elements' bits (NaNs compared as NaN: their payload depends on operand order LLVM may swap).
    static func bits(_ a: DenseArray) -> [UInt64?] {
        if a.dtype == .float32 { return a.toArray(Float.self).map { $0.isNaN ? nil : UInt64($0.bitPattern) } }
        return a.toArray(Double.self).map { $0.isNaN ? nil : $0.bitPattern }
    }

    @Test(arguments: cases)
    func rowKernelsEqualTheGeneralKernel(_ c: Case) throws {
        let avx2Options = flock_has_avx2() != 0 ? [false, true] : [false]
        for dtype in [DType.float32, .float64] {
            let x = Self.input(c.shape, dtype, seed: UInt64(c.shape.reduce(7, *)))
            for op in ReduceWindowOp.allCases {
                let want = evalReduceWindowGeneral(op, x, c.parameters, shape: c.outputShape)
                #expect(evalReduceWindow(op, x, c.parameters, shape: c.outputShape).shape == c.outputShape)
                if c.outputShape.contains(0) {
                    #expect(WindowRows(operand: c.shape, output: c.outputShape, c.parameters) == nil)
                    continue
                }
                for avx2 in avx2Options {
                    let got = try #require(reduceWindowRows(op, x, c.parameters, shape: c.outputShape, avx2: avx2),
                                           "\(c.name): the row kernels must take this shape")
                    #expect(got.shape == want.shape)
                    #expect(Self.bits(got) == Self.bits(want), "\(c.name) \(dtype) \(op) avx2 \(avx2)")
                }
            }
        }
    }

    @Test(arguments: generalOnly)
    func otherShapesUseTheGeneralKernel(_ c: Case) {
        #expect(WindowRows(operand: c.shape, output: c.outputShape, c.parameters) == nil)
        let x = Self.input(c.shape, .float32, seed: 3)
        #expect(reduceWindowRows(.max, x, c.parameters, shape: c.outputShape) == nil)
    }

    @Test func integersUseTheGeneralKernel() {
        let c = Self.cases[0]
        let x = convertArray(Self.input(c.shape, .float32, seed: 5), to: .int32)
        #expect(reduceWindowRows(.max, x, c.parameters, shape: c.outputShape) == nil)
    }
}
