import Testing
import FlockTestSupport
@testable import FlockCore

/// The gemm formulations of convolution against the direct loop
/// (`convolutionReference`), for every path, with the default scratch and a
/// tiny one that forces tiling, in float32 and float64.
@Suite struct ConvolutionKernelTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let lhs: [Int], rhs: [Int]
        var strides: [Int]? = nil, padding: [[Int]]? = nil, lhsDilation: [Int]? = nil, rhsDilation: [Int]? = nil
        var groups = 1
        var description: String { name }

        var parameters: ConvolutionParameters {
            let n = lhs.count - 2
            return ConvolutionParameters(
                windowStrides: strides ?? Array(repeating: 1, count: n),
                padding: padding ?? Array(repeating: [0, 0], count: n),
                lhsDilation: lhsDilation ?? Array(repeating: 1, count: n),
                rhsDilation: rhsDilation ?? Array(repeating: 1, count: n), featureGroupCount: groups)
        }
    }

    static let cases: [Case] = [
        Case(name: "1-D", lhs: [2, 3, 11], rhs: [4, 3, 3]),
        Case(name: "1-D stride larger than kernel", lhs: [1, 2, 10], rhs: [3, 2, 2], strides: [3], padding: [[1, 2]]),
        Case(name: "1-D negative padding", lhs: [2, 2, 9], rhs: [2, 2, 3], padding: [[-1, -2]]),
        Case(name: "1-D lhs dilation and stride", lhs: [2, 3, 6], rhs: [2, 3, 3], strides: [2], padding: [[2, 1]], lhsDilation: [3]),
        Case(name: "2-D same", lhs: [2, 3, 7, 6], rhs: [5, 3, 3, 3], padding: [[1, 1], [1, 1]]),
        Case(name: "2-D strides and rhs dilation", lhs: [2, 4, 9, 11], rhs: [6, 4, 3, 2], strides: [2, 3],
             padding: [[1, 0], [2, 1]], rhsDilation: [2, 1]),
        Case(name: "2-D lhs dilation", lhs: [2, 3, 5, 4], rhs: [4, 3, 3, 2], strides: [1, 2],
             padding: [[2, 2], [1, 0]], lhsDilation: [2, 3]),
        Case(name: "2-D negative and mixed padding", lhs: [1, 2, 8, 7], rhs: [3, 2, 2, 3], padding: [[-2, 1], [1, -1]]),
        Case(name: "2-D groups", lhs: [2, 4, 6, 7], rhs: [6, 2, 3, 3], groups: 2),
        Case(name: "2-D depthwise", lhs: [3, 5, 6, 6], rhs: [5, 1, 3, 3], padding: [[1, 1], [1, 1]], groups: 5),
        Case(name: "2-D depthwise multiplier", lhs: [1, 3, 5, 5], rhs: [6, 1, 2, 2], groups: 3),
        Case(name: "2-D depthwise strided, several row tiles", lhs: [2, 8, 41, 40], rhs: [8, 1, 3, 3], strides: [2, 1],
             padding: [[1, 1], [0, 2]], rhsDilation: [1, 2], groups: 8),
        Case(name: "2-D lhs dilation with groups", lhs: [2, 4, 4, 5], rhs: [6, 2, 3, 3], padding: [[2, 2], [2, 2]],
             lhsDilation: [2, 2], groups: 2),
        Case(name: "2-D kernel-gradient shape", lhs: [4, 6, 12, 10], rhs: [5, 6, 11, 9], padding: [[1, 1], [1, 0]]),
        Case(name: "2-D kernel-gradient strided", lhs: [3, 4, 11, 9], rhs: [5, 4, 5, 4], strides: [1, 2],
             padding: [[0, 1], [1, 1]], rhsDilation: [2, 2]),
        Case(name: "2-D batch 1, one channel", lhs: [1, 1, 5, 3], rhs: [1, 1, 2, 2]),
        Case(name: "3-D", lhs: [2, 2, 5, 4, 6], rhs: [3, 2, 2, 3, 2], strides: [1, 2, 1],
             padding: [[1, 0], [0, 1], [1, 1]], rhsDilation: [1, 1, 2]),
        Case(name: "3-D lhs dilation", lhs: [1, 2, 3, 3, 3], rhs: [2, 2, 2, 2, 2], padding: [[1, 1], [1, 1], [1, 1]],
             lhsDilation: [2, 2, 2]),
        Case(name: "empty batch", lhs: [0, 2, 5], rhs: [3, 2, 2]),
        Case(name: "no input features", lhs: [2, 0, 5], rhs: [3, 0, 2]),
    ]

    /// The elements as Double, copied while the converted array is alive: a
    /// pointer into a temporary array dangles once it is released, and the
    /// buffer pool hands that memory to the next allocation (another test's).
    static func doubles(_ a: DenseArray) -> [Double] {
        let d = convertArray(a, to: .float64)
        return withExtendedLifetime(d) { Array(d.pointer(Double.self)) }
    }

    static func random(_ shape: [Int], _ dtype: DType, seed: UInt64) -> DenseArray {
        var g = SplitMix64(seed: seed)
        let values = (0..<shape.reduce(1, *)).map { _ in g.float() }
        let a = DenseArray(values, shape: shape)
        return dtype == .float32 ? a : convertArray(a, to: dtype)
    }

    static func check(_ c: Case, _ dtype: DType) throws {
        let l = random(c.lhs, dtype, seed: 1), r = random(c.rhs, dtype, seed: 2)
        let p = c.parameters
        let aval = try convolutionShape(
            AbstractValue(shape: c.lhs, dtype: dtype), AbstractValue(shape: c.rhs, dtype: dtype), p) { FlockError($0) }
        let expected = convolutionReference(l, r, p: p, shape: aval.shape)
        let dilated = p.lhsDilation.contains { $0 > 1 }
        let paths: [ConvolutionPath?] = dilated ? [nil, .lhsDilated] : [nil, .forward, .kernelGradient, .lhsDilated]
        for path in paths {
            for scratch in [convolutionScratchBytes, 64] {
                let out = DenseArray(uninitializedShape: aval.shape, dtype: dtype)
                if dtype == .float32 {
                    ConvolutionGemm<Float>(l, r, p, out, path: path, scratchBytes: scratch).run()
                } else {
                    ConvolutionGemm<Double>(l, r, p, out, path: path, scratchBytes: scratch).run()
                }
                let got = Self.doubles(out), want = Self.doubles(expected)
                let tol = dtype == .float32 ? 1e-4 : 1e-12
                var worst = 0.0
                for i in 0..<want.count { worst = max(worst, abs(got[i] - want[i]) / (1 + abs(want[i]))) }
                #expect(worst <= tol, "\(c.name) \(dtype) path \(String(describing: path)) scratch \(scratch): error \(worst)")
            }
        }
    }

    @Test(arguments: cases)
    func float32(_ c: Case) throws { try Self.check(c, .float32) }

    @Test(arguments: cases)
    func float64(_ c: Case) throws { try Self.check(c, .float64) }

    /// `a` (logical order) with its first two dimensions swapped, or itself.
    static func swappedFirstTwo(_ a: DenseArray, _ swap: Bool) -> DenseArray {
        swap ? evalTranspose(a, perm: [1, 0] + Array(2..<a.rank)) : a
    }

    /// The kernel-gradient formulation reading operands and output whose first
    /// two dimensions are swapped (an NCHW convolution's kernel-gradient conv
    /// swaps all three), in place, against the direct loop: every case and
    /// every combination of swapped operands, forced onto that path with the
    /// default and a tiny scratch; and through the dispatcher (dimension
    /// numbers that swap), which takes that path where it applies.
    static func checkSwapped(_ c: Case, _ dtype: DType) throws {
        let l = random(c.lhs, dtype, seed: 1), r = random(c.rhs, dtype, seed: 2)
        guard !c.parameters.lhsDilation.contains(where: { $0 > 1 }) else { return }
        let p = c.parameters
        let aval = try convolutionShape(
            AbstractValue(shape: c.lhs, dtype: dtype), AbstractValue(shape: c.rhs, dtype: dtype), p) { FlockError($0) }
        let want = Self.doubles(convolutionReference(l, r, p: p, shape: aval.shape))
        let tol = dtype == .float32 ? 1e-4 : 1e-12
        let n = c.lhs.count - 2, identity = Array(0..<(n + 2)), swap = [1, 0] + Array(2..<(n + 2))
        for flags in [(true, true, true), (true, false, false), (false, true, false), (false, false, true), (true, true, false)] {
            let pl = Self.swappedFirstTwo(l, flags.0), pr = Self.swappedFirstTwo(r, flags.1)
            let outShape = flags.2 ? [aval.shape[1], aval.shape[0]] + aval.shape[2...] : aval.shape
            func compare(_ out: DenseArray, _ what: String) {
                let got = Self.doubles(Self.swappedFirstTwo(out, flags.2))
                var worst = 0.0
                for i in 0..<want.count { worst = max(worst, abs(got[i] - want[i]) / (1 + abs(want[i]))) }
                #expect(worst <= tol, "\(c.name) \(dtype) swapped \(flags) \(what): error \(worst)")
            }
            for scratch in [convolutionScratchBytes, 64] {
                let out = DenseArray(uninitializedShape: outShape, dtype: dtype)
                if dtype == .float32 {
                    ConvolutionGemm<Float>(pl, pr, p, out, swapped: flags, path: .kernelGradient, scratchBytes: scratch).run()
                } else {
                    ConvolutionGemm<Double>(pl, pr, p, out, swapped: flags, path: .kernelGradient, scratchBytes: scratch).run()
                }
                compare(out, "scratch \(scratch)")
            }
            var q = p
            q.dimensionNumbers = ConvolutionDimensionNumbers(
                lhsSpec: flags.0 ? swap : identity, rhsSpec: flags.1 ? swap : identity, outSpec: flags.2 ? swap : identity)
            compare(evalConvolution(pl, pr, p: q, shape: outShape), "dispatched")
        }
    }

    @Test(arguments: cases)
    func swappedOperandsFloat32(_ c: Case) throws { try Self.checkSwapped(c, .float32) }

    @Test(arguments: cases)
    func swappedOperandsFloat64(_ c: Case) throws { try Self.checkSwapped(c, .float64) }

    /// The paths the dispatcher picks for the shapes they are meant for.
    @Test func pathSelection() {
        func path(_ l: [Int], _ r: [Int], _ out: [Int], lhsDilation: [Int] = [1, 1]) -> ConvolutionPath {
            let p = ConvolutionParameters(windowStrides: [1, 1], padding: [[0, 0], [0, 0]], lhsDilation: lhsDilation, rhsDilation: [1, 1])
            return ConvolutionGemm<Float>(
                DenseArray(uninitializedShape: l, dtype: .float32), DenseArray(uninitializedShape: r, dtype: .float32), p,
                DenseArray(uninitializedShape: out, dtype: .float32)).path
        }
        #expect(path([128, 32, 28, 28], [64, 32, 3, 3], [128, 64, 26, 26]) == .forward)
        #expect(path([32, 128, 28, 28], [64, 128, 26, 26], [32, 64, 3, 3]) == .kernelGradient)
        #expect(path([2, 3, 5, 5], [4, 3, 3, 3], [2, 4, 7, 7], lhsDilation: [2, 2]) == .lhsDilated)
    }

    /// `a` (channels-first, logical order) laid out by `spec`: dimension spec[i] is logical dimension i.
    static func laidOut(_ a: DenseArray, _ spec: [Int]) -> DenseArray {
        var inverse = spec
        for (i, d) in spec.enumerated() { inverse[d] = i }
        return evalTranspose(a, perm: inverse)
    }

    /// The channels-last formulations against the direct loop: every case as
    /// an NHWC convolution (forward, or lhs-dilated; an HWIO kernel and a
    /// kernel layout that must be repacked) and, ungrouped without lhs
    /// dilation, in the layout of the kernel-gradient conv; default scratch
    /// and a tiny one that tiles rows.
    static func checkChannelsLast(_ c: Case, _ dtype: DType) throws {
        let base = c.parameters
        let dilated = base.lhsDilation.contains(where: { $0 > 1 })
        let n = c.lhs.count - 2
        let l = random(c.lhs, dtype, seed: 3), r = random(c.rhs, dtype, seed: 4)
        let aval = try convolutionShape(
            AbstractValue(shape: c.lhs, dtype: dtype), AbstractValue(shape: c.rhs, dtype: dtype), base) { FlockError($0) }
        let want = Self.doubles(convolutionReference(l, r, p: base, shape: aval.shape))
        let spatial = Array(1..<(n + 1)), kSpatial = Array(0..<n)
        let nhwc: ChannelsLastForm = dilated ? .lhsDilated : .forward
        var layouts: [(ChannelsLastForm, ConvolutionDimensionNumbers)] = [
            (nhwc, .channelsLast(spatialRank: n)),
            (nhwc, ConvolutionDimensionNumbers(lhsSpec: [0, n + 1] + spatial, rhsSpec: [0, 1] + spatial.map { $0 + 1 },
                                                   outSpec: [0, n + 1] + spatial)),
        ]
        if c.groups == 1 && !dilated {
            layouts.append((.kernelGradient, ConvolutionDimensionNumbers(
                lhsSpec: [n + 1, 0] + spatial, rhsSpec: [n + 1, 0] + spatial, outSpec: [n, n + 1] + kSpatial)))
        }
        for (form, dn) in layouts {
            var p = base
            p.dimensionNumbers = dn
            #expect(p.channelsLastForm == form, "\(c.name): \(dn) takes \(String(describing: p.channelsLastForm))")
            let lp = laidOut(l, dn.lhsSpec), rp = laidOut(r, dn.rhsSpec)
            let expected = Self.doubles(laidOut(DenseArray(want, shape: aval.shape), dn.outSpec))
            let shape = ConvolutionDimensionNumbers.physical(aval.shape, dn.outSpec)
            for scratch in [convolutionScratchBytes, 64] {
                let out = DenseArray(uninitializedShape: shape, dtype: dtype)
                if dtype == .float32 {
                    runChannelsLastConvolution(Float.self, form, lp, rp, p, out, scratchBytes: scratch)
                } else {
                    runChannelsLastConvolution(Double.self, form, lp, rp, p, out, scratchBytes: scratch)
                }
                let got = Self.doubles(out)
                let tol = dtype == .float32 ? 1e-4 : 1e-12
                var worst = 0.0
                for i in 0..<expected.count { worst = max(worst, abs(got[i] - expected[i]) / (1 + abs(expected[i]))) }
                #expect(worst <= tol, "\(c.name) \(dtype) \(form) \(dn) scratch \(scratch): error \(worst)")
            }
        }
    }

    @Test(arguments: cases)
    func channelsLastFloat32(_ c: Case) throws { try Self.checkChannelsLast(c, .float32) }

    @Test(arguments: cases)
    func channelsLastFloat64(_ c: Case) throws { try Self.checkChannelsLast(c, .float64) }

    /// Layouts the channels-last kernels do not take go through channels-first transposes.
    @Test func channelsLastFormSelection() {
        func form(_ dn: ConvolutionDimensionNumbers, lhsDilation: [Int] = [1, 1], groups: Int = 1) -> ChannelsLastForm? {
            ConvolutionParameters(windowStrides: [1, 1], padding: [[0, 0], [0, 0]], lhsDilation: lhsDilation,
                                  rhsDilation: [1, 1], featureGroupCount: groups, dimensionNumbers: dn).channelsLastForm
        }
        #expect(form(ConvolutionDimensionNumbers("NHWC", "HWIO", "NHWC")) == .forward)
        #expect(form(ConvolutionDimensionNumbers("NHWC", "OIHW", "NHWC"), groups: 2) == .forward)
        #expect(form(ConvolutionDimensionNumbers("NHWC", "HWIO", "NHWC"), lhsDilation: [2, 1]) == .lhsDilated)
        #expect(form(ConvolutionDimensionNumbers("NCHW", "OIHW", "NCHW")) == nil)
        #expect(form(ConvolutionDimensionNumbers("NHWC", "HWIO", "NCHW")) == nil)
        // The kernel-gradient conv of an NHWC convolution (convTransposeRHS's specs).
        let kg = ConvolutionDimensionNumbers(lhsSpec: [3, 0, 1, 2], rhsSpec: [3, 0, 1, 2], outSpec: [2, 3, 0, 1])
        #expect(form(kg) == .kernelGradient)
        #expect(form(kg, groups: 2) == nil)
        #expect(form(kg, lhsDilation: [1, 2]) == nil)
    }
}
