import Flock

// Arrays: shapes, dtypes, axes and arguments of the numpy-like API.
extension BadInput {
    static let core: [BadInput] = [
        BadInput("shapes", "add arrays that do not broadcast", "add: incompatible shapes for broadcasting: [2, 3] and [4, 3]") {
            _ = iota([2, 3]) + iota([4, 3])
        },
        BadInput("shapes", "multiply arrays that do not broadcast", "mul: incompatible shapes for broadcasting") { _ = iota([3]) * iota([4]) },
        BadInput("shapes", "compare arrays that do not broadcast", "incompatible shapes for broadcasting") { _ = iota([2]) .< iota([3]) },
        BadInput("shapes", "maximum of arrays that do not broadcast", "incompatible shapes for broadcasting") { _ = maximum(iota([2]), iota([5])) },
        BadInput("shapes", "where with a condition of another shape", "where: incompatible shapes for broadcasting") {
            _ = `where`(Tensor([true, false, true]), iota([2]), iota([2]))
        },
        BadInput("shapes", "matmul with contracting dimensions that differ", "matmul: contracting dimensions differ: lhs [4, 3] dim 1 = 3, rhs [5, 2] dim 0 = 5") {
            _ = matmul(iota([4, 3]), iota([5, 2]))
        },
        BadInput("shapes", "matmul of a scalar", "matmul: operands must have rank ≥ 1") { _ = matmul(Tensor(Float(2)), iota([2])) },
        BadInput("shapes", "matmul batch dimensions that do not broadcast", "matmul: batch dimensions of [2, 3, 4] and [5, 4, 2] cannot be broadcast") {
            _ = matmul(iota([2, 3, 4]), iota([5, 4, 2]))
        },
        BadInput("shapes", "dot of vectors of different lengths", "contracting dimensions differ: lhs [3] dim 0 = 3, rhs [4] dim 0 = 4") { _ = dot(iota([3]), iota([4])) },
        BadInput("shapes", "dotGeneral with a contracting dimension out of range", "dot_general") {
            _ = dotGeneral(iota([2, 3]), iota([3, 2]), DotDimensionNumbers(lhsContracting: [2], rhsContracting: [0]))
        },
        BadInput("shapes", "dotGeneral contracting sizes that differ", "dot_general") {
            _ = dotGeneral(iota([2, 3]), iota([4, 2]), DotDimensionNumbers(lhsContracting: [1], rhsContracting: [0]))
        },
        BadInput("shapes", "reshape to a different size", "reshape: cannot reshape array of shape [2, 3] (size 6) into shape [4]") {
            _ = iota([2, 3]).reshaped([4])
        },
        BadInput("shapes", "reshape with two inferred dimensions", "reshape") { _ = iota([2, 3]).reshaped([-1, -1]) },
        BadInput("shapes", "broadcast to a smaller shape", "broadcast_to: cannot broadcast shape [3] to [2]") { _ = iota([3]).broadcast(to: [2]) },
        BadInput("shapes", "concatenate arrays of different ranks", "concatenate: all input arrays must have the same, nonzero rank") {
            _ = concatenate([iota([2]), iota([2, 2])])
        },
        BadInput("shapes", "concatenate arrays whose other dimensions differ", "concatenate") {
            _ = concatenate([iota([2, 3]), iota([2, 4])], axis: 0)
        },
        BadInput("shapes", "concatenate nothing", "concatenate: need at least one array to concatenate") { _ = concatenate([]) },
        BadInput("shapes", "stack arrays of different shapes", "stack: all input arrays must have the same shape") {
            _ = stack([iota([2]), iota([3])])
        },
        BadInput("shapes", "split into sections that do not divide the axis", "split: array split does not result in an equal division") {
            _ = split(iota([5]), sections: 2)
        },
        BadInput("shapes", "pad with the wrong number of pairs", "pad: expected 2 non-negative (before, after) pairs") {
            _ = pad(iota([2, 2]), [(1, 1)])
        },
        BadInput("shapes", "pad with a negative width", "pad: expected 1 non-negative") { _ = pad(iota([2]), [(-1, 0)]) },
        BadInput("shapes", "squeeze an axis whose size is not one", "squeeze: cannot select an axis to squeeze out which has size not equal to one") {
            _ = iota([2, 3]).squeezed([0])
        },
        BadInput("shapes", "transpose with a permutation of the wrong length", "transpose: axis 2 is out of bounds for array of dimension 2") {
            _ = iota([2, 3]).transposed([1, 0, 2])
        },
        BadInput("shapes", "transpose with a repeated axis", "transpose") { _ = iota([2, 3]).transposed([0, 0]) },
        BadInput("shapes", "Tensor from values that do not fill the shape", "Tensor.init: 3 values cannot have shape [2, 2]") {
            _ = Tensor([1, 2, 3] as [Float], shape: [2, 2])
        },
        BadInput("shapes", "Tensor from ragged rows", "Tensor.init: ragged nested array") { _ = Tensor([[1, 2], [3]] as [[Float]]) },
        BadInput("shapes", "item of an array with several elements", "item: expected a tensor with one element, got shape [3]") {
            _ = iota([3]).item()
        },
        BadInput("shapes", "full with a negative dimension", "full: negative dimensions are not allowed, got shape [-2]") { _ = full([-2], 1.0) },
        BadInput("shapes", "zeros with a negative dimension", "negative dimensions are not allowed") { _ = zeros([3, -1]) },
        BadInput("shapes", "arange with a zero step", "arange: step must not be zero") { _ = arange(0, 5, step: 0) },
        BadInput("shapes", "linspace with a negative count", "linspace: number of samples must be non-negative") { _ = linspace(0, 1, count: -1) },
        BadInput("shapes", "diag of a 3-d array", "diag: input must be 1-D or 2-D") { _ = diag(iota([2, 2, 2])) },
        BadInput("shapes", "tril of a vector", "tril: the input must have at least 2 dimensions") { _ = tril(iota([3])) },
        BadInput("shapes", "meshgrid with an unknown indexing", "meshgrid: indexing must be \"xy\" or \"ij\"") {
            _ = meshgrid([iota([2]), iota([3])], indexing: "yx")
        },
        BadInput("shapes", "meshgrid of a 2-d array", "meshgrid: argument 0 must be 1-D") { _ = meshgrid([iota([2, 2])]) },
        BadInput("shapes", "convolution of operands of different ranks", "conv_general_dilated: lhs (batch, features, spatial…) and rhs (out features, in features, spatial…) must have equal rank") {
            _ = convolution(iota([1, 1, 4]), iota([1, 1, 2, 2]))
        },
        BadInput("shapes", "convolution layout string without a feature dimension", "conv_general_dilated: lhs spec \"NHW\" must contain N and C exactly once") {
            _ = convolution(iota([1, 4, 4, 1]), iota([2, 2, 1, 1]), dimensionNumbers: ConvolutionDimensionNumbers("NHW", "HWIO", "NHWC"))
        },
        BadInput("shapes", "convolution dimension numbers that are not a permutation", "conv_general_dilated: dimension numbers must each be a permutation") {
            let dn = ConvolutionDimensionNumbers(lhsSpec: [0, 1, 2, 2], rhsSpec: [0, 1, 2, 3], outSpec: [0, 1, 2, 3])
            _ = convolution(iota([1, 1, 4, 4]), iota([1, 1, 2, 2]), dimensionNumbers: dn)
        },
        BadInput("shapes", "convolution whose input channels differ", "conv_general_dilated") {
            _ = convolution(iota([1, 3, 5, 5]), iota([2, 4, 3, 3]))
        },
        BadInput("shapes", "maxPool over inputs of too small a rank", "maxPool: inputs [4] must have (batch…, 2 window dimensions, features)") {
            _ = maxPool(iota([4]), windowShape: [2, 2])
        },
        BadInput("shapes", "avgPool strides of the wrong length", "avgPool: strides [1] must have one entry per window dimension") {
            _ = avgPool(iota([1, 4, 4, 1]), windowShape: [2, 2], strides: [1])
        },
        BadInput("dtypes", "pow of integers with a negative exponent", "pow: a negative integer exponent (-1) needs a floating-point base") {
            _ = pow(Tensor([2, 3] as [Int32]), -1)
        },
        BadInput("dtypes", "bitwise not of floats", "not") { _ = bitwiseNot(iota([2])) },
        BadInput("dtypes", "shift of floats", "shift_left") { _ = shiftLeft(iota([2]), iota([2])) },
        BadInput("dtypes", "logical and of floats", "and") { _ = iota([2]) .& iota([2]) },
        BadInput("dtypes", "bitcast to a dtype of another width", "bitcast") { _ = iota([2]).bitcast(to: .float64) },
        BadInput("dtypes", "select with a float predicate", "select") { _ = select(iota([2]), iota([2]), iota([2])) },
        BadInput("axes", "sum over an axis out of range", "sum: axis 2 is out of bounds for array of dimension 2") {
            _ = iota([2, 3]).sum(axes: [2])
        },
        BadInput("axes", "sum over a repeated axis", "repeated axis") { _ = iota([2, 3]).sum(axes: [0, 0]) },
        BadInput("axes", "mean over a negative axis out of range", "mean: axis -3 is out of bounds for array of dimension 2") {
            _ = iota([2, 3]).mean(axis: -3)
        },
        BadInput("axes", "argmax over an axis out of range", "axis 1 is out of bounds for array of dimension 1") { _ = iota([3]).argmax(axis: 1) },
        BadInput("axes", "max of an empty array", "zero-size array [0] to reduction operation") { _ = zeros([0]).max() },
        BadInput("axes", "softmax over an axis out of range", "softmax: axis 2 is out of bounds for array of dimension 2") { _ = softmax(iota([2, 2]), axis: 2) },
        BadInput("axes", "logSoftmax over a negative axis out of range", "logSoftmax: axis -3 is out of bounds") { _ = logSoftmax(iota([2, 2]), axis: -3) },
        BadInput("axes", "cumsum over an axis out of range", "axis 3 is out of bounds") { _ = iota([2, 2]).cumsum(axis: 3) },
        BadInput("axes", "sort over an axis out of range", "axis 2 is out of bounds") { _ = sort(iota([3]), axis: 2) },
        BadInput("axes", "expandingDims at an axis out of range", "axis 5 is out of bounds") { _ = iota([3]).expandingDims(5) },
        BadInput("axes", "swappedAxes with an axis out of range", "axis 4 is out of bounds") { _ = iota([2, 3]).swappedAxes(0, 4) },
        BadInput("axes", "concatenate along an axis out of range", "axis 3 is out of bounds") {
            _ = concatenate([iota([2, 2]), iota([2, 2])], axis: 3)
        },
        BadInput("axes", "norm with a repeated axis", "norm: repeated axis") { _ = norm(iota([2, 2]), axes: [1, 1]) },
        BadInput("axes", "matrix norm of an unsupported order", "norm: matrix norm ord") { _ = norm(iota([2, 2]), ord: .p(3), axes: [0, 1]) },
    ]
}
