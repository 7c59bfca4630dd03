#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The members of a group that run the same program and call collectives
/// together (MPI ranks, threads of one process, or both).
///
/// A communicator connects `size` *members*; each member sees its own
/// `rank`. Bind one to an axis name with ``withAxis(_:communicator:_:)`` and
/// collectives over that name (`psum`, `allGather`, …) run among its members.
/// Flock makes every communicator a program uses: ``Distributed`` hands out
/// the processes' (`Distributed.processes`) and the local devices'
/// (`Distributed.localDevices`), and `pmap`/`shardMap` bind their mesh's own.
/// The transport behind them is internal to Flock: a type of your own that
/// adopts this protocol can be bound, but a collective over its axis fails
/// with a ``FlockError`` saying so.
///
/// ```swift
/// let world = Distributed.processes
/// print("rank \(world.rank) of \(world.size)")
/// let total = withAxis("ranks", communicator: world) {
///     psum(Tensor([Float(1)]), axisName: "ranks")      // [world.size] on every rank
/// }
/// ```
public protocol Communicator: AnyObject, Sendable {
    /// Number of members.
    var size: Int { get }
    /// This member's index, in `0..<size`.
    var rank: Int { get }
}

extension Communicator {
    /// Waits until every member has called `barrier`.
    ///
    /// - Throws: ``FlockError`` when the members call collectives
    ///   inconsistently (one calls `barrier`, another something else), when a
    ///   member never arrives (after `FLOCK_COLLECTIVE_TIMEOUT` seconds), or when
    ///   this communicator is not one of Flock's.
    public func barrier() throws {
        guard let transport = self as? any CollectiveTransport else {
            throw FlockError("barrier: called on \(unsupportedCommunicatorText(self))")
        }
        try transport.barrier()
    }
}

/// Why a communicator of a type Flock did not make cannot carry collectives
/// (the end of an error message: "… bound to <this>").
package func unsupportedCommunicatorText(_ c: any Communicator) -> String {
    "a communicator of type \(type(of: c)), which Flock cannot call: only the communicators Flock makes "
        + "(Distributed.processes, Distributed.localDevices, those of pmap and shardMap) carry collectives"
}

/// The transport behind collective primitives: what every communicator Flock
/// makes adopts.
///
/// Collective primitives find the transport bound to their axis name and
/// call it; the semantics live with the primitives, the transport behind this
/// protocol. That is what lets MPI ranks, in-process devices and tests
/// without MPI run the same `psum`. An axis binding holds this existential
/// (cast once, at bind time), so no collective pays a dynamic cast.
///
/// Every member must call the same collectives, with the same shapes and
/// dtypes, in the same order. Implementations check this with a small
/// ``CollectiveSignature`` exchanged before (or with) the payload, so that an
/// inconsistent call is reported as a ``FlockError`` on every member instead
/// of hanging or corrupting memory.
package protocol CollectiveTransport: Communicator {
    /// Performs `operation` with this member's operand `x` and returns this
    /// member's result (see ``CollectiveOperation`` for each one's meaning).
    /// Inconsistent calls across members throw on every member.
    func perform(_ operation: CollectiveOperation, _ x: DenseArray) throws -> DenseArray

    /// ``perform(_:_:)`` for `call`, what the program called (the primitive,
    /// its parameters, the call site): members compare it with the operation.
    /// The default ignores `call`.
    func perform(_ operation: CollectiveOperation, _ x: DenseArray, call: CollectiveCall) throws -> DenseArray

    /// ``perform(_:_:)`` of `.allReduce(op)` that may write the result into
    /// `x`'s buffer, which the caller owns and gives up (jit passes operands
    /// that die at the collective). Returns the result, in `x`'s buffer or not.
    func allReduceInPlace(_ x: DenseArray, _ op: ReduceOp) throws -> DenseArray

    /// ``allReduceInPlace(_:_:)`` for `call` (see ``perform(_:_:call:)``).
    func allReduceInPlace(_ x: DenseArray, _ op: ReduceOp, call: CollectiveCall) throws -> DenseArray

    /// Errors this member caught inside `catchingErrors` while an axis bound
    /// to this communicator was active; collectives carry their count so that
    /// members that may have skipped collectives are reported. By default,
    /// one count shared by every communicator without its own.
    var caughtErrors: CaughtErrors { get }
}

extension CollectiveTransport {
    /// By default, the out-of-place all-reduce.
    package func allReduceInPlace(_ x: DenseArray, _ op: ReduceOp) throws -> DenseArray { try perform(.allReduce(op), x) }

    /// By default, ``perform(_:_:)`` (the call is not compared).
    package func perform(_ operation: CollectiveOperation, _ x: DenseArray, call: CollectiveCall) throws -> DenseArray {
        try perform(operation, x)
    }

    /// By default, the out-of-place all-reduce for `call`.
    package func allReduceInPlace(_ x: DenseArray, _ op: ReduceOp, call: CollectiveCall) throws -> DenseArray {
        try perform(.allReduce(op), x, call: call)
    }

    /// By default, one count shared by all communicators without their own.
    package var caughtErrors: CaughtErrors { sharedCaughtErrors }
}

/// The count of ``CollectiveTransport/caughtErrors`` for communicators without their own.
private let sharedCaughtErrors = CaughtErrors()

/// A collective operation and its parameters. Shapes below are per member.
package enum CollectiveOperation: Sendable {
    /// Elementwise reduction (sum, max, min or prod) of every member's operand;
    /// every member gets the result.
    case allReduce(ReduceOp)
    /// Every member's operand stacked along a new leading axis in rank order:
    /// `shape` → `[size] + shape`.
    case allGather
    /// Operand `[size] + rest`: block `j` of the reduction over members goes to
    /// member `j`. Result `rest`.
    case reduceScatter(ReduceOp)
    /// Operand `[size] + rest`: block `j` goes to member `j`; block `i` of the
    /// result comes from member `i`. Result `[size] + rest`.
    case allToAll
    /// Sends the operand along the (source, destination) pairs; each member is
    /// at most one source and one destination. Members receiving nothing get zeros.
    case permute([PermutationPair])
    /// Member `root`'s operand on every member.
    case broadcast(root: Int)
    /// Waits until every member has arrived (the operand is ignored; pass a scalar).
    case barrier
    /// Reports that this member cannot take part consistently (e.g. its own
    /// local members disagree): the signature exchange still happens, so every
    /// member fails with an error instead of waiting for it.
    case inconsistent

    /// The kind of operation, as a ``CollectiveSignature`` records it.
    package var kind: CollectiveKind {
        switch self {
        case .allReduce: .allReduce
        case .allGather: .allGather
        case .reduceScatter: .reduceScatter
        case .allToAll: .allToAll
        case .permute: .permute
        case .broadcast: .broadcast
        case .barrier: .barrier
        case .inconsistent: .inconsistent
        }
    }

    /// The parameter recorded in signatures.
    package var parameter: UInt32 {
        switch self {
        case .allReduce(let op), .reduceScatter(let op): UInt32(ReduceOp.allCases.firstIndex(of: op)! + 1)
        case .permute(let pairs): permutationHash(pairs)
        case .broadcast(let root): UInt32(truncatingIfNeeded: root + 1)
        case .allGather, .allToAll, .barrier, .inconsistent: 0
        }
    }

    /// The signature of this operation on `x` as a member's `sequence`-th
    /// collective, made for `call`.
    package func signature(_ x: DenseArray, sequence: UInt32, call: CollectiveCall = .unspecified) -> CollectiveSignature {
        CollectiveSignature(sequence: sequence, kind: kind, array: x, parameter: parameter, call: call)
    }

    /// Checks the operand and parameters for a communicator of `size` members
    /// (locally: these depend on nothing another member could see differently).
    package func validate(_ x: DenseArray, size: Int) throws {
        switch self {
        case .allReduce(let op), .reduceScatter(let op):
            try checkCollectiveReduction(op, x.dtype)
        case .permute(let pairs):
            try checkPermutation(pairs, size: size)
        case .broadcast(let root):
            guard (0..<size).contains(root) else {
                throw FlockError("broadcast: root \(root) is out of range for \(size) members")
            }
        case .inconsistent:
            throw FlockError("collective abandoned: the local members of every process called it inconsistently")
        case .allGather, .allToAll, .barrier: break
        }
        switch self {
        case .reduceScatter, .allToAll:
            guard x.rank >= 1, x.shape[0] == size else {
                throw FlockError("\(kind.description): the operand's leading axis must equal the \(size) members, got shape \(x.shape)")
            }
        default: break
        }
    }

    /// The result's shape for an operand of `shape` on `size` members.
    package func resultShape(_ shape: [Int], size: Int) -> [Int] {
        switch self {
        case .allGather: [size] + shape
        case .reduceScatter: Array(shape.dropFirst())
        case .barrier, .inconsistent: []
        case .allReduce, .allToAll, .permute, .broadcast: shape
        }
    }

    /// Member `rank`'s result computed from every member's operand (`payloads`,
    /// in rank order, each of `shape` and `dtype`). Used by transports that
    /// hold all operands in memory.
    package func localResult(_ payloads: [UnsafeRawPointer], shape: [Int], dtype: DType, rank: Int) -> DenseArray {
        let size = payloads.count
        let count = shape.reduce(1, *)
        switch self {
        case .allReduce(let op):
            return combine(payloads, count: count, dtype: dtype, op, shape: shape)
        case .allGather:
            return concatenateBlocks(payloads, shape: [size] + shape, dtype: dtype)
        case .reduceScatter(let op):
            let blockBytes = count / size * dtype.byteSize
            return combine(payloads.map { $0 + rank * blockBytes }, count: count / size, dtype: dtype, op,
                           shape: Array(shape.dropFirst()))
        case .allToAll:
            let blockBytes = count / size * dtype.byteSize
            return concatenateBlocks(payloads.map { $0 + rank * blockBytes }, shape: shape, dtype: dtype)
        case .permute(let pairs):
            guard let pair = pairs.first(where: { $0.destination == rank }) else { return zeroArray(shape: shape, dtype: dtype) }
            return arrayCopy(payloads[pair.source], shape: shape, dtype: dtype)
        case .broadcast(let root):
            return arrayCopy(payloads[root], shape: shape, dtype: dtype)
        case .barrier, .inconsistent:
            return zeroArray(shape: [], dtype: .int32)
        }
    }
}

extension CollectiveTransport {
    /// Elementwise `op` of every member's `x`; every member gets the result.
    package func allReduce(_ x: DenseArray, _ op: ReduceOp, call: CollectiveCall = .unspecified) throws -> DenseArray {
        try perform(.allReduce(op), x, call: call)
    }
    /// Every member's `x` stacked in rank order: `[size] + x.shape`.
    package func allGather(_ x: DenseArray, call: CollectiveCall = .unspecified) throws -> DenseArray {
        try perform(.allGather, x, call: call)
    }
    /// Block `rank` (of the leading axis, which has `size` blocks) of the reduction over members.
    package func reduceScatter(_ x: DenseArray, _ op: ReduceOp, call: CollectiveCall = .unspecified) throws -> DenseArray {
        try perform(.reduceScatter(op), x, call: call)
    }
    /// Block `j` of `x` to member `j`; block `i` of the result from member `i`.
    package func allToAll(_ x: DenseArray, call: CollectiveCall = .unspecified) throws -> DenseArray {
        try perform(.allToAll, x, call: call)
    }
    /// `x` sent along (source, destination) pairs; zeros where nothing arrives.
    package func permute(_ x: DenseArray, pairs: [(source: Int, destination: Int)]) throws -> DenseArray {
        try perform(.permute(pairs.map { .init($0.source, $0.destination) }), x)
    }
    /// Member `root`'s `x` on every member.
    package func broadcast(_ x: DenseArray, root: Int, call: CollectiveCall = .unspecified) throws -> DenseArray {
        try perform(.broadcast(root: root), x, call: call)
    }
    /// Waits until every member has called `barrier`.
    package func barrier() throws { _ = try perform(.barrier, zeroArray(shape: [], dtype: .int32)) }
}

/// Parameter hash of a permutation, for signatures (FNV-1a over the pairs).
package func permutationHash(_ pairs: [PermutationPair]) -> UInt32 {
    var h: UInt32 = 2_166_136_261
    for p in pairs {
        let (s, d) = (p.source, p.destination)
        h = (h ^ UInt32(truncatingIfNeeded: s)) &* 16_777_619
        h = (h ^ UInt32(truncatingIfNeeded: d &+ 0x9E37)) &* 16_777_619
    }
    return h == 0 ? 1 : h
}

/// Checks a permutation's pairs for a communicator of `size` members.
package func checkPermutation(_ pairs: [PermutationPair], size: Int) throws {
    var sources = Set<Int>(), destinations = Set<Int>()
    for p in pairs {
        let (s, d) = (p.source, p.destination)
        guard (0..<size).contains(s), (0..<size).contains(d) else {
            throw FlockError("permutation pair (\(s), \(d)) is out of range for \(size) members")
        }
        guard sources.insert(s).inserted else { throw FlockError("not a permutation: source \(s) appears more than once in \(pairs.map { ($0.source, $0.destination) })") }
        guard destinations.insert(d).inserted else {
            throw FlockError("not a permutation: destination \(d) appears more than once in \(pairs.map { ($0.source, $0.destination) })")
        }
    }
}
