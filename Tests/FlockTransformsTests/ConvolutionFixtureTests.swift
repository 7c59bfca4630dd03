import Foundation
import Testing
import FlockTestSupport
@testable import FlockTransforms

/// Convolution and both of its gradients against JAX's conv_general_dilated
/// (tools/make_conv_fixtures.py), in float64 and float32, plus `checkGrads`.
/// Every case passes its dimension numbers (NCHW, NHWC/HWIO, batch-last, mixed
/// layouts) to the primitive as JAX's strings.
@Suite struct ConvolutionFixtureTests {
    struct Case: Decodable, CustomStringConvertible, Sendable {
        let name: String
        let strides: [Int], padding: [[Int]]
        let lhs_dilation: [Int], rhs_dilation: [Int]
        let groups: Int, batch_groups: Int
        let specs: [String]
        let lhs_shape: [Int], rhs_shape: [Int], out_shape: [Int]
        let lhs: [Double], rhs: [Double], out: [Double], ct: [Double], grad_lhs: [Double], grad_rhs: [Double]
        var description: String { name }

        /// Flock's convolution in the fixture's layout.
        func apply(_ x: Tensor, _ w: Tensor) -> Tensor {
            convolution(x, w, strides: strides, padding: .explicit(padding), lhsDilation: lhs_dilation,
                        rhsDilation: rhs_dilation, featureGroupCount: groups, batchGroupCount: batch_groups,
                        dimensionNumbers: ConvolutionDimensionNumbers(specs[0], specs[1], specs[2]))
        }
    }

    /// A vmapped convolution (convolution_vmap.json): the mapped axis of each
    /// operand (-1: not mapped), the batched operands and the result.
    struct VmapCase: Decodable, CustomStringConvertible, Sendable {
        let name: String
        let strides: [Int], padding: [[Int]]
        let lhs_dilation: [Int], rhs_dilation: [Int]
        let groups: Int, batch_groups: Int
        let specs: [String]
        let in_axes: [Int]
        let lhs_shape: [Int], rhs_shape: [Int], out_shape: [Int]
        let lhs: [Double], rhs: [Double], out: [Double]
        var description: String { name }
    }

    static let vmapCases: [VmapCase] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("convolution_vmap.json")
        return try! JSONDecoder().decode([VmapCase].self, from: Data(contentsOf: url))
    }()

    /// vmap over the lhs, the rhs or both (feature and batch groups
    /// included), eager and jitted, against jax.vmap.
    @Test(arguments: vmapCases)
    func vmapMatchesJAX(_ c: VmapCase) {
        let x = Tensor(c.lhs, shape: c.lhs_shape), w = Tensor(c.rhs, shape: c.rhs_shape)
        let f = vmapFlat({ v in
            [convolution(v[0], v[1], strides: c.strides, padding: .explicit(c.padding), lhsDilation: c.lhs_dilation,
                         rhsDilation: c.rhs_dilation, featureGroupCount: c.groups, batchGroupCount: c.batch_groups,
                         dimensionNumbers: ConvolutionDimensionNumbers(c.specs[0], c.specs[1], c.specs[2]))]
        }, inAxes: c.in_axes.map { $0 < 0 ? nil : $0 }, outAxes: [0])
        let want = Tensor(c.out, shape: c.out_shape)
        expectClose(f([x, w])[0], want, rtol: 1e-10, atol: 1e-10, "\(c.name) eager")
        expectClose(jit(f)([x, w])[0], want, rtol: 1e-10, atol: 1e-10, "\(c.name) jit")
    }

    static let cases: [Case] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("convolution.json")
        return try! JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
    }()

    static func values(_ c: Case, _ dtype: DType) -> (x: Tensor, w: Tensor, ct: Tensor) {
        (Tensor(c.lhs, shape: c.lhs_shape).converted(to: dtype), Tensor(c.rhs, shape: c.rhs_shape).converted(to: dtype),
         Tensor(c.ct, shape: c.out_shape).converted(to: dtype))
    }

    @Test(arguments: cases)
    func valueAndGradientsMatchJAX(_ c: Case) {
        for dtype in [DType.float64, .float32] {
            let (x, w, ct) = Self.values(c, dtype)
            let (rtol, atol) = dtype == .float64 ? (1e-10, 1e-10) : (2e-5, 2e-4)
            expectClose(c.apply(x, w), Tensor(c.out, shape: c.out_shape), rtol: rtol, atol: atol, "\(c.name) \(dtype) output")
            let (gx, gw) = grad({ (a: Tensor, b: Tensor) in (c.apply(a, b) * ct).sum() }, argnums: .both)(x, w)
            expectClose(gx, Tensor(c.grad_lhs, shape: c.lhs_shape), rtol: rtol, atol: atol, "\(c.name) \(dtype) lhs gradient")
            expectClose(gw, Tensor(c.grad_rhs, shape: c.rhs_shape), rtol: rtol, atol: atol, "\(c.name) \(dtype) rhs gradient")
        }
    }

    /// Under jit the same gradients (the compiled plan runs the same kernels).
    @Test(arguments: cases)
    func jittedGradientsMatchJAX(_ c: Case) {
        let (x, w, ct) = Self.values(c, .float64)
        let f = jit { (v: [Tensor]) in
            let (gx, gw) = grad({ (a: Tensor, b: Tensor) in (c.apply(a, b) * v[2]).sum() }, argnums: .both)(v[0], v[1])
            return [gx, gw]
        }
        let g = f([x, w, ct])
        expectClose(g[0], Tensor(c.grad_lhs, shape: c.lhs_shape), rtol: 1e-10, atol: 1e-10, "\(c.name) jit lhs gradient")
        expectClose(g[1], Tensor(c.grad_rhs, shape: c.rhs_shape), rtol: 1e-10, atol: 1e-10, "\(c.name) jit rhs gradient")
    }

    @Test(arguments: cases)
    func finiteDifferences(_ c: Case) throws {
        let (x, w, _) = Self.values(c, .float64)
        try checkGrads({ [c.apply($0[0], $0[1])] }, [x, w], order: 1)
    }
}

/// Dimension numbers against identities: the same convolution in any layout is
/// the channels-first one with its operands and output transposed, including
/// both gradients; and the string form parses as JAX's.
@Suite struct ConvolutionLayoutTests {
    /// (lhs, rhs, out) layout strings for 2-D.
    static let layouts: [[String]] = [
        ["NHWC", "HWIO", "NHWC"], ["CHWN", "IOHW", "NCHW"], ["NWHC", "WHIO", "HWNC"], ["HCWN", "OWHI", "CNWH"],
    ]

    /// The permutation taking a channels-first array to `spec` (`spec[d]` names its logical dimension).
    static func permutation(_ spec: String, _ canonical: String) -> [Int] {
        spec.map { ch in canonical.firstIndex(of: ch)!.utf16Offset(in: canonical) }
    }

    @Test(arguments: layouts)
    func layoutIsATransposeOfChannelsFirst(_ specs: [String]) throws {
        let x = Tensor((0..<(2 * 4 * 7 * 6)).map { sin(Double($0)) }, shape: [2, 4, 7, 6])  // NCHW
        let w = Tensor((0..<(6 * 2 * 3 * 2)).map { cos(Double($0) * 0.7) }, shape: [6, 2, 3, 2])  // OIHW
        // Kernel order decides the spatial order: keep H before W in every kernel string here.
        let spatial = specs[1].filter { $0 != "O" && $0 != "I" }
        let lhsCanon = "NC" + spatial, rhsCanon = "OI" + spatial, outCanon = "NC" + spatial
        let hFirst = spatial == "HW"
        let xc = hFirst ? x : x.transposed([0, 1, 3, 2]), wc = hFirst ? w : w.transposed([0, 1, 3, 2])
        let args = (strides: [2, 1], padding: [[1, 0], [1, 1]], groups: 2)
        func reference(_ a: Tensor, _ b: Tensor) -> Tensor {
            convolution(a, b, strides: args.strides, padding: .explicit(args.padding), rhsDilation: [1, 2],
                        featureGroupCount: args.groups)
        }
        let dn = ConvolutionDimensionNumbers(specs[0], specs[1], specs[2])
        let lp = Self.permutation(specs[0], lhsCanon), rp = Self.permutation(specs[1], rhsCanon)
        let op = Self.permutation(specs[2], outCanon)
        func laidOut(_ a: Tensor, _ b: Tensor) -> Tensor {
            convolution(a.transposed(lp), b.transposed(rp), strides: args.strides, padding: .explicit(args.padding),
                        rhsDilation: [1, 2], featureGroupCount: args.groups, dimensionNumbers: dn)
        }
        expectClose(laidOut(xc, wc), reference(xc, wc).transposed(op), rtol: 1e-12, atol: 1e-12, "\(specs) value")
        let ct = reference(xc, wc) * 0.5 + 0.25
        let (gx, gw) = grad({ (a: Tensor, b: Tensor) in (reference(a, b) * ct).sum() }, argnums: .both)(xc, wc)
        let (hx, hw) = grad({ (a: Tensor, b: Tensor) in (laidOut(a, b) * ct.transposed(op)).sum() }, argnums: .both)(xc, wc)
        expectClose(hx, gx, rtol: 1e-12, atol: 1e-12, "\(specs) lhs gradient")
        expectClose(hw, gw, rtol: 1e-12, atol: 1e-12, "\(specs) rhs gradient")
        try checkGrads({ [laidOut($0[0], $0[1])] }, [xc, wc], order: 1)
    }

    @Test func stringsParseAsJAX() {
        // lax.conv_dimension_numbers((1, 1, 1, 1), (1, 1, 1, 1), ("NHWC", "HWIO", "NHWC")) and friends.
        let nhwc = ConvolutionDimensionNumbers("NHWC", "HWIO", "NHWC")
        #expect(nhwc == ConvolutionDimensionNumbers(lhsSpec: [0, 3, 1, 2], rhsSpec: [3, 2, 0, 1], outSpec: [0, 3, 1, 2]))
        #expect(nhwc == .channelsLast(spatialRank: 2))
        #expect(ConvolutionDimensionNumbers("NCHW", "OIHW", "NCHW") == .channelsFirst(spatialRank: 2))
        #expect(ConvolutionDimensionNumbers("NWHC", "HWIO", "NCWH")
            == ConvolutionDimensionNumbers(lhsSpec: [0, 3, 2, 1], rhsSpec: [3, 2, 0, 1], outSpec: [0, 1, 3, 2]))
        #expect(ConvolutionDimensionNumbers.channelsLast(spatialRank: 1)
            == ConvolutionDimensionNumbers(lhsSpec: [0, 2, 1], rhsSpec: [2, 1, 0], outSpec: [0, 2, 1]))
    }

    @Test(arguments: [
        (["NHWC", "HWIO", "NHW"], ["conv_general_dilated", "out spec \"NHW\"", "exactly once"]),
        (["NHWC", "HWIOO", "NHWC"], ["conv_general_dilated", "rhs spec \"HWIOO\"", "repeated"]),
        (["NHWC", "HDIO", "NHWC"], ["conv_general_dilated", "same spatial characters", "HDIO"]),
    ])
    func badStringsAreErrors(_ specs: [String], _ words: [String]) {
        expectErrorMentions(words) { _ = ConvolutionDimensionNumbers(specs[0], specs[1], specs[2]) }
    }

    @Test func badGroupCountsAreErrors() {
        expectErrorMentions(["conv_general_dilated", "batch_group_count 3", "batch 4", "[4, 2, 5, 5]"]) {
            _ = convolution(zeros([4, 2, 5, 5]), zeros([6, 2, 3, 3]), batchGroupCount: 3)
        }
        expectErrorMentions(["conv_general_dilated", "batch_group_count 2", "output features 3", "[3, 2, 3, 3]"]) {
            _ = convolution(zeros([4, 2, 5, 5]), zeros([3, 2, 3, 3]), batchGroupCount: 2)
        }
        expectErrorMentions(["conv_general_dilated", "feature_group_count 2", "batch_group_count 2", "cannot both"]) {
            _ = convolution(zeros([4, 2, 5, 5]), zeros([4, 1, 3, 3]), featureGroupCount: 2, batchGroupCount: 2)
        }
        expectErrorMentions(["conv_general_dilated", "batch_group_count must be at least 1", "0"]) {
            _ = convolution(zeros([4, 2, 5, 5]), zeros([4, 2, 3, 3]), batchGroupCount: 0)
        }
    }

    @Test func badSpecsAreErrors() {
        let dn = ConvolutionDimensionNumbers(lhsSpec: [0, 3, 1, 1], rhsSpec: [3, 2, 0, 1], outSpec: [0, 3, 1, 2])
        expectErrorMentions(["conv_general_dilated", "permutation", "[0, 3, 1, 1]", "[2, 5, 5, 3]"]) {
            _ = convolution(zeros([2, 5, 5, 3]), zeros([3, 3, 3, 4]), dimensionNumbers: dn)
        }
        expectErrorMentions(["conv_general_dilated", "input features differ", "[2, 5, 5, 3]", "[3, 3, 2, 4]"]) {
            _ = convolution(zeros([2, 5, 5, 3]), zeros([3, 3, 2, 4]), dimensionNumbers: .channelsLast(spatialRank: 2))
        }
    }
}
