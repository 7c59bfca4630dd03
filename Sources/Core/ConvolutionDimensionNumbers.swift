/// Which dimension of each convolution operand holds the batch, the features
/// and each spatial axis (JAX's `ConvDimensionNumbers`).
///
/// Each spec lists physical dimension indices in logical order: `lhsSpec` and
/// `outSpec` are (batch, feature, spatial…), `rhsSpec` is (output feature,
/// input feature, spatial…). Spatial axis `i` of the three operands pair up,
/// and a convolution's strides, padding and dilations are given in that
/// logical spatial order. Any permutation is allowed; the default is
/// channels-first, `NC…` / `OI…` / `NC…`.
///
/// ```swift
/// // Channels-last images and an HWIO kernel, as Flax stores them:
/// let dn = ConvolutionDimensionNumbers("NHWC", "HWIO", "NHWC")
/// // dn.lhsSpec == [0, 3, 1, 2], dn.rhsSpec == [3, 2, 0, 1]
/// ```
public struct ConvolutionDimensionNumbers: Hashable, Sendable {
    /// The lhs dimensions holding (batch, feature, spatial…).
    public var lhsSpec: [Int]
    /// The rhs (kernel) dimensions holding (output feature, input feature, spatial…).
    public var rhsSpec: [Int]
    /// The output dimensions holding (batch, feature, spatial…).
    public var outSpec: [Int]

    /// Dimension numbers from explicit specs (each a permutation of the operand's dimensions).
    public init(lhsSpec: [Int], rhsSpec: [Int], outSpec: [Int]) {
        self.lhsSpec = lhsSpec
        self.rhsSpec = rhsSpec
        self.outSpec = outSpec
    }

    /// Channels-first dimension numbers (`NC…`, `OI…`, `NC…`) for `spatialRank` spatial axes.
    public static func channelsFirst(spatialRank: Int) -> ConvolutionDimensionNumbers {
        let identity = Array(0..<(spatialRank + 2))
        return ConvolutionDimensionNumbers(lhsSpec: identity, rhsSpec: identity, outSpec: identity)
    }

    /// Channels-last dimension numbers (`N…C`, `…IO`, `N…C`, as Flax's `Conv`) for `spatialRank` spatial axes.
    public static func channelsLast(spatialRank: Int) -> ConvolutionDimensionNumbers {
        let n = spatialRank
        let features = [0, n + 1] + Array(1..<(n + 1))
        return ConvolutionDimensionNumbers(lhsSpec: features, rhsSpec: [n + 1, n] + Array(0..<n), outSpec: features)
    }

    /// Dimension numbers from layout strings, as `lax.conv_general_dilated`'s
    /// `dimension_numbers=("NHWC", "HWIO", "NHWC")`: `N`/`C` mark the batch and
    /// feature dimensions of lhs and output, `O`/`I` the kernel's output and input
    /// features; every other character is a spatial axis, ordered as in the
    /// kernel string. Invalid strings raise a ``FlockError``.
    public init(_ lhs: String, _ rhs: String, _ out: String) {
        let specs = [Array(lhs), Array(rhs), Array(out)]
        let pairs: [(Character, Character)] = [("N", "C"), ("O", "I"), ("N", "C")]
        let names = ["lhs", "rhs", "out"]
        let spatial = specs.indices.map { i in Set(specs[i].filter { $0 != pairs[i].0 && $0 != pairs[i].1 }) }
        for i in 0..<3 {
            let s = specs[i], (a, b) = pairs[i]
            guard s.filter({ $0 == a }).count == 1, s.filter({ $0 == b }).count == 1, Set(s).count == s.count else {
                raise(FlockError("conv_general_dilated: \(names[i]) spec \"\(String(s))\" must contain \(a) and \(b) exactly once and no repeated character (dimension_numbers (\"\(lhs)\", \"\(rhs)\", \"\(out)\"))"))
                self.init(lhsSpec: [], rhsSpec: [], outSpec: [])
                return
            }
        }
        guard spatial[0] == spatial[1], spatial[1] == spatial[2] else {
            raise(FlockError("conv_general_dilated: lhs, rhs and out specs must have the same spatial characters, got (\"\(lhs)\", \"\(rhs)\", \"\(out)\")"))
            self.init(lhsSpec: [], rhsSpec: [], outSpec: [])
            return
        }
        // Spatial axes in the kernel string's order.
        let rhsSpatial = specs[1].filter { spatial[1].contains($0) }
        func perm(_ s: [Character], _ pair: (Character, Character)) -> [Int] {
            [s.firstIndex(of: pair.0)!, s.firstIndex(of: pair.1)!] + rhsSpatial.map { s.firstIndex(of: $0)! }
        }
        self.init(lhsSpec: perm(specs[0], pairs[0]), rhsSpec: perm(specs[1], pairs[1]), outSpec: perm(specs[2], pairs[2]))
    }

    /// Whether every spec is the identity (`NC…`, `OI…`, `NC…`).
    public var isChannelsFirst: Bool {
        [lhsSpec, rhsSpec, outSpec].allSatisfy { $0 == Array($0.indices) }
    }

    /// A shape given in logical order (batch or output feature, feature, spatial…)
    /// laid out by `spec`.
    static func physical(_ logical: [Int], _ spec: [Int]) -> [Int] {
        var shape = logical
        for (i, d) in spec.enumerated() { shape[d] = logical[i] }
        return shape
    }

    /// `shape` in logical order (the sizes of `spec`'s dimensions).
    static func logical(_ shape: [Int], _ spec: [Int]) -> [Int] { spec.map { shape[$0] } }
}
