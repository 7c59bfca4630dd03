import Testing
import FlockTestSupport
@testable import FlockCore

/// Absurd shapes and sizes: every one is a catchable error naming the
/// operation and the shape (numpy's rule decides what is too large: the
/// non-zero dimensions times the item size must fit in 64 bits), never an
/// overflow trap, and the process goes on afterwards.
@Suite struct SizeTests {
    static let huge = 1 << 40
    static let cases: [(String, [String], @Sendable () -> Void)] = [
        ("zeros 2^40 x 2^40", ["zeros: shape [1099511627776, 1099511627776] is too large", "float32, 4 per element"],
         { _ = zeros([huge, huge]) }),
        ("ones 2^62", ["ones: shape [4611686018427387904] is too large"], { _ = ones([1 << 62]) }),
        ("full 2^62", ["full: shape [4611686018427387904] is too large"], { _ = full([1 << 62], 2.5) }),
        ("full 2^62 of a tensor", ["broadcast_in_dim: shape [4611686018427387904] is too large", "int32"],
         { _ = full([1 << 62], Tensor(Int32(2))) }),
        ("zeros (0, 2^63-1)", ["zeros: shape [0, 9223372036854775807] is too large"], { _ = zeros([0, Int.max]) }),
        ("zeros (2^62, 0)", ["zeros: shape [4611686018427387904, 0] is too large"], { _ = zeros([1 << 62, 0]) }),
        ("zeros negative", ["zeros: negative dimensions are not allowed, got shape [2, -3]"], { _ = zeros([2, -3]) }),
        ("broadcast", ["broadcast_in_dim: shape [1099511627776, 1099511627776] is too large"],
         { _ = Tensor(Float(1)).broadcast(to: [huge, huge]) }),
        ("Random.normal", ["uniform: at most 2^31 - 1 random values per call, got shape [1099511627776, 1099511627776]"],
         { _ = Random.normal(PRNGKey(0), shape: [huge, huge]) }),
        ("Random.uniform", ["uniform", "at most 2^31 - 1 random values"],
         { _ = Random.uniform(PRNGKey(0), shape: [1 << 62, 1 << 62]) }),
        ("Random.bits (0, 2^63-1)", ["bits: at most 2^31 - 1 random values per call, got shape [0, 9223372036854775807]"],
         { _ = Random.bits(PRNGKey(0), shape: [0, Int.max]) }),
        ("reshape", ["cannot reshape array of shape [6] (size 6) into shape [1099511627776, 1099511627776]"],
         { _ = zeros([6]).reshaped([huge, huge]) }),
        ("reshape -1", ["cannot reshape array of shape [6] (size 6) into shape [-1, 4611686018427387904, 4]"],
         { _ = zeros([6]).reshaped([-1, 1 << 62, 4]) }),
        ("concatenate sum", ["concatenate", "concatenated size along axis 1", "overflows a 64-bit integer"],
         { let z = zeros([0, 1 << 61], dtype: .bool); _ = concatenate([z, z, z, z], axis: 1) }),
        ("concatenate bytes", ["concatenate: shape [0, 3458764513820540928] is too large"],
         { let z = zeros([0, 1 << 60]); _ = concatenate([z, z, z], axis: 1) }),
        ("pad", ["pad: shape [2, 4611686018427387907] is too large"],
         { _ = pad(zeros([2, 3]), [(0, 0), (1 << 62, 0)]) }),
        ("pad overflow", ["pad", "padded size of dimension 0", "overflows a 64-bit integer"],
         { _ = pad(zeros([3]), [(Int.max - 1, 0)]) }),
        ("interior pad", ["pad", "overflows a 64-bit integer"],
         { _ = bind1(.pad(low: [0], high: [0], interior: [Int.max / 2]), zeros([3]), Tensor(Float(0))) }),
        ("matmul", ["dot_general: shape [1099511627776, 1099511627776] is too large"],
         { _ = matmul(zeros([huge, 0]), zeros([0, huge])) }),
        ("conv dilation", ["overflows a 64-bit integer", "spatial dimension 0"],
         { _ = convolution(zeros([1, 1, 3]), zeros([1, 1, 1]), lhsDilation: [Int.max / 2 + 1]) }),
        ("reduceWindow dilation", ["overflows a 64-bit integer", "dimension 0 of operand [3]"],
         { _ = reduceWindow(zeros([3]), .sum, windowDimensions: [1], baseDilation: [Int.max / 2 + 1]) }),
        ("arange", ["iota: shape [9223372036854775807] is too large"], { _ = arange(Int.max) }),
        ("eye", ["iota: shape [1099511627776, 1099511627776] is too large"], { _ = eye(huge) }),
        ("Tensor.init", ["Tensor.init: 3 values cannot have shape [4611686018427387904, 4, 0]"],
         { _ = Tensor([1, 2, 3] as [Float], shape: [1 << 62, 4, 0]) }),
    ]

    @Test(arguments: cases.indices)
    func absurdShapeIsACatchableError(_ i: Int) throws {
        let (name, fragments, body) = Self.cases[i]
        expectErrorMentions(fragments, name) { body() }
        // The process goes on.
        #expect(try catchingErrors { (ones([2]) + 1).toArray(Float.self) } == [2, 2])
    }

    /// A valid slice whose size arithmetic used to overflow (a huge stride).
    @Test func hugeStrideSlice() throws {
        let y = try catchingErrors { bind1(.slice(start: [0], limit: [3], strides: [Int.max]), Tensor([1, 2, 3] as [Float])) }
        #expect(y.shape == [1] && y.toArray(Float.self) == [1])
    }

    /// numpy's rule for what is too large, on the edges.
    @Test(arguments: [
        ([Int](), 4, 1 as Int?), ([0], 4, 0), ([3, 0, 5], 8, 0), ([Int.max], 1, Int.max), ([Int.max], 2, nil),
        ([Int.max / 4], 4, Int.max / 4), ([Int.max / 4 + 1], 4, nil), ([0, Int.max], 4, nil), ([1 << 31, 1 << 31], 1, 1 << 62),
        ([1 << 32, 1 << 32], 1, nil), ([-1], 1, nil), ([2, -1, 0], 1, nil),
    ])
    func elementCountFollowsNumpy(_ shape: [Int], _ itemSize: Int, _ expected: Int?) {
        #expect(checkedElementCount(shape, itemSize: itemSize) == expected)
    }

    /// An array larger than this machine's memory is an out-of-memory error
    /// naming its size (256 GiB of float32 here, on a machine that must have
    /// less), from creation, from any primitive and from a jitted plan.
    @Test func allocationLargerThanMemoryIsAnError() throws {
        #expect(systemMemoryBytes < 1 << 38, "this test needs a machine with less than 256 GiB of memory and swap")
        let n = 1 << 36
        expectErrorMentions(
            // (Not the limit's wording: a concurrent test may set a configured limit meanwhile.)
            ["ones: out of memory (RESOURCE_EXHAUSTED): cannot allocate 274877906944 bytes (256.0 GiB) for f32[68719476736]"],
            "ones") { _ = ones([n]) }
        expectErrorMentions(["broadcast_in_dim: out of memory", "274877906944 bytes"], "broadcast") {
            _ = Tensor(Float(1)).broadcast(to: [n])
        }
        expectErrorMentions(["iota: out of memory", "cannot allocate 549755813888 bytes (512.0 GiB) for f64[68719476736]"], "iota") {
            _ = arange(Double(0), Double(n), dtype: .float64)
        }
        #expect(try catchingErrors { ones([3]).sum().item() } == 3)
    }

    /// `maxAllocationBytes` makes the limit deterministic (JAX's
    /// `RESOURCE_EXHAUSTED`): just above it is an error, at it is not.
    @Test func configuredLimitIsEnforced() throws {
        let saved = Configuration.maxAllocationBytes
        defer { Configuration.maxAllocationBytes = saved }
        // A limit no other test reaches (the suites run in parallel).
        Configuration.maxAllocationBytes = (1 << 30) + 4096
        let over = (1 << 28) + 1025  // float32: 4100 bytes over 1 GiB
        expectErrorMentions(
            ["zeros: out of memory (RESOURCE_EXHAUSTED): cannot allocate 1073745924 bytes (1.0 GiB) for f32[268436481]",
             "the limit is 1073745920 bytes", "Configuration.maxAllocationBytes (FLOCK_MAX_ALLOCATION_BYTES)"], "zeros") {
            _ = zeros([over])
        }
        expectErrorMentions(["iota: out of memory", "1073745924 bytes"], "iota") { _ = arange(over) }
        try Configuration.update("FLOCK_MAX_ALLOCATION_BYTES", "\((1 << 30) + 8192)")
        #expect(Configuration.maxAllocationBytes == (1 << 30) + 8192)
        expectFlockError("not a valid value for maxAllocationBytes") { try Configuration.update("maxAllocationBytes", "-1") }
        Configuration.maxAllocationBytes = (1 << 30) + 4096
        #expect(try catchingErrors { zeros([1024]).shape } == [1024])
    }

    /// Kernels' working memory that grows with the shapes is checked like
    /// results: more than the machine's memory is the catchable out-of-memory
    /// error (this machine has less than 4 EiB), and an empty array whose
    /// sorted dimension is huge sorts nothing (it used to allocate an index
    /// array of 2^40 Ints and die; numpy sorts such an array to itself).
    @Test func kernelWorkingMemoryIsChecked() throws {
        #expect(systemMemoryBytes < 1 << 62)
        let error = #expect(throws: FlockError.self) { try checkScratchBytes(1 << 62, operation: "sort") }
        #expect(error?.message.contains(
            "sort: out of memory (RESOURCE_EXHAUSTED): cannot allocate 4611686018427387904 bytes (4.0 EiB) of working memory") == true,
            "\(error?.message ?? "no error")")
        #expect(throws: FlockError.self) { try checkScratchBytes(Int.max, operation: "cumsum") }
        try checkScratchBytes(1 << 20, operation: "sort")  // a MiB is fine
        for axis in [0, 1] {
            let empty = zeros([Self.huge, 0])
            let sorted = try catchingErrors { sort(empty, axis: axis) }
            #expect(sorted.shape == [Self.huge, 0])
            let order = try catchingErrors { argsort(empty, axis: axis) }
            #expect(order.shape == [Self.huge, 0])
        }
        #expect(try catchingErrors { sort(Tensor([Float(3), 1, 2])).toArray(Float.self) } == [1, 2, 3])
    }
}
