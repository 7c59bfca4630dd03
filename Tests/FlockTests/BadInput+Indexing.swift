import Flock

// Indices, masks and gathers; random keys and distributions.
extension BadInput {
    static let indexing: [BadInput] = [
        BadInput("indices", "integer index out of bounds", "index: index 3 is out of bounds for axis 0 with size 3 (array shape [3])") {
            _ = iota([3])[3]
        },
        BadInput("indices", "negative index out of bounds", "index: index -4 is out of bounds for axis 0 with size 3") { _ = iota([3])[-4] },
        BadInput("indices", "too many indices", "index: too many indices for array: array is 1-dimensional, but 2 were indexed") {
            _ = iota([3])[0, 0]
        },
        BadInput("indices", "two ellipses", "index: an index can only have a single ellipsis, got 2") {
            _ = iota([2, 2]).index([.remainingAxes, .remainingAxes])
        },
        BadInput("indices", "a slice with step zero", "index: slice step cannot be zero (axis 0)") { _ = iota([4])[.stride(by: 0)] },
        BadInput("indices", "a float index array", "index: indexer must be an integer or bool array, got float32 [2]") {
            _ = iota([4])[iota([2])]
        },
        BadInput("indices", "index arrays that do not broadcast", "index: shape mismatch: indexing arrays could not be broadcast together") {
            _ = iota([3, 3])[Tensor([0, 1] as [Int32]), Tensor([0, 1, 2] as [Int32])]
        },
        BadInput("indices", "a bool mask of the wrong length", "index: boolean index of shape [2] does not match the indexed dimensions [3] (from axis 0) of the array of shape [3]") {
            _ = iota([3])[Tensor([true, false])]
        },
        BadInput("indices", "a 2-d bool mask of the wrong shape", "index: boolean index of shape [2, 2] does not match the indexed dimensions [2, 3] (from axis 0)") {
            _ = iota([2, 3])[Tensor([true, false, true, true], shape: [2, 2])]
        },
        BadInput("indices", "a bool mask inside jit", "boolean indexing") {
            _ = jit { (x: Tensor) in x[x .> 1] }(iota([3]))
        },
        BadInput("indices", "take with float indices", "take: indices must be integers, got float32 [1]") { _ = take(iota([3]), iota([1])) },
        BadInput("indices", "take from an empty axis", "take: cannot take [1] indices from the empty axis 0 of [0]") {
            _ = take(zeros([0]), Tensor([0] as [Int32]), axis: 0)
        },
        BadInput("indices", "take along an axis out of range", "axis 2 is out of bounds") { _ = take(iota([3]), Tensor([0] as [Int32]), axis: 2) },
        BadInput("indices", "at(...).set with values that do not broadcast", "at.set: values of shape [3] cannot be broadcast to the selection's shape [2] (array of shape [4])") {
            _ = iota([4]).at(Tensor([0, 1] as [Int32])).set(iota([3]))
        },
        BadInput("indices", "at(...).get in wrap mode", "index mode wrap is not supported") { _ = iota([4]).at(1).get(mode: .wrap) },
        BadInput("indices", "takeAlongAxis with indices of another rank", "takeAlongAxis") {
            _ = takeAlongAxis(iota([2, 3]), Tensor([0] as [Int32]), axis: 1)
        },
    ]

    static let random: [BadInput] = [
        BadInput("random", "key data of the wrong dtype", "PRNGKey: key data must be uint32 with last dimension 2, got float32 [2]") {
            _ = PRNGKey(data: iota([2]))
        },
        BadInput("random", "a seed tensor of rank 1", "PRNGKey: the seed must be a rank-0 int32 or uint32 tensor") {
            _ = PRNGKey(seed: Tensor([1, 2] as [Int32]))
        },
        BadInput("random", "index a single key", "PRNGKey: cannot index a single key") { _ = Random.key(0)[0] },
        BadInput("random", "index a key array out of bounds", "PRNGKey: index 3 is out of bounds for a key array of shape [2]") {
            _ = Random.split(Random.key(0))[3]
        },
        BadInput("random", "split into a negative number of keys", "shape must have non-negative dimensions") {
            _ = Random.split(Random.key(0), num: -1)
        },
        BadInput("random", "normal of an integer dtype", "normal: dtype must be a float dtype (float32 or float64), got int32") {
            _ = Random.normal(Random.key(0), shape: [2], dtype: .int32)
        },
        BadInput("random", "uniform with a negative dimension", "shape must have non-negative dimensions, got [-1]") {
            _ = Random.uniform(Random.key(0), shape: [-1])
        },
        BadInput("random", "randint with float bounds", "randint: minval and maxval must be integers") {
            _ = Random.randint(Random.key(0), shape: [2], minval: Tensor(Float(0)), maxval: Tensor(Float(5)))
        },
        BadInput("random", "choice without replacement larger than the population", "choice: cannot take a larger sample (size 5) than population (size 3) when replace is false") {
            _ = Random.choice(Random.key(0), 3, shape: [5], replace: false)
        },
        BadInput("random", "choice with probabilities of the wrong length", "choice: p must be a 1-D vector of the population's size 3") {
            _ = Random.choice(Random.key(0), 3, shape: [2], p: Tensor([0.5, 0.5] as [Float]))
        },
        BadInput("random", "choice from a scalar", "choice: a must be an array with at least one dimension") {
            _ = Random.choice(Random.key(0), Tensor(Float(1)), shape: [2])
        },
        BadInput("random", "bernoulli with an integer probability", "bernoulli: probability `p` must have a floating dtype") {
            _ = Random.bernoulli(Random.key(0), p: Tensor(Int32(1)), shape: [2])
        },
        BadInput("random", "categorical with integer logits", "categorical: logits must have a floating dtype") {
            _ = Random.categorical(Random.key(0), logits: Tensor([1, 2] as [Int32]))
        },
        BadInput("random", "categorical with a shape that does not fit the logits", "categorical: shape [3] is not broadcast-compatible") {
            _ = Random.categorical(Random.key(0), logits: iota([2, 4]), shape: [3])
        },
        BadInput("random", "permutation of a negative count", "permutation: n must be non-negative") { _ = Random.permutation(Random.key(0), -2) },
        BadInput("random", "permutation of a scalar", "permutation: x must be at least 1-dimensional") {
            _ = Random.permutation(Random.key(0), Tensor(Float(1)))
        },
        BadInput("random", "foldIn with float data", "foldIn: data must be a rank-0 int32 or uint32 tensor") {
            _ = Random.foldIn(Random.key(0), Tensor(Float(1)))
        },
        BadInput("random", "truncatedNormal bounds that do not broadcast", "truncatedNormal: bounds of shapes [2] and [3] do not broadcast together") {
            _ = Random.truncatedNormal(Random.key(0), lower: iota([2]), upper: iota([3]))
        },
    ]
}
