import Synchronization

/// Devices spread over processes: `localSize` threads in each process, the
/// processes connected by a process-level communicator (MPI ranks).
///
/// Member `rank = processRank × localSize + localIndex`. A collective first
/// meets the process's other local members in memory; the first local member
/// (the *leader*) then performs one process-level collective on the combined
/// local data and hands each local member its result. Local signatures are
/// compared before the process-level exchange; a process whose local members
/// disagree still takes part (as ``CollectiveOperation/inconsistent``), so
/// every member of every process fails instead of waiting.
package final class HierarchicalGroup: Sendable {
    /// This process's members, one per local device.
    package let members: [HierarchicalCommunicator]

    /// A group of `localSize` members in this process over the process-level communicator `processes`.
    /// - Parameters:
    ///   - localSize: The number of members (local devices) in this process, at least 1.
    ///   - processes: The communicator joining this process to the others; its leader uses it.
    ///   - timeout: Seconds a member waits for the other local members before failing.
    package init(localSize: Int, processes: any CollectiveTransport, timeout: Double = CollectiveTimeout.seconds) {
        precondition(localSize >= 1, "HierarchicalGroup: localSize must be at least 1, got \(localSize)")
        let rendezvous = Rendezvous<HierarchicalCommunicator.Message>(size: localSize, timeout: timeout)
        members = (0..<localSize).map {
            HierarchicalCommunicator(local: $0, localSize: localSize, processes: processes, rendezvous: rendezvous)
        }
    }
}

/// One local device of a ``HierarchicalGroup``.
package final class HierarchicalCommunicator: CollectiveTransport {
    enum Message: @unchecked Sendable {
        case operand(CollectiveSignature, CollectiveCall, DenseArray)
        case results([DenseArray])
        case failure(FlockError)
        case waiting
    }

    let local: Int
    let localSize: Int
    let processes: any CollectiveTransport
    let rendezvous: Rendezvous<Message>
    private let sequence = Atomic<UInt32>(0)
    /// Errors caught inside `catchingErrors` while this communicator's axis was active (carried by its collectives).
    package let caughtErrors = CaughtErrors()

    init(local: Int, localSize: Int, processes: any CollectiveTransport, rendezvous: Rendezvous<Message>) {
        self.local = local
        self.localSize = localSize
        self.processes = processes
        self.rendezvous = rendezvous
    }

    /// Members: local devices per process × processes.
    package var size: Int { localSize * processes.size }
    /// This member's index: its process's rank × local devices + its local index.
    package var rank: Int { processes.rank * localSize + local }

    /// Runs `operation` on `x` as a direct call (no collective call recorded for the checks).
    package func perform(_ operation: CollectiveOperation, _ x: DenseArray) throws -> DenseArray {
        try perform(operation, x, call: .unspecified)
    }

    /// Runs `operation` on `x`: within the process first, then across processes; `call` is checked against every member's.
    package func perform(_ operation: CollectiveOperation, _ x: DenseArray, call: CollectiveCall) throws -> DenseArray {
        let signature = operation.signature(x, sequence: sequence.add(1, ordering: .relaxed).oldValue, call: call)
        let gathered = try rendezvous.exchange(local, .operand(signature, call, x), what: signature.description)
        let outcome: Message = local == 0 ? lead(operation, gathered) : .waiting
        let handed = try rendezvous.exchange(local, outcome, what: signature.description)
        switch handed[0] {
        case .results(let rs): return rs[local]
        case .failure(let e): throw e
        case .operand, .waiting: preconditionFailure("HierarchicalCommunicator: the leader sent no outcome")
        }
    }

    /// The leader's part: check, one process-level collective, split the result.
    private func lead(_ operation: CollectiveOperation, _ gathered: [Message]) -> Message {
        let operands: [(CollectiveSignature, CollectiveCall, DenseArray)] = gathered.map {
            guard case .operand(let s, let c, let a) = $0 else { preconditionFailure("HierarchicalCommunicator: missing operand") }
            return (s, c, a)
        }
        let (signature, call, x) = operands[0]
        do {
            if operands.contains(where: { $0.0 != signature }) {
                let error = CollectiveSignature.mismatch(
                    operands.map(\.0), calls: operands.map(\.1.encodedFields), transport: "local devices of process \(processes.rank)")
                _ = try? processes.perform(.inconsistent, x, call: reporting(error, call))  // keeps the other processes in step
                return .failure(error)
            }
            do { try operation.validate(x, size: size) } catch {
                _ = try? processes.perform(.inconsistent, x, call: reporting(error, call))
                throw error
            }
            return .results(try combined(operation, operands.map(\.2), call: call))
        } catch let e as FlockError {
            return .failure(e)
        } catch {
            return .failure(FlockError("\(signature): \(error)"))
        }
    }

    /// `call` carrying `error` to the other processes (see ``CollectiveCall/localMismatch``).
    private func reporting(_ error: Error, _ call: CollectiveCall) -> CollectiveCall {
        var c = call
        c.localMismatch = (error as? FlockError)?.message ?? "\(error)"
        return c
    }

    /// Each local member's result of `operation`, given every local operand.
    /// `call` (the same on every local member) goes with the process-level collective.
    private func combined(_ operation: CollectiveOperation, _ arrays: [DenseArray], call: CollectiveCall) throws -> [DenseArray] {
        let L = localSize, P = processes.size
        let x = arrays[0], shape = x.shape, dtype = x.dtype
        let pointers = arrays.map { UnsafeRawPointer($0.buffer.pointer) }
        func same(_ r: DenseArray) -> [DenseArray] { Array(repeating: r, count: L) }
        func blocks(_ r: DenseArray, _ shape: [Int]) -> [DenseArray] {
            (0..<L).map { arrayCopy(leadingBlock(r, $0, of: L), shape: shape, dtype: dtype) }
        }
        return try withExtendedLifetime(arrays) {
            switch operation {
            case .allReduce(let op):
                let local = combine(pointers, count: x.count, dtype: dtype, op, shape: shape)
                return same(try processes.perform(.allReduce(op), local, call: call))
            case .allGather:
                let stacked = concatenateBlocks(pointers, shape: [L] + shape, dtype: dtype)
                return same(try processes.perform(.allGather, stacked, call: call).reshaped([P * L] + shape))
            case .reduceScatter(let op):
                let rest = Array(shape.dropFirst())
                let local = combine(pointers, count: x.count, dtype: dtype, op, shape: [P, L] + rest)
                return blocks(try processes.perform(.reduceScatter(op), local, call: call), rest)
            case .allToAll:
                // Local operands [Lsrc][P·L] → [P, Ldst, Lsrc]: process q receives, for each of
                // its local members, the blocks every one of our members sends it.
                let rest = Array(shape.dropFirst())
                let axes = Array(3..<(3 + rest.count))
                let stacked = concatenateBlocks(pointers, shape: [L, P, L] + rest, dtype: dtype)
                let received = try processes.perform(.allToAll, stacked.transposed([1, 2, 0] + axes), call: call)
                // received [q, Ldst, Lsrc]: member l' takes [q, Lsrc] = global source q·L + lsrc.
                let byDestination = received.transposed([1, 0, 2] + axes)
                return blocks(byDestination, [P * L] + rest)
            case .permute(let pairs):
                // An all-to-all over processes in which each local operand fills the slot of
                // its destination; every destination has one source, so nothing collides.
                var slots = [UnsafeRawPointer?](repeating: nil, count: P * L)
                for (l, p) in pointers.enumerated() {
                    if let pair = pairs.first(where: { $0.source == rank - local + l }) { slots[pair.destination] = p }
                }
                let zeros = zeroArray(shape: shape, dtype: dtype)
                let table = withExtendedLifetime(zeros) {
                    concatenateBlocks(slots.map { $0 ?? UnsafeRawPointer(zeros.buffer.pointer) },
                                      shape: [P, L] + shape, dtype: dtype)
                }
                let received = try processes.perform(.allToAll, table, call: call)  // [q, Ldst] + shape
                let first = rank - local
                return (0..<L).map { l in
                    guard let pair = pairs.first(where: { $0.destination == first + l }) else { return zeros }
                    let q = pair.source / L
                    return arrayCopy(leadingBlock(received, q * L + l, of: P * L), shape: shape, dtype: dtype)
                }
            case .broadcast(let root):
                let owner = root / L
                let source = owner == processes.rank ? arrays[root % L] : x
                return same(try processes.perform(.broadcast(root: owner), source, call: call))
            case .barrier:
                return same(try processes.perform(.barrier, x, call: call))
            case .inconsistent:
                return same(try processes.perform(.inconsistent, x, call: call))
            }
        }
    }
}
