/// The collective operations a communicator performs, as recorded in a
/// ``CollectiveSignature``.
public enum CollectiveKind: UInt8, Sendable {
    /// The operation: an all-reduce (`psum`, `pmax`, `pmin`), all-gather,
    /// reduce-scatter (`psum_scatter`), all-to-all, permutation (`ppermute`), broadcast
    /// from a root, a barrier, or `inconsistent` (a member that cannot take part consistently).
    case allReduce = 1, allGather, reduceScatter, allToAll, permute, broadcast, barrier, inconsistent

    /// How messages name the operation.
    public var description: String {
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
public struct CollectiveSignature: Equatable, Sendable, CustomStringConvertible {
    /// How many collectives the member made on this communicator before this one.
    public var sequence: UInt32
    /// The operation.
    public var kind: CollectiveKind
    /// The operand's element type.
    public var dtype: DType
    /// Operation parameter: the reduction, the root, or a hash of the permutation.
    public var parameter: UInt32
    /// The operand's shape (this member's part).
    public var shape: [Int]

    /// A signature; `parameter` is 0 for operations without one.
    public init(sequence: UInt32, kind: CollectiveKind, dtype: DType, shape: [Int], parameter: UInt32 = 0) {
        self.sequence = sequence
        self.kind = kind
        self.dtype = dtype
        self.parameter = parameter
        self.shape = shape
    }

    /// The signature of a collective on `array`.
    public init(sequence: UInt32, kind: CollectiveKind, array: DenseArray, parameter: UInt32 = 0) {
        self.init(sequence: sequence, kind: kind, dtype: array.dtype, shape: array.shape, parameter: parameter)
    }

    /// JAX's short form of the operand, e.g. `f32[4,3]`.
    var operand: String { AbstractValue(shape: shape, dtype: dtype).description }

    public var description: String {
        "\(kind.description)\(kind == .barrier || kind == .inconsistent ? "" : " of \(operand)") (collective #\(sequence + 1))"
    }

    /// The error for members whose signatures differ, naming what each one
    /// called. Every member builds the same message from the same signatures.
    public static func mismatch(_ signatures: [CollectiveSignature?], transport: String) -> FlockError {
        let valid = signatures.compactMap { $0 }
        let what: String
        if Set(valid.map(\.sequence)).count > 1 {
            what = "they are at different collectives (a member skipped one or called an extra one)"
        } else if Set(valid.map(\.kind)).count > 1 {
            what = "they called different operations"
        } else if Set(valid.map(\.dtype)).count > 1 {
            what = "their operands have different dtypes"
        } else if Set(valid.map(\.shape)).count > 1 {
            what = "their operands have different shapes"
        } else {
            what = "they passed different parameters (reduction, root or permutation)"
        }
        let each = signatures.enumerated().map { (i, s) in
            "\(i): \(s.map { "\($0)" + ($0.parameter != 0 ? " [parameter \($0.parameter)]" : "") } ?? "unreadable signature")"
        }
        return FlockError(
            "collective called inconsistently across the \(signatures.count) \(transport): \(what); "
                + each.joined(separator: "; ")
                + ". Every member must call the same collectives with the same shapes and dtypes, in the same order")
    }
}
