/// What the program called, beyond what a communicator sees of it.
///
/// A communicator sees an operation on a flat operand (a psum-scatter is a
/// reduce-scatter of a transposed array); two members calling
/// `psumScatter` with different `scatterDimension`s, or two `psum`s at
/// different places in the program, can look identical there. The call
/// records the collective primitive with every parameter (axis names,
/// dimension, split and concat axes, permutation, tiling, source), the
/// operand's type as the user passed it, and where the call was made (the
/// source line for eager calls, the plan instruction under `jit`).
///
/// Its 64-bit ``digest`` travels in every ``CollectiveSignature``, so members
/// compare all of it at no extra cost; the readable ``fields`` are exchanged
/// only when members disagree, to name the parameter that differs.
package struct CollectiveCall: Sendable {
    /// A stable (process-independent) hash of everything below; 0 for ``unspecified``.
    package let digest: UInt64
    /// What was called, where, on what. Kept apart from the digest because
    /// only a mismatch reads it (to name what differs).
    private let what: What?
    /// Errors this member caught inside ``catchingErrors(_:)`` while the axis
    /// was active, since the axis's last failed collective (see ``CaughtErrors``).
    package var caughtErrors: UInt32 = 0
    /// The rarely set texts (``lastCaughtError``, ``localMismatch``): nil in
    /// the common case, so copying a call copies no strings.
    private var notes: Notes?

    /// A collective's description, in one of two forms chosen for the
    /// latency-bound paths (a 4-byte psum costs a few hundred nanoseconds):
    private enum What: Sendable {
        /// An all-reduce over one axis name (eager psum, pmax, pmin): stored
        /// inline, so an eager call allocates nothing (no primitive, no
        /// one-name array; ``primitive`` rebuilds it when a mismatch needs it).
        case allReduce(ReduceOp, axis: String, operand: AbstractValue, site: CollectiveSite?)
        /// Any collective, in one object: the calls a jitted plan prepares are
        /// copied on every run, and a copy is then one retain.
        case general(Info)
    }

    /// The primitive, operand type and site of a call.
    private final class Info: Sendable {
        let primitive: Primitive
        let operand: AbstractValue?
        let site: CollectiveSite?
        init(_ primitive: Primitive, _ operand: AbstractValue?, _ site: CollectiveSite?) {
            self.primitive = primitive
            self.operand = operand
            self.site = site
        }
    }

    /// The texts of a call that caught errors or that its local devices disagreed on.
    private final class Notes: Sendable {
        let lastCaughtError: String
        let localMismatch: String?
        init(lastCaughtError: String, localMismatch: String?) {
            self.lastCaughtError = lastCaughtError
            self.localMismatch = localMismatch
        }
    }

    var primitive: Primitive? {
        switch what {
        case .allReduce(let op, let axis, _, _): Primitive.allReduce(op, axes: [axis])
        case .general(let info): info.primitive
        case nil: nil
        }
    }
    var operand: AbstractValue? {
        switch what {
        case .allReduce(_, _, let operand, _): operand
        case .general(let info): info.operand
        case nil: nil
        }
    }
    package var site: CollectiveSite? {
        switch what {
        case .allReduce(_, _, _, let site): site
        case .general(let info): info.site
        case nil: nil
        }
    }

    /// The last of those errors' message.
    package var lastCaughtError: String {
        get { notes?.lastCaughtError ?? "" }
        set { notes = Notes(lastCaughtError: newValue, localMismatch: localMismatch) }
    }
    /// Why this member takes part as ``CollectiveOperation/inconsistent``: the
    /// error its own local devices reported (sent to the other members).
    package var localMismatch: String? {
        get { notes?.localMismatch }
        set { notes = Notes(lastCaughtError: lastCaughtError, localMismatch: newValue) }
    }

    /// This call carrying the errors caught on `communicator`'s member (see ``caughtErrors``).
    func withCaughtErrors(of communicator: any CollectiveTransport) -> CollectiveCall {
        let count = communicator.caughtErrors.pendingCount
        guard count > 0 else { return self }
        var call = self
        call.caughtErrors = count
        call.lastCaughtError = communicator.caughtErrors.lastMessage
        return call
    }

    /// A direct call on a communicator (no primitive, no site): only the
    /// communicator's own signature is compared.
    package static let unspecified = CollectiveCall(digest: 0, what: nil)

    private init(digest: UInt64, what: What?) {
        self.digest = digest
        self.what = what
    }

    /// The call of collective `primitive` on an operand of type `operand` at `site`.
    package init(_ primitive: Primitive, operand: AbstractValue?, site: CollectiveSite?) {
        let (axes, numbers) = primitive.collectiveParameters
        var pairs: [PermutationPair] = []
        if case .ppermute(_, let p) = primitive { pairs = p }
        let digest = Self.digest(code: primitive.collectiveCode, axes: axes, numbers: numbers.lazy.map(\.1), pairs: pairs,
                                 operand: operand, site: site)
        self.init(digest: digest, what: .general(Info(primitive, operand, site)))
    }

    /// The call of the all-reduce `op` (psum, pmax or pmin) over the one name
    /// `axis` on an operand of type `operand` at `site`: the same digest as
    /// ``init(_:operand:site:)`` of that primitive, made without building it.
    package init(allReduce op: ReduceOp, axis: String, operand: AbstractValue, site: CollectiveSite?) {
        let code = Primitive.allReduceCode(op)
        let digest = Self.digest(code: code, axes: CollectionOfOne(axis), numbers: EmptyCollection<Int>(), pairs: [],
                                 operand: operand, site: site)
        self.init(digest: digest, what: .allReduce(op, axis: axis, operand: operand, site: site))
    }

    /// The hash of a call's parts (see ``digest``); never 0, which marks ``unspecified``.
    private static func digest(
        code: Int, axes: some Collection<String>, numbers: some Sequence<Int>, pairs: [PermutationPair],
        operand: AbstractValue?, site: CollectiveSite?
    ) -> UInt64 {
        var h = StableHasher()
        h.combine(code)
        h.combine(axes.count)
        for a in axes { h.combine(a) }
        for n in numbers { h.combine(n) }
        for p in pairs { h.combine(p.source); h.combine(p.destination) }
        if let operand {
            h.combine(Int(operand.dtype.code))
            h.combine(operand.shape.count)
            for d in operand.shape { h.combine(d) }
        }
        site?.hash(into: &h)
        return h.value == 0 ? 1 : h.value
    }

    /// The call as (name, value) pairs, in a fixed order: the operation, its
    /// parameters, the operand and the call site. Members compare these to
    /// name what differs.
    package var fields: [(name: String, value: String)] {
        guard let primitive else { return [] }
        let (axes, numbers) = primitive.collectiveParameters
        var out: [(String, String)] = [("operation", primitive.name), ("axis names", "\(axes)")]
        for (name, n) in numbers { out.append((name, name == "tiled" ? "\(n != 0)" : "\(n)")) }
        if case .ppermute(_, let pairs) = primitive { out.append(("perm", "\(pairs.map { ($0.source, $0.destination) })")) }
        if let operand { out.append(("operand", operand.description)) }
        if let site { out.append(("called at", site.description)) }
        if let (_, _, schedule) = site?.scheduled { out.append((Self.scheduleField, String(schedule, radix: 16))) }
        return out
    }

    /// ``fields`` (and the caught errors, if any) as one line of text
    /// (`name=value` joined by unit separators), the form exchanged between
    /// processes; ``parseFields(_:)`` reads it back.
    package var encodedFields: String {
        var all = fields
        if caughtErrors > 0 { all.append((Self.caughtField, "\(caughtErrors) (the last: \(lastCaughtError))")) }
        if let localMismatch { all.append((Self.localMismatchField, localMismatch)) }
        return all.map { "\($0.name)=\($0.value)" }.joined(separator: "\u{1F}")
    }

    /// The field naming a jitted program's collective schedule (its hash).
    static let scheduleField = "schedule of its jitted program's collectives"

    /// The field carrying ``localMismatch``.
    static let localMismatchField = "its local devices disagree"

    /// The field naming errors caught inside `catchingErrors`.
    static let caughtField = "errors caught inside catchingErrors"


    /// The fields of ``encodedFields``.
    package static func parseFields(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "\u{1F}").map { part in
            let s = String(part)
            guard let eq = s.firstIndex(of: "=") else { return (s, "") }
            return (String(s[..<eq]), String(s[s.index(after: eq)...]))
        }
    }
}

/// Where a collective was called: a source line (eager code), or a place in
/// the collective schedule of a jitted program.
package struct CollectiveSite: Sendable, CustomStringConvertible {
    let file: StaticString?
    let line: UInt
    /// Under jit: the collective's place among the program's collectives, their
    /// number, and a stable hash of the whole schedule (see ``schedule(_:)``).
    let scheduled: (index: Int, of: Int, schedule: UInt64)?

    /// A call at `file`:`line`.
    package init(file: StaticString, line: UInt) {
        self.file = file
        self.line = line
        self.scheduled = nil
    }

    /// Collective `index` of the `count` collectives of a compiled program whose schedule hashes to `schedule`.
    package init(collective index: Int, of count: Int, schedule: UInt64) {
        self.file = nil
        self.line = 0
        self.scheduled = (index, count, schedule)
    }

    /// The sites of a compiled program's collectives, in program order.
    ///
    /// Members pair collectives by their order, so under `jit` a collective's
    /// site is its place in the program's *collective schedule*: the
    /// sequence of every collective (primitive, parameters, operand type, and
    /// for an all-reduce that combines several operands laid end to end, the
    /// parts' types) hashed into one stable number. Two members running
    /// programs whose collectives differ anywhere — one more loop iteration
    /// traced, all-reduces combined in another order or grouping — disagree
    /// at their first collective, before any data is combined. What the
    /// programs compute between collectives may differ (rank-dependent
    /// constants or shapes are legitimate SPMD): it is not hashed.
    ///
    /// - Parameter collectives: each collective's primitive, operand type, and
    ///   the types of the parts concatenated into its operand (empty if none).
    package static func schedule(_ collectives: [(primitive: Primitive, operand: AbstractValue?, parts: [AbstractValue])]) -> [CollectiveSite] {
        var h = StableHasher()
        h.combine(collectives.count)
        for c in collectives {
            h.combine(Int(truncatingIfNeeded: CollectiveCall(c.primitive, operand: c.operand, site: nil).digest))
            h.combine(c.parts.count)
            for a in c.parts {
                h.combine(Int(a.dtype.code))
                h.combine(a.shape.count)
                for d in a.shape { h.combine(d) }
            }
        }
        let schedule = h.value
        return collectives.indices.map { CollectiveSite(collective: $0, of: collectives.count, schedule: schedule) }
    }

    /// Where the collective was called: the source line, or its place in a jitted program's collectives.
    package var description: String {
        if let file { return "\(file):\(line)" }
        if let (i, n, _) = scheduled { return "collective \(i + 1) of \(n) of a jitted program" }
        return "an unknown place"
    }

    func hash(into h: inout StableHasher) {
        if let file {
            file.withUTF8Buffer { h.combine(UnsafeRawBufferPointer($0)) }
            h.combine(Int(line))
        }
        if let (i, n, schedule) = scheduled {
            h.combine(i)
            h.combine(n)
            h.combine(Int(truncatingIfNeeded: schedule))
        }
    }

    /// The site of the collective being evaluated (set by the collective
    /// functions around `bind`, and by the plan executor).
    @TaskLocal package static var current: CollectiveSite?
}

/// FNV-1a over 64 bits (words at a time, with a shift to mix the high bits
/// down): the same value in every process (Swift's `Hasher` is seeded per
/// process, so it cannot be compared across ranks).
struct StableHasher {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    @inline(__always) mutating func combineByte(_ b: UInt8) {
        value = (value ^ UInt64(b)) &* 0x100_0000_01B3
    }

    mutating func combine(_ n: Int) {
        value = (value ^ UInt64(bitPattern: Int64(n))) &* 0x100_0000_01B3
        value ^= value >> 29
    }

    mutating func combine(_ s: String) {
        var s = s
        s.withUTF8 { combine(UnsafeRawBufferPointer($0)) }  // no copy for native strings
        combineByte(0)
    }

    /// `bytes`, eight at a time (little-endian words; a call hashes a file
    /// name on every collective, so this is on the latency path).
    mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        while i + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            value = (value ^ word) &* 0x100_0000_01B3
            value ^= value >> 29
            i += 8
        }
        while i < bytes.count {
            combineByte(bytes[i])
            i += 1
        }
    }
}

extension DType {
    /// A stable one-byte code, the same in every process: for hashes and
    /// messages that cross processes (the collective wire format uses it too).
    package var code: UInt8 {
        switch self {
        case .bool: 1
        case .int32: 2
        case .uint32: 3
        case .float32: 4
        case .float64: 5
        case .int8: 6
        case .uint8: 7
        case .int16: 8
        case .uint16: 9
        case .int64: 10
        case .uint64: 11
        case .float16: 12
        case .bfloat16: 13
        }
    }
}

extension Primitive {
    /// The ``collectiveCode`` of the all-reduce `op` (psum, pmax or pmin).
    static func allReduceCode(_ op: ReduceOp) -> Int {
        switch op {
        case .sum: 1
        case .max: 2
        case .min: 3
        default: preconditionFailure("allReduceCode: \(op) is not the reduction of psum, pmax or pmin")
        }
    }

    /// The psum, pmax or pmin over `axes` for the reduction `op`.
    static func allReduce(_ op: ReduceOp, axes: [String]) -> Primitive {
        switch op {
        case .sum: .psum(axes: axes)
        case .max: .pmax(axes: axes)
        case .min: .pmin(axes: axes)
        default: preconditionFailure("allReduce: \(op) is not the reduction of psum, pmax or pmin")
        }
    }

    /// A stable number per collective primitive (hashed instead of its name: cheaper).
    var collectiveCode: Int {
        switch self {
        case .psum: 1
        case .pmax: 2
        case .pmin: 3
        case .allGather: 4
        case .psumScatter: 5
        case .ppermute: 6
        case .allToAll: 7
        case .axisIndex: 8
        case .pbroadcast: 9
        default: 0
        }
    }

    /// A collective's axis names and its integer parameters by name (booleans as 0 or 1).
    var collectiveParameters: (axes: [String], numbers: [(String, Int)]) {
        switch self {
        case .psum(let axes), .pmax(let axes), .pmin(let axes), .axisIndex(let axes): (axes, [])
        case .allGather(let axes, let axis, let tiled): (axes, [("axis", axis), ("tiled", tiled ? 1 : 0)])
        case .psumScatter(let axes, let d, let tiled): (axes, [("scatterDimension", d), ("tiled", tiled ? 1 : 0)])
        case .ppermute(let axes, _): (axes, [])  // the pairs themselves: see `fields` and `init`
        case .allToAll(let axes, let split, let concat, let tiled):
            (axes, [("splitAxis", split), ("concatAxis", concat), ("tiled", tiled ? 1 : 0)])
        case .pbroadcast(let axes, let source): (axes, [("source", source)])
        default: (collectiveAxes ?? [], [])
        }
    }
}
