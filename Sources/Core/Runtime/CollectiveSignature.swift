/// The collective operations a communicator performs, as recorded in a
/// ``CollectiveSignature``.
package enum CollectiveKind: UInt8, Sendable {
    /// The operation: an all-reduce (`psum`, `pmax`, `pmin`), all-gather,
    /// reduce-scatter (`psum_scatter`), all-to-all, permutation (`ppermute`), broadcast
    /// from a root, a barrier, or `inconsistent` (a member that cannot take part consistently).
    case allReduce = 1, allGather, reduceScatter, allToAll, permute, broadcast, barrier, inconsistent

    /// How messages name the operation.
    package var description: String {
        switch self {
        case .allReduce: "all-reduce"
        case .allGather: "all-gather"
        case .reduceScatter: "reduce-scatter"
        case .allToAll: "all-to-all"
        case .permute: "permute"
        case .broadcast: "broadcast"
        case .barrier: "barrier"
        case .inconsistent: "nothing (its own local members called the collective inconsistently)"
        }
    }
}

/// What one member is about to do in a collective: the operation, its
/// parameters, the operand's dtype and shape, and how many collectives the
/// member has already made on this communicator.
///
/// Members compare signatures before (or with) the payload (MPI ranks exchange
/// them in the wire format of FlockCollectives); equal signatures mean a
/// consistent call. Anything else becomes an error naming every member's
/// view, identical on all members — so all of them fail together, none hangs.
package struct CollectiveSignature: Equatable, Sendable, CustomStringConvertible {
    /// How many collectives the member made on this communicator before this one.
    package var sequence: UInt32
    /// The operation.
    package var kind: CollectiveKind
    /// The operand's element type.
    package var dtype: DType
    /// Operation parameter: the reduction, the root, or a hash of the permutation.
    package var parameter: UInt32
    /// The operand's shape (this member's part).
    package var shape: [Int]
    /// The ``CollectiveCall/digest`` of the call behind the operation (0 for a direct call).
    package var call: UInt64
    /// Errors the member caught inside `catchingErrors` since the last failed
    /// collective (``CollectiveCall/caughtErrors``).
    package var caughtErrors: UInt32

    /// A signature; `parameter` is 0 for operations without one, `call` 0 for a direct call.
    package init(
        sequence: UInt32, kind: CollectiveKind, dtype: DType, shape: [Int], parameter: UInt32 = 0,
        call: UInt64 = 0, caughtErrors: UInt32 = 0
    ) {
        self.sequence = sequence
        self.kind = kind
        self.dtype = dtype
        self.parameter = parameter
        self.shape = shape
        self.call = call
        self.caughtErrors = caughtErrors
    }

    /// The signature of a collective on `array`.
    package init(sequence: UInt32, kind: CollectiveKind, array: DenseArray, parameter: UInt32 = 0, call: CollectiveCall = .unspecified) {
        self.init(sequence: sequence, kind: kind, dtype: array.dtype, shape: array.shape, parameter: parameter,
                  call: call.digest, caughtErrors: call.caughtErrors)
    }

    /// JAX's short form of the operand, e.g. `f32[4,3]`.
    var operand: String { AbstractValue(shape: shape, dtype: dtype).description }

    package var description: String {
        "\(kind.description)\(kind == .barrier || kind == .inconsistent ? "" : " of \(operand)") (collective #\(sequence + 1))"
    }

    /// The error for members whose signatures differ, naming what each one
    /// called. Every member builds the same message from the same signatures
    /// and `calls` (each member's ``CollectiveCall/encodedFields``, when
    /// the transport exchanged them).
    package static func mismatch(_ signatures: [CollectiveSignature?], calls: [String?] = [], transport: String) -> FlockError {
        let valid = signatures.compactMap { $0 }
        let fields = signatures.indices.map { i in i < calls.count ? calls[i].map(CollectiveCall.parseFields) ?? [] : [] }
        func value(_ name: String, _ i: Int) -> String? { fields[i].first { $0.name == name }?.value }
        func differing(_ name: String) -> [Int: String]? {
            let values = Dictionary(uniqueKeysWithValues: signatures.indices.compactMap { i in value(name, i).map { (i, $0) } })
            if name == CollectiveCall.caughtField || name == CollectiveCall.localMismatchField { return values.isEmpty ? nil : values }
            return Set(values.values).count > 1 || (!values.isEmpty && values.count < signatures.count) ? values : nil
        }
        func listed(_ values: [Int: String]) -> String {
            signatures.indices.map { "member \($0): \(values[$0] ?? "none")" }.joined(separator: ", ")
        }
        let what: String
        if let local = differing(CollectiveCall.localMismatchField) {
            what = "the local devices of members \(local.keys.sorted()) called it inconsistently: "
                + local.sorted { $0.key < $1.key }.map { "member \($0.key): \($0.value)" }.joined(separator: "; ")
        } else if Set(valid.map(\.caughtErrors)).count > 1 {
            let caught = signatures.indices.filter { (signatures[$0]?.caughtErrors ?? 0) > 0 }
            what = "members \(caught) caught errors inside catchingErrors that the others did not, so they may have "
                + "skipped collectives the others made"
                + (differing(CollectiveCall.caughtField).map { " (\(listed($0)))" } ?? "")
        } else if Set(valid.map(\.sequence)).count > 1 || differing("called at") != nil {
            what = "they are at different collectives (a member skipped one or called an extra one)"
                + (differing("called at").map { ": called at \(listed($0))" } ?? "")
        } else if Set(valid.map(\.kind)).count > 1 || differing("operation") != nil {
            what = "they called different operations" + (differing("operation").map { ": \(listed($0))" } ?? "")
        } else if Set(valid.map(\.dtype)).count > 1 {
            what = "their operands have different dtypes"
        } else if Set(valid.map(\.shape)).count > 1 {
            what = "their operands have different shapes"
        } else if let name = (fields.first ?? []).map(\.name).first(where: { differing($0) != nil }), name == CollectiveCall.scheduleField {
            what = "they run jitted programs whose collectives differ (in number, order, parameters, operand types, or in how "
                + "all-reduces were combined), so this call would pair with another collective's data: "
                + listed(differing(name)!)
        } else if let name = (fields.first ?? []).map(\.name).first(where: { differing($0) != nil }), let values = differing(name) {
            what = "they passed different parameters: \(name) differs (\(listed(values)))"
        } else {
            what = "they passed different parameters (reduction, root or permutation)"
        }
        let each = signatures.enumerated().map { (i, s) in
            let call = fields[i].filter { $0.name != CollectiveCall.caughtField && $0.name != CollectiveCall.localMismatchField }.map { "\($0.name) \($0.value)" }
            return "\(i): \(s.map { "\($0)" + ($0.parameter != 0 ? " [parameter \($0.parameter)]" : "") } ?? "unreadable signature")"
                + (call.isEmpty ? "" : " [\(call.joined(separator: ", "))]")
        }
        return FlockError(
            "collective called inconsistently across the \(signatures.count) \(transport): \(what); "
                + each.joined(separator: "; ")
                + ". Every member must call the same collectives with the same shapes and dtypes, in the same order")
    }
}
