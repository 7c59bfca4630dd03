import Synchronization

/// `size` members that are threads of one process and communicate through
/// memory: local devices, and multi-member tests without MPI.
///
/// ```swift
/// let group = InProcessGroup(size: 4)
/// DispatchQueue.concurrentPerform(iterations: 4) { i in
///     let c = group.members[i]
///     let total = try! c.allReduce(DenseArray([Float(i)], shape: [1]), .sum)   // [6] on every member
/// }
/// ```
package final class InProcessGroup: Sendable {
    /// The number of members.
    package let size: Int
    /// One communicator per member; member `i` must be used by one thread at a time.
    package let members: [InProcessCommunicator]

    /// A group of `size` members. A member that waits longer than `timeout`
    /// seconds for the others fails, and so does every later collective of the group.
    package init(size: Int, timeout: Double = CollectiveTimeout.seconds) {
        precondition(size >= 1, "InProcessGroup: size must be at least 1, got \(size)")
        self.size = size
        let rendezvous = Rendezvous<InProcessCommunicator.Contribution>(size: size, timeout: timeout)
        members = (0..<size).map { InProcessCommunicator(rank: $0, size: size, rendezvous: rendezvous) }
    }
}

/// One member of an ``InProcessGroup``.
package final class InProcessCommunicator: CollectiveTransport {
    struct Contribution: @unchecked Sendable {
        let signature: CollectiveSignature
        let call: CollectiveCall
        // Buffers are immutable once filled, so other members may read them.
        let array: DenseArray
    }

    /// This member's index in the group, 0 ..< `size`.
    package let rank: Int
    /// How many members the group has.
    package let size: Int
    let rendezvous: Rendezvous<Contribution>
    private let sequence = Atomic<UInt32>(0)
    /// The errors members caught inside `catchingErrors` since the last collective.
    package let caughtErrors = CaughtErrors()

    init(rank: Int, size: Int, rendezvous: Rendezvous<Contribution>) {
        self.rank = rank
        self.size = size
        self.rendezvous = rendezvous
    }

    /// Runs `operation` on `x` together with the other members and returns this member's result.
    package func perform(_ operation: CollectiveOperation, _ x: DenseArray) throws -> DenseArray {
        try perform(operation, x, call: .unspecified)
    }

    /// Runs `operation` on `x` together with the other members and returns this member's result.
    package func perform(_ operation: CollectiveOperation, _ x: DenseArray, call: CollectiveCall) throws -> DenseArray {
        let signature = operation.signature(x, sequence: sequence.add(1, ordering: .relaxed).oldValue, call: call)
        let all = try rendezvous.exchange(rank, Contribution(signature: signature, call: call, array: x), what: signature.description)
        if all.contains(where: { $0.signature != signature }) {
            throw CollectiveSignature.mismatch(
                all.map(\.signature), calls: all.map(\.call.encodedFields), transport: "members of an in-process group")
        }
        // Signatures agree, so every member reaches the same verdict here.
        try operation.validate(x, size: size)
        return withExtendedLifetime(all) {
            operation.localResult(all.map { UnsafeRawPointer($0.array.buffer.pointer) }, shape: x.shape, dtype: x.dtype, rank: rank)
        }
    }
}
