import Synchronization

/// Named axes: the environment collectives consult.
///
/// A collective such as `psum(x, axisName: "i")` looks its axis name up here,
/// innermost binding first (inner bindings shadow outer ones, as in JAX). A
/// name is bound either to a *communicator* — MPI ranks, in-process devices —
/// by ``withAxis(_:communicator:_:)`` (and `pmap`), or to the interpreter of
/// a *mapped* axis by `vmap(f, axisName:)`, whose batching rules give
/// collectives their single-process meaning (psum = sum over the batch axis).

/// What an axis name refers to.
package enum AxisBinding: Sendable {
    /// Members of a communicator run the program; collectives call its
    /// transport (held as such, so that no collective casts).
    case communicator(any CollectiveTransport)
    /// A communicator of a type Flock did not make (``withAxis(_:communicator:_:)``
    /// accepts any): the axis has a size, but collectives over it fail.
    case unsupported(any Communicator)
    /// A transform (vmap) maps over the axis; its interpreter handles collectives.
    case mapped(any Interpreter)
}

/// One active named axis.
package struct AxisFrame: Sendable {
    /// The axis name collectives refer to (`axisName:` of `pmap`, `vmap`, `shardMap`).
    package let name: String
    /// The number of members along the axis.
    package let size: Int
    /// What carries out collectives over the axis.
    package let binding: AxisBinding

    /// A frame binding `name`, of `size` members, to `binding`.
    package init(name: String, size: Int, binding: AxisBinding) {
        self.name = name
        self.size = size
        self.binding = binding
    }

    /// The communicator, for an axis bound to one.
    package var communicator: (any Communicator)? {
        switch binding {
        case .communicator(let c): c
        case .unsupported(let c): c
        case .mapped: nil
        }
    }

    /// The transport collectives over this axis call, for an axis bound to
    /// one of Flock's communicators.
    package var transport: (any CollectiveTransport)? {
        if case .communicator(let c) = binding { return c }
        return nil
    }
}

/// Errors caught on one member of a communicator, for the consistency check
/// of its collectives.
///
/// An error that leaves ``catchingErrors(_:)`` on one member may have made it
/// skip collectives the others make. Each member counts such errors on the
/// communicators of the axes active when it was caught, and every collective
/// carries the count (since the communicator's last failed collective) in its
/// signature: members that caught different numbers of errors fail their
/// next collective together, with a message saying so, instead of pairing
/// calls wrongly. Members that all catch the same error stay in step.
package final class CaughtErrors: Sendable {
    /// A count of zero caught errors (one per communicator).
    package init() {}

    // Atomics: every collective reads the count (latency-bound: no lock on that path).
    private let caught = Atomic<UInt32>(0)
    private let acknowledged = Atomic<UInt32>(0)
    private let last = Mutex("")

    /// Counts `error`, caught on this member.
    func record(_ error: FlockError) {
        last.withLock { $0 = error.message }
        caught.add(1, ordering: .releasing)
    }

    /// Errors caught since the last ``acknowledge()``.
    var pendingCount: UInt32 {
        caught.load(ordering: .acquiring) &- acknowledged.load(ordering: .relaxed)
    }

    /// The last caught error's message.
    var lastMessage: String { last.withLock { $0 } }

    /// Forgets the errors caught so far (after a collective that failed on
    /// every member: members are in step again).
    func acknowledge() {
        acknowledged.store(caught.load(ordering: .acquiring), ordering: .relaxed)
    }
}

/// Records `error`, about to leave a ``catchingErrors(_:)`` scope, on every
/// active axis bound to a communicator.
func recordCaughtError(_ error: Error) {
    let frames = AxisEnvironment.frames
    guard !frames.isEmpty else { return }
    let e = (error as? FlockError) ?? FlockError("\(error)")
    var seen = Set<ObjectIdentifier>()
    for f in frames {
        guard let c = f.transport, seen.insert(ObjectIdentifier(c)).inserted else { continue }
        c.caughtErrors.record(e)
    }
}

/// The task-local stack of active named axes, innermost last.
package enum AxisEnvironment {
    /// The active axes of the current task, outermost first; transforms push a frame
    /// for the scope of their body with ``withAxisFrame(_:_:)``.
    @TaskLocal package static var frames: [AxisFrame] = []
}

/// The innermost active axis called `name`, or nil when nothing binds it.
///
/// ```swift
/// withAxis("ranks", communicator: Distributed.processes) {
///     print(activeAxis(named: "ranks")?.size)   // Optional(Distributed.processCount)
/// }
/// ```
package func activeAxis(named name: String) -> AxisFrame? {
    AxisEnvironment.frames.last { $0.name == name }
}

/// The size of the innermost active axis called `name`, or nil when nothing
/// binds it.
package func activeAxisSize(_ name: String) -> Int? {
    activeAxis(named: name)?.size
}

/// Runs `body` with `name` bound to `frame`'s axis.
package func withAxisFrame<R>(_ frame: AxisFrame, _ body: () throws -> R) rethrows -> R {
    try AxisEnvironment.$frames.withValue(AxisEnvironment.frames + [frame], operation: body)
}

/// Runs `body` with the axis `name` bound to `communicator`: collectives over
/// `name` inside `body` run among the communicator's members, each of which
/// runs `body` too (SPMD).
///
/// Bind the communicators Flock makes (``Distributed``'s): a collective over
/// an axis bound to a communicator of another type fails with a
/// ``FlockError``.
///
/// ```swift
/// let total = withAxis("ranks", communicator: Distributed.processes) {
///     psum(Tensor([Float(Distributed.processIndex)]), axisName: "ranks")   // the same on every rank
/// }
/// ```
public func withAxis<R>(_ name: String, communicator: any Communicator, _ body: () throws -> R) rethrows -> R {
    // The one dynamic cast of the binding: collectives read the transport as is.
    let binding: AxisBinding =
        if let transport = communicator as? any CollectiveTransport { .communicator(transport) } else { .unsupported(communicator) }
    return try withAxisFrame(AxisFrame(name: name, size: communicator.size, binding: binding), body)
}

/// The frame for `name`, or an error naming the operation and the active axes.
package func boundAxis(_ name: String, for operation: @autoclosure () -> String) throws -> AxisFrame {
    if let frame = activeAxis(named: name) { return frame }
    let operation = operation()
    let active = AxisEnvironment.frames.map { "'\($0.name)'" }
    throw FlockError(
        "\(operation): unbound axis name '\(name)': no vmap(axisName:), pmap or withAxis binds it here"
            + (active.isEmpty ? " (no named axes are active)" : " (active axes: \(active.joined(separator: ", ")))"))
}
