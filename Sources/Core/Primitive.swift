/// The closed set of primitive operations.
///
/// Everything else in Flock (tanh-based activations, softmax, mean, losses) is
/// ordinary Swift composed from these. Each interpretation keeps one table: an
/// exhaustive `switch` over this enum with no `default:`, so adding a case fails
/// to compile until every table has its rule. Static parameters are associated
/// values, which makes primitives hashable cache keys.
public enum Primitive: Hashable, Sendable {
    /// An elementwise function of one operand (`lax.neg`, `lax.exp`, …); see ``UnaryOp``.
    case unary(UnaryOp)
    /// An elementwise function of two operands of equal shape and dtype (`lax.add`,
    /// `lax.mul`, …); see ``BinaryOp``.
    case binary(BinaryOp)
    /// An elementwise comparison of two operands of equal shape and dtype, giving bool
    /// (`lax.eq`, `lax.lt`, …); see ``CompareOp``.
    case compare(CompareOp)
    /// `select(pred, onTrue, onFalse)`; operands of equal shape, or rank-0 pred.
    case select
    /// `clamp(lo, x, hi)`; `lo`/`hi` are rank-0 or shaped like `x`.
    case clamp
    /// `fma(a, b, c)`: `a · b + c` rounded once (a fused multiply-add), on
    /// floating-point operands of one dtype, each rank-0 or of the result's
    /// shape. Internal (JAX has no such primitive): it spells the
    /// multiply-adds XLA's CPU code generator contracts, where Flock must
    /// round as XLA does (`gelu(approximate: true)`).
    case fma
    /// Converts the operand to `DType` elementwise (`lax.convert_element_type`);
    /// `weakType` marks the result as weakly typed, as a Python scalar is in JAX.
    case convert(DType, weakType: Bool)
    /// Reinterprets the bits of a 4-byte dtype as another 4-byte dtype.
    case bitcast(DType)
    /// Reduces the operand over `axes` with a monoid (`lax.reduce_sum`, `lax.reduce_max`, …);
    /// the reduced dimensions are removed.
    case reduce(ReduceOp, axes: [Int])
    /// Index of the largest or smallest element along `axis` (`lax.argmax`/`lax.argmin`),
    /// as int32; ties go to the first index.
    case argReduce(ArgReduceOp, axis: Int)
    /// Broadcasts the operand to `shape` (`lax.broadcast_in_dim`): operand dimension
    /// `i` becomes output dimension `broadcastDimensions[i]` (of equal size, or 1);
    /// the other output dimensions are new.
    case broadcastInDim(shape: [Int], broadcastDimensions: [Int])
    /// Reshapes the operand to the given shape in row-major order (same element count).
    case reshape([Int])
    /// Permutes the dimensions: output dimension `i` is operand dimension `permutation[i]`.
    case transpose([Int])
    /// Reverses the order of elements along `axes`.
    case reverse(axes: [Int])
    /// A static strided slice (`lax.slice`): per dimension, elements from `start` up to
    /// (not including) `limit`, every `strides`-th.
    case slice(start: [Int], limit: [Int], strides: [Int])
    /// Inputs: operand, then one rank-0 integer start index per dimension (clamped).
    case dynamicSlice(sizes: [Int])
    /// Inputs: operand, update, then one rank-0 integer start index per dimension.
    case dynamicUpdateSlice
    /// Inputs: operand, start indices (last dimension is the index vector).
    /// `fillValue` is what out-of-bounds windows read in `.fillOrDrop` mode
    /// (nil: JAX's default for the dtype — NaN, the type's minimum or maximum, true).
    case gather(GatherDimensionNumbers, sliceSizes: [Int], mode: GatherScatterMode, fillValue: Double?)
    /// Inputs: operand, scatter indices (last dimension is the index vector),
    /// updates. Each update is combined with the operand element it lands on
    /// by `op`, in the order of the updates (so repeated indices are deterministic).
    case scatter(ScatterOp, ScatterDimensionNumbers, mode: GatherScatterMode)
    /// Joins operands of equal shape except along `axis` (`lax.concatenate`).
    case concatenate(axis: Int)
    /// Inputs: operand, rank-0 padding value. Negative low/high crop.
    case pad(low: [Int], high: [Int], interior: [Int])
    /// `0, 1, 2, …` along `dimension`, broadcast to `shape` in the given dtype (`lax.iota`,
    /// `lax.broadcasted_iota`); no inputs.
    case iota(DType, shape: [Int], dimension: Int)
    /// Generalised matrix product of lhs and rhs (`lax.dot_general`); see
    /// ``DotDimensionNumbers`` for the output layout.
    case dotGeneral(DotDimensionNumbers)
    /// Inputs: lhs `[N, C, spatial…]`, rhs `[O, I, spatial…]`; output `[N, O, spatial…]`.
    case convolution(ConvolutionParameters)
    /// `lax.reduce_window` with a monoid: each output element reduces one window
    /// of the padded, base-dilated operand (padding and holes hold the identity).
    case reduceWindow(ReduceWindowOp, WindowParameters)
    /// Inputs: source (shaped like the windows' output), operand. Adds each source
    /// element where its window selects: the first element (in window order,
    /// padding and holes included as the identity) that `select` (`.ge` for
    /// max, `.le` for min) keeps against every later one. Transpose of
    /// ``selectAndGatherAdd``; the gradient of max/min pooling.
    case selectAndScatterAdd(select: CompareOp, WindowParameters)
    /// Inputs: tangents, operand (equal shapes). For each window, the tangent of
    /// the element `select` picks (padding and holes skipped, ties to the
    /// earlier element): the JVP of max/min pooling.
    case selectAndGatherAdd(select: CompareOp, WindowParameters)
    /// Cumulative sum along `axis` (`lax.cumsum`), from the end when `reverse`.
    case cumsum(axis: Int, reverse: Bool)
    /// Sorts all operands along `dimension` by the first `numKeys` operands
    /// (lexicographically; NaNs last; stable).
    case sort(dimension: Int, numKeys: Int)
    /// Threefry-2x32 hash. Inputs: key0, key1, x0, x1 (uint32, equal shapes); outputs 2.
    case threefry2x32

    // Higher-order primitives. Their jaxprs are closed (no consts): captured
    // values are passed as explicit leading operands.

    /// Identity whose derivative is zero (`lax.stop_gradient`).
    case stopGradient
    /// A staged call of a jitted function (JAX's `pjit`): inputs are the jaxpr's inputs.
    case call(Jaxpr, kind: CallKind)
    /// Calls a host function with the operands' runtime values and has no
    /// results (JAX's `debug_callback`, behind `debugPrint`). It has an
    /// effect: passes keep it and run it in program order.
    case debugCallback(DebugCallback)
    /// Inputs: an int32 scalar branch index (clamped), then the operands of every branch.
    case cond(branches: [Jaxpr])
    /// Inputs: cond consts, body consts, then the loop carry. Outputs: the final carry.
    case whileLoop(cond: Jaxpr, body: Jaxpr, condConstCount: Int, bodyConstCount: Int)
    /// Inputs: consts, initial carry, then scanned inputs (leading axis `length`).
    /// Body: (consts, carry, x slices) → (carry, y slices). Outputs: final carry, stacked ys.
    case scan(body: Jaxpr, length: Int, reverse: Bool, constCount: Int, carryCount: Int)
    /// A function with a user-defined JVP (`jax.custom_jvp`).
    case customJVP(Jaxpr, rule: CustomRule)
    /// A function with a user-defined VJP (`jax.custom_vjp`).
    case customVJP(Jaxpr, rule: CustomRule)
    /// Rematerialisation: the body is recomputed in the backward pass (`jax.checkpoint`).
    case checkpoint(Jaxpr)
    /// The linear part of a `customVJP` function inside `linearize`: inputs are
    /// the residuals then the tangents; transposing calls the user's backward rule.
    case customVJPLinear(rule: CustomRule, residualCount: Int, outAvals: [AbstractValue])

    // Collectives over named axes (JAX's `lax.psum`, …). `axes` is a tuple of
    // axis names, looked up in the ``AxisEnvironment``: bound to a communicator
    // (MPI ranks, in-process devices) or mapped by `vmap(f, axisName:)`. The
    // members of several axes are numbered row-major over the names.

    /// Sum over the members of the named axes.
    case psum(axes: [String])
    /// Maximum over the members of the named axes.
    case pmax(axes: [String])
    /// Minimum over the members of the named axes.
    case pmin(axes: [String])
    /// Every member's operand along `axis`: stacked as a new axis of the axes'
    /// size, or concatenated along an existing one when `tiled`.
    case allGather(axes: [String], axis: Int, tiled: Bool)
    /// The sum over members, scattered along `scatterDimension`: member `i` gets
    /// block `i` (that dimension removed, or divided by the size when `tiled`).
    case psumScatter(axes: [String], scatterDimension: Int, tiled: Bool)
    /// Each member sends its operand along (source, destination) pairs; members
    /// that receive nothing get zeros.
    case ppermute(axes: [String], pairs: [PermutationPair])
    /// Block `j` of `splitAxis` goes to member `j`; member `i`'s block arrives at
    /// position `i` of `concatAxis` (JAX's `all_to_all`).
    case allToAll(axes: [String], splitAxis: Int, concatAxis: Int, tiled: Bool)
    /// The member's index along the named axes (int32, no operands).
    case axisIndex(axes: [String])
    /// Member `source`'s operand on every member.
    case pbroadcast(axes: [String], source: Int)

    /// Number of results for `inputCount` operands.
    public func outputCount(inputCount: Int) -> Int {
        switch self {
        case .sort: inputCount
        case .threefry2x32: 2
        case .call(let j, _), .customJVP(let j, _), .customVJP(let j, _), .checkpoint(let j): j.outputs.count
        case .cond(let branches): branches[0].outputs.count
        case .whileLoop(_, let body, _, _): body.outputs.count
        case .scan(let body, _, _, _, _): body.outputs.count
        case .stopGradient: 1
        case .debugCallback: 0
        case .customVJPLinear(_, _, let outs): outs.count
        case .psum, .pmax, .pmin, .allGather, .psumScatter, .ppermute, .allToAll, .axisIndex, .pbroadcast: 1
        case .unary, .binary, .compare, .select, .clamp, .fma, .convert, .bitcast, .reduce, .argReduce,
            .broadcastInDim, .reshape, .transpose, .reverse, .slice, .dynamicSlice, .dynamicUpdateSlice,
            .gather, .scatter, .concatenate, .pad, .iota, .dotGeneral, .convolution, .cumsum,
            .reduceWindow, .selectAndScatterAdd, .selectAndGatherAdd:
            1
        }
    }

    /// JAX's name for the primitive, as printed in jaxprs.
    public var name: String {
        switch self {
        case .unary(let op): op.rawValue
        case .binary(let op): op.rawValue
        case .compare(let op): op.rawValue
        case .select: "select_n"
        case .clamp: "clamp"
        case .fma: "fma"
        case .convert: "convert_element_type"
        case .bitcast: "bitcast_convert_type"
        case .reduce(let op, _): "reduce_\(op.rawValue)"
        case .argReduce(let op, _): op.rawValue
        case .broadcastInDim: "broadcast_in_dim"
        case .reshape: "reshape"
        case .transpose: "transpose"
        case .reverse: "rev"
        case .slice: "slice"
        case .dynamicSlice: "dynamic_slice"
        case .dynamicUpdateSlice: "dynamic_update_slice"
        case .gather: "gather"
        case .scatter(let op, _, _): op == .replace ? "scatter" : "scatter-\(op.rawValue)"
        case .concatenate: "concatenate"
        case .pad: "pad"
        case .iota: "iota"
        case .dotGeneral: "dot_general"
        case .convolution: "conv_general_dilated"
        case .reduceWindow(let op, _): "reduce_window_\(op.rawValue)"
        case .selectAndScatterAdd: "select_and_scatter_add"
        case .selectAndGatherAdd: "select_and_gather_add"
        case .cumsum: "cumsum"
        case .sort: "sort"
        case .threefry2x32: "threefry2x32"
        case .stopGradient: "stop_gradient"
        case .debugCallback: "debug_callback"
        case .call: "pjit"
        case .cond: "cond"
        case .whileLoop: "while"
        case .scan: "scan"
        case .customJVP: "custom_jvp_call"
        case .customVJP: "custom_vjp_call"
        case .checkpoint: "checkpoint"
        case .customVJPLinear: "custom_lin"
        case .psum: "psum"
        case .pmax: "pmax"
        case .pmin: "pmin"
        case .allGather: "all_gather"
        case .psumScatter: "reduce_scatter"
        case .ppermute: "ppermute"
        case .allToAll: "all_to_all"
        case .axisIndex: "axis_index"
        case .pbroadcast: "pbroadcast"
        }
    }

    /// The axis names of a collective; nil for every other primitive.
    public var collectiveAxes: [String]? {
        switch self {
        case .psum(let axes), .pmax(let axes), .pmin(let axes), .allGather(let axes, _, _),
            .psumScatter(let axes, _, _), .ppermute(let axes, _), .allToAll(let axes, _, _, _),
            .axisIndex(let axes), .pbroadcast(let axes, _):
            axes
        case .unary, .binary, .compare, .select, .clamp, .fma, .convert, .bitcast, .reduce, .argReduce,
            .broadcastInDim, .reshape, .transpose, .reverse, .slice, .dynamicSlice, .dynamicUpdateSlice,
            .gather, .scatter, .concatenate, .pad, .iota, .dotGeneral, .convolution, .cumsum, .sort,
            .reduceWindow, .selectAndScatterAdd, .selectAndGatherAdd,
            .threefry2x32, .stopGradient, .call, .cond, .whileLoop, .scan, .customJVP, .customVJP,
            .checkpoint, .customVJPLinear, .reduceWindow, .selectAndScatterAdd, .selectAndGatherAdd, .debugCallback:
            nil
        }
    }
}

/// An elementwise operation of one operand: the cases of ``Primitive/unary(_:)``.
/// The raw values are the names of `jax.lax`'s functions, which jaxprs print.
public enum UnaryOp: String, Hashable, Sendable, CaseIterable {
    /// Elementwise float math, each named after its `jax.lax` function: `neg` (−x),
    /// `exp`, `log` (natural), `log1p` (log(1 + x), exact near 0), `expm1` (eˣ − 1,
    /// exact near 0), `sin`, `cos`, `tan`, `tanh`, `logistic` (1 / (1 + e⁻ˣ)), `sqrt`,
    /// `rsqrt` (1 / √x), `abs`, `sign` (−1, 0 or 1; NaN stays NaN). `neg`, `abs` and
    /// `sign` also apply to integers.
    case neg, exp, log, log1p, expm1, sin, cos, tan, tanh, logistic, sqrt, rsqrt, abs, sign
    /// Rounds down (`floor`) or up (`ceil`) to an integral float.
    case floor, ceil
    /// Round half to even, as `numpy.round`.
    case round
    /// The error function (`lax.erf`).
    case erf
    /// The complementary error function 1 − erf(x) (`lax.erfc`), accurate where erf is near 1.
    case erfc
    /// The inverse error function on (−1, 1) (`lax.erf_inv`).
    case erfInv = "erf_inv"
    /// True where the element is neither infinite nor NaN (`lax.is_finite`); gives bool.
    case isFinite = "is_finite"
    /// Logical not for bool, bitwise not for integers.
    case not
}

/// An elementwise operation of two operands of equal shape and dtype: the cases of
/// ``Primitive/binary(_:)``. The raw values are `jax.lax`'s names.
public enum BinaryOp: String, Hashable, Sendable, CaseIterable {
    /// Elementwise arithmetic, named after `jax.lax`: `add`, `sub`, `mul`, `div`
    /// (integer division rounds toward zero, as C and XLA do), `rem` (remainder with
    /// the dividend's sign, like C's `fmod`), `pow`, `max` and `min` (NaN propagates),
    /// `atan2(y, x)` (the angle of (x, y)).
    case add, sub, mul, div, rem, pow, max, min, atan2
    /// Logical for bool, bitwise for integers.
    case and, or, xor
    /// Shifts integer bits left; shifts of the bit width or more give 0.
    case shiftLeft = "shift_left"
    /// Shifts integer bits right, filling with zeros; shifts of the bit width or more give 0.
    case shiftRightLogical = "shift_right_logical"
}

/// An elementwise comparison giving bool: the cases of ``Primitive/compare(_:)``.
public enum CompareOp: String, Hashable, Sendable, CaseIterable {
    /// Equal, not equal, less, less or equal, greater, greater or equal (`lax.eq`,
    /// `lax.ne`, `lax.lt`, `lax.le`, `lax.gt`, `lax.ge`); comparisons with NaN are
    /// false except `ne`, as in IEEE 754.
    case eq, ne, lt, le, gt, ge
}

/// The monoid of ``Primitive/reduce(_:axes:)``.
public enum ReduceOp: String, Hashable, Sendable, CaseIterable {
    /// Sum, maximum, minimum or product over the reduced axes (`lax.reduce_sum`,
    /// `reduce_max`, `reduce_min`, `reduce_prod`); an empty reduction gives the identity
    /// (0, −∞ or the dtype's minimum, +∞ or its maximum, 1).
    case sum, max, min, prod
    /// Logical all/any over bool.
    case and, or
}

/// Which extremum ``Primitive/argReduce(_:axis:)`` finds.
public enum ArgReduceOp: String, Hashable, Sendable, CaseIterable {
    /// The index of the largest (`argmax`) or smallest (`argmin`) element.
    case argmax, argmin
}

/// Dimension numbers of `dotGeneral`: which dimensions are contracted and which
/// are batch dimensions. Output layout: batch, lhs free, rhs free.
public struct DotDimensionNumbers: Hashable, Sendable {
    /// Dimensions of lhs summed over, paired in order with `rhsContracting`.
    public var lhsContracting: [Int]
    /// Dimensions of rhs summed over, paired with `lhsContracting` (equal sizes).
    public var rhsContracting: [Int]
    /// Batch dimensions of lhs, paired with `rhsBatch`: each pair is iterated in
    /// lockstep and comes first in the output.
    public var lhsBatch: [Int]
    /// Batch dimensions of rhs, paired in order with `lhsBatch` (equal sizes).
    public var rhsBatch: [Int]
    /// Dimension numbers with the given contracting and (by default no) batch dimensions.
    /// Matrix product of `[m, k]` and `[k, n]`: `DotDimensionNumbers(lhsContracting: [1], rhsContracting: [0])`.
    public init(lhsContracting: [Int], rhsContracting: [Int], lhsBatch: [Int] = [], rhsBatch: [Int] = []) {
        self.lhsContracting = lhsContracting
        self.rhsContracting = rhsContracting
        self.lhsBatch = lhsBatch
        self.rhsBatch = rhsBatch
    }
}

/// Parameters of `convolution` (XLA's conv_general_dilated). Strides, padding and
/// dilations are per spatial axis in the logical order of `dimensionNumbers`.
public struct ConvolutionParameters: Hashable, Sendable {
    /// The step of the window over each spatial dimension of the (padded, dilated) input.
    public var windowStrides: [Int]
    /// (low, high) padding per spatial dimension.
    public var padding: [[Int]]
    /// Input (lhs) dilation per spatial dimension: `d − 1` zeros inserted between input
    /// elements, as a transposed convolution needs; 1 for none.
    public var lhsDilation: [Int]
    /// Kernel (rhs) dilation per spatial dimension: kernel taps spaced `d` apart
    /// (atrous convolution); 1 for none.
    public var rhsDilation: [Int]
    /// Number of groups the input channels are split into, each convolved with its own
    /// share of output channels; equal to the input channels for a depthwise convolution.
    public var featureGroupCount: Int
    /// Number of groups the lhs batch is split into (XLA's `batch_group_count`):
    /// output feature group `g` (of `batchGroupCount` equal groups) is computed
    /// from lhs batch group `g` alone, and the output batch is the lhs batch
    /// divided by it. The kernel gradient of a grouped convolution is one.
    /// At most one of the two group counts exceeds 1.
    public var batchGroupCount: Int
    /// Which operand dimensions are batch, features and spatial axes.
    public var dimensionNumbers: ConvolutionDimensionNumbers
    /// Parameters with the given strides, padding and dilations; one group and
    /// channels-first layouts (`NC…`, `OI…`, `NC…`) by default.
    public init(
        windowStrides: [Int], padding: [[Int]], lhsDilation: [Int], rhsDilation: [Int],
        featureGroupCount: Int = 1, batchGroupCount: Int = 1, dimensionNumbers: ConvolutionDimensionNumbers? = nil
    ) {
        self.windowStrides = windowStrides
        self.padding = padding
        self.lhsDilation = lhsDilation
        self.rhsDilation = rhsDilation
        self.featureGroupCount = featureGroupCount
        self.batchGroupCount = batchGroupCount
        self.dimensionNumbers = dimensionNumbers ?? .channelsFirst(spatialRank: windowStrides.count)
    }
}

/// How gather and scatter treat windows that do not fit in the operand (JAX's
/// `GatherScatterMode`).
public enum GatherScatterMode: String, Hashable, Sendable, CaseIterable {
    /// Start indices are clamped so the whole window fits.
    case clip
    /// A gather reads the fill value for the whole window; a scatter drops it.
    case fillOrDrop = "fill_or_drop"
    /// The caller promises every window fits; outside, gathers clamp and
    /// scatters drop (XLA CPU's behaviour), and gradients are undefined.
    case promiseInBounds = "promise_in_bounds"
}

/// How a scatter combines an update with the operand element it lands on.
public enum ScatterOp: String, Hashable, Sendable, CaseIterable {
    /// The update replaces the element (the last of repeated indices wins).
    case replace
    /// The update is added to, multiplied with, or combined by minimum or maximum
    /// with the element it lands on.
    case add, mul, min, max
}

/// The monoid of a `reduceWindow`.
public enum ReduceWindowOp: String, Hashable, Sendable, CaseIterable {
    /// Each window's sum, maximum or minimum (sum pooling, max pooling, min pooling).
    case sum, max, min
}

/// Window geometry of `reduceWindow` and its derivatives (XLA's ReduceWindow):
/// one entry per operand dimension. The operand is first dilated (`baseDilation
/// - 1` holes between elements), then padded (low, high; negative crops); a
/// window of `windowDimensions` elements spaced `windowDilation` apart moves by
/// `windowStrides`. Output size per dimension: ⌊(padded − dilated window) /
/// stride⌋ + 1, or 0 when the window does not fit.
public struct WindowParameters: Hashable, Sendable {
    /// The window's size along each operand dimension.
    public var windowDimensions: [Int]
    /// How far the window moves along each dimension between output elements.
    public var windowStrides: [Int]
    /// (low, high) padding per dimension.
    public var padding: [[Int]]
    /// Operand dilation per dimension: `d − 1` holes (holding the identity) between
    /// elements; 1 for none.
    public var baseDilation: [Int]
    /// Window dilation per dimension: the window's elements are `d` apart; 1 for none.
    public var windowDilation: [Int]
    /// Window geometry with one entry per operand dimension in each array.
    public init(
        windowDimensions: [Int], windowStrides: [Int], padding: [[Int]], baseDilation: [Int], windowDilation: [Int]
    ) {
        self.windowDimensions = windowDimensions
        self.windowStrides = windowStrides
        self.padding = padding
        self.baseDilation = baseDilation
        self.windowDilation = windowDilation
    }

    /// The same windows over an operand with a new dimension at `axis` that
    /// windows do not touch (size 1, stride 1): the batching rule's form.
    public func insertingTrivialDimension(at axis: Int) -> WindowParameters {
        var q = self
        q.windowDimensions.insert(1, at: axis)
        q.windowStrides.insert(1, at: axis)
        q.padding.insert([0, 0], at: axis)
        q.baseDilation.insert(1, at: axis)
        q.windowDilation.insert(1, at: axis)
        return q
    }
}

/// XLA gather dimension numbers; the index vector is the last dimension of the
/// start indices.
public struct GatherDimensionNumbers: Hashable, Sendable {
    /// Output dimensions that hold each slice's dimensions (those not collapsed), in
    /// order; the other output dimensions are the start indices' batch dimensions.
    public var offsetDims: [Int]
    /// Operand dimensions whose slice size is 1 and that the output drops.
    public var collapsedSliceDims: [Int]
    /// For each entry of the index vector, the operand dimension it gives the start of.
    public var startIndexMap: [Int]
    /// Operand dimensions that pair with `startIndicesBatchingDims`: slice `i` reads
    /// from operand batch element `i` (size-1 slices, dropped from the output).
    public var operandBatchingDims: [Int]
    /// Dimensions of the start indices that pair with `operandBatchingDims`.
    public var startIndicesBatchingDims: [Int]
    /// Dimension numbers of a gather; the batching dimensions default to none.
    /// Taking rows of a `[n, d]` table by a `[k, 1]` index array, with slice sizes
    /// `[1, d]`: `GatherDimensionNumbers(offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0])`.
    public init(
        offsetDims: [Int], collapsedSliceDims: [Int], startIndexMap: [Int],
        operandBatchingDims: [Int] = [], startIndicesBatchingDims: [Int] = []
    ) {
        self.offsetDims = offsetDims
        self.collapsedSliceDims = collapsedSliceDims
        self.startIndexMap = startIndexMap
        self.operandBatchingDims = operandBatchingDims
        self.startIndicesBatchingDims = startIndicesBatchingDims
    }
}

/// XLA scatter dimension numbers; the index vector is the last dimension of the
/// indices.
public struct ScatterDimensionNumbers: Hashable, Sendable {
    /// Dimensions of the updates that span each update window (the others are the
    /// indices' batch dimensions).
    public var updateWindowDims: [Int]
    /// Operand dimensions of window size 1 that the update windows do not have.
    public var insertedWindowDims: [Int]
    /// For each entry of the index vector, the operand dimension it gives the start of.
    public var scatterDimsToOperandDims: [Int]
    /// Operand dimensions that pair with `scatterIndicesBatchingDims`: update `i`
    /// lands in operand batch element `i`.
    public var operandBatchingDims: [Int]
    /// Dimensions of the scatter indices that pair with `operandBatchingDims`.
    public var scatterIndicesBatchingDims: [Int]
    /// Dimension numbers of a scatter; the batching dimensions default to none.
    public init(
        updateWindowDims: [Int], insertedWindowDims: [Int], scatterDimsToOperandDims: [Int],
        operandBatchingDims: [Int] = [], scatterIndicesBatchingDims: [Int] = []
    ) {
        self.updateWindowDims = updateWindowDims
        self.insertedWindowDims = insertedWindowDims
        self.scatterDimsToOperandDims = scatterDimsToOperandDims
        self.operandBatchingDims = operandBatchingDims
        self.scatterIndicesBatchingDims = scatterIndicesBatchingDims
    }
}

/// User-supplied derivative rules of `customJVP` / `customVJP`, compared by identity.
///
/// For custom JVP, `jvp(primals, tangents)` returns `(outputs, outputTangents)`.
/// For custom VJP, `forward(primals)` returns `(outputs, residuals)` and
/// `backward(residuals, cotangents)` returns the input cotangents.
public final class CustomRule: Hashable, @unchecked Sendable {
    /// The custom JVP rule, `(primals, tangents) -> (outputs, outputTangents)`; nil for a custom VJP.
    public let jvp: (([Tensor], [Tensor]) -> ([Tensor], [Tensor]))?
    /// The custom VJP's forward pass, `primals -> (outputs, residuals)`; nil for a custom JVP.
    public let forward: (([Tensor]) -> ([Tensor], [Tensor]))?
    /// The custom VJP's backward pass, `(residuals, cotangents) -> input cotangents`; nil for a custom JVP.
    public let backward: (([Tensor], [Tensor]) -> [Tensor])?
    /// Leading operands of the primitive that are values the function
    /// captured (closure constants): the rules take them (and ignore them),
    /// but differentiating with respect to them is an error, as in JAX.
    public let constCount: Int

    /// A custom JVP rule (`jax.custom_jvp`'s `defjvp`).
    /// - Parameters:
    ///   - jvp: Maps primals and their tangents to the outputs and the output tangents.
    ///   - constCount: How many leading operands are captured constants.
    public init(jvp: @escaping ([Tensor], [Tensor]) -> ([Tensor], [Tensor]), constCount: Int = 0) {
        self.jvp = jvp
        self.forward = nil
        self.backward = nil
        self.constCount = constCount
    }

    /// A custom VJP rule (`jax.custom_vjp`'s `defvjp`).
    /// - Parameters:
    ///   - forward: Maps primals to the outputs and the residuals the backward pass needs.
    ///   - backward: Maps the residuals and output cotangents to the input cotangents.
    ///   - constCount: How many leading operands are captured constants.
    public init(
        forward: @escaping ([Tensor]) -> ([Tensor], [Tensor]), backward: @escaping ([Tensor], [Tensor]) -> [Tensor],
        constCount: Int = 0
    ) {
        self.jvp = nil
        self.forward = forward
        self.backward = backward
        self.constCount = constCount
    }

    /// Identity: two rules are equal when they are the same object.
    public static func == (a: CustomRule, b: CustomRule) -> Bool { a === b }
    /// Hashes the object's identity (as `==` compares it).
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }
}

/// A host function `debugCallback` runs with its operands' runtime values,
/// compared by identity (each call site is its own).
public final class DebugCallback: Hashable, @unchecked Sendable, CustomStringConvertible {
    /// Called with the operands' concrete values each time the program runs.
    public let callback: ([Tensor]) -> Void
    /// What the jaxpr prints as the primitive's parameter (the format string of `debugPrint`).
    public let label: String

    /// A callback shown as `label` in jaxprs.
    public init(label: String, _ callback: @escaping ([Tensor]) -> Void) {
        self.label = label
        self.callback = callback
    }

    /// The label, quoted.
    public var description: String { "'\(label)'" }
    /// Identity: two callbacks are equal when they are the same object.
    public static func == (a: DebugCallback, b: DebugCallback) -> Bool { a === b }
    /// Hashes the object's identity (as `==` compares it).
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }
}

extension Primitive {
    /// Whether the primitive (or a jaxpr it holds) has an effect, so dead-code
    /// elimination keeps it and constant folding does not run it early.
    public var hasEffects: Bool {
        switch self {
        case .debugCallback: return true
        case .call(let j, _), .customJVP(let j, _), .customVJP(let j, _), .checkpoint(let j): return j.hasEffects
        case .cond(let branches): return branches.contains(where: \.hasEffects)
        case .whileLoop(let c, let b, _, _): return c.hasEffects || b.hasEffects
        case .scan(let b, _, _, _, _): return b.hasEffects
        default: return false
        }
    }
}

extension Jaxpr {
    /// Whether an equation of the jaxpr has an effect (``Primitive/hasEffects``).
    public var hasEffects: Bool { equations.contains { $0.primitive.hasEffects } }
}
