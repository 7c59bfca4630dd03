import FlockCore

// The safetensors format (huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON
//   {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
// padded with spaces, then the tensors' raw little-endian bytes, offsets
// relative to the end of the header. The format cannot run code, and a reader
// can check every offset against the file size before it touches any data —
// which this one does: the byte ranges must tile the data area exactly, with
// no overlap, gap or tail, and each must hold exactly shape × itemsize bytes.

/// The contents of a safetensors file: named tensors and optional string metadata.
///
/// ```swift
/// let file = try loadSafetensors("model.safetensors")
/// let w = file.tensors["layers.0.weight"]
/// print(file.metadata?["format"] ?? "none")
/// ```
public struct SafetensorsFile: Sendable {
    /// The tensors by name.
    public var tensors: [String: Tensor]
    /// The `__metadata__` string map, or `nil` when the file has none.
    public var metadata: [String: String]?

    /// A file holding `tensors` and `metadata`.
    public init(tensors: [String: Tensor], metadata: [String: String]? = nil) {
        self.tensors = tensors
        self.metadata = metadata
    }
}

/// Encodes tensors as the bytes of a safetensors file, exactly as the Python
/// `safetensors` package (`safetensors.numpy.save`) writes them.
///
/// Tensors are laid out as the Rust writer orders them — by dtype, widest
/// first (U64, I64, F64, F32, U32, I32, BF16, F16, U16, I16, I8, U8, BOOL), then by name — with the JSON header
/// padded with spaces to a multiple of 8 bytes.
///
/// ```swift
/// let bytes = try encodeSafetensors(["w": Tensor([1, 2] as [Float])], metadata: ["step": "10"])
/// let back = try decodeSafetensors(bytes)   // back.tensors["w"], back.metadata
/// ```
///
/// - Parameters:
///   - tensors: Concrete tensors by name; a name may not be `__metadata__`.
///   - metadata: String metadata stored under `__metadata__`; `nil` leaves it out.
/// - Throws: ``FlockError`` when a tensor is traced or a name is reserved.
public func encodeSafetensors(_ tensors: [String: Tensor], metadata: [String: String]? = nil) throws -> [UInt8] {
    var sink = ByteArraySink()
    try writeSafetensors(tensors, metadata: metadata, to: &sink, operation: "encodeSafetensors")
    return sink.bytes
}

/// Decodes the bytes of a safetensors file.
///
/// Every length and offset is validated before any data is read; a malformed,
/// truncated or padded file, a duplicate name, overlapping or non-contiguous
/// byte ranges, or a dtype Flock lacks (F8_E4M3, C64, …) throws.
///
/// ```swift
/// let file = try decodeSafetensors(bytes)
/// print(file.tensors.keys.sorted())
/// ```
///
/// - Parameter bytes: The file contents.
/// - Throws: ``FlockError`` naming the problem and, where there is one, the tensor.
public func decodeSafetensors(_ bytes: [UInt8]) throws -> SafetensorsFile {
    try bytes.withUnsafeBytes { try decodeSafetensors($0, context: "decodeSafetensors") }
}

/// Writes tensors to a safetensors file that `safetensors.numpy.load_file` reads.
///
/// ```swift
/// try saveSafetensors(["w": w, "b": b], metadata: ["format": "np"], to: "/tmp/m.safetensors")
/// // Python: safetensors.numpy.load_file("/tmp/m.safetensors")["w"]
/// ```
///
/// - Parameters:
///   - tensors: Concrete tensors by name.
///   - metadata: String metadata, or `nil` for none.
///   - path: The file to create or replace (written in place; checkpoints
///     use an atomic write instead).
/// - Throws: ``FlockError`` when a tensor is traced or the file cannot be written.
public func saveSafetensors(_ tensors: [String: Tensor], metadata: [String: String]? = nil, to path: String) throws {
    try withFileSink(path, operation: "saveSafetensors") {
        try writeSafetensors(tensors, metadata: metadata, to: &$0, operation: "saveSafetensors")
    }
}

/// Reads a safetensors file written by the Python package, by Flock, or by any
/// other conforming writer. See ``decodeSafetensors(_:)`` for what is checked.
///
/// - Parameter path: The file to read.
/// - Throws: ``FlockError`` when the file cannot be read or is malformed.
public func loadSafetensors(_ path: String) throws -> SafetensorsFile {
    let bytes = try readFile(path, operation: "loadSafetensors")
    return try bytes.withUnsafeBytes { try decodeSafetensors($0, context: "loadSafetensors: \(path)") }
}

// MARK: - Dtypes

/// Flock's dtypes with their safetensors names, in the Rust enum's order
/// (the writer sorts by it, widest last).
private let safetensorsDTypes: [(name: String, dtype: DType)] = [
    ("BOOL", .bool), ("U8", .uint8), ("I8", .int8), ("I16", .int16), ("U16", .uint16), ("F16", .float16),
    ("BF16", .bfloat16), ("I32", .int32), ("U32", .uint32), ("F32", .float32), ("F64", .float64),
    ("I64", .int64), ("U64", .uint64),
]

/// Names the format defines that Flock has no dtype for.
private let unsupportedSafetensorsDTypes: Set<String> = [
    "F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0", "C64",
]

/// The largest header the reference implementation accepts.
let safetensorsMaxHeaderSize = 100_000_000

// MARK: - Writing

func writeSafetensors<Sink: ByteSink>(
    _ tensors: [String: Tensor], metadata: [String: String]?, to sink: inout Sink, operation: String
) throws {
    let rank = Dictionary(uniqueKeysWithValues: safetensorsDTypes.enumerated().map { ($1.dtype, $0) })
    var entries: [(name: String, array: DenseArray)] = []
    for (name, tensor) in tensors {
        guard name != "__metadata__" else {
            throw FlockError("\(operation): '__metadata__' is reserved for the metadata map and cannot name a tensor")
        }
        entries.append((name, try tensor.concreteArray(for: "\(operation) '\(name)'")))
    }
    entries.sort { a, b in
        let (ra, rb) = (rank[a.array.dtype]!, rank[b.array.dtype]!)
        return ra != rb ? ra > rb : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
    }
    var members: [(key: String, value: JSONValue)] = []
    if let metadata {
        let sorted = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        members.append(("__metadata__", .object(sorted.map { ($0.key, .string($0.value)) })))
    }
    var offset = 0
    for (name, array) in entries {
        let info: [(key: String, value: JSONValue)] = [
            ("dtype", .string(safetensorsDTypes[rank[array.dtype]!].name)),
            ("shape", .array(array.shape.map { .integer($0) })),
            ("data_offsets", .array([.integer(offset), .integer(offset + array.byteCount)])),
        ]
        members.append((name, .object(info)))
        offset += array.byteCount
    }
    var header = Array(JSONValue.object(members).description.utf8)
    header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
    var prefix: [UInt8] = []
    prefix.appendLittleEndian(UInt64(header.count))
    try (prefix + header).withUnsafeBytes { try sink.write($0) }
    for (_, array) in entries {
        let data = littleEndianCopy(array)
        try withExtendedLifetime(data) { try sink.write(data.bytes) }
    }
}

// MARK: - Reading

/// One header entry, validated against the file but not yet read.
private struct SafetensorsEntry {
    var name: String
    var dtype: DType
    var shape: [Int]
    var begin: Int
    var end: Int
}

func decodeSafetensors(_ bytes: UnsafeRawBufferPointer, context: String) throws -> SafetensorsFile {
    guard bytes.count >= 8 else {
        throw FlockError("\(context): not a safetensors file: \(bytes.count) bytes, shorter than the 8-byte header length")
    }
    let declared = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
    guard declared <= UInt64(safetensorsMaxHeaderSize) else {
        throw FlockError("\(context): header length \(declared) exceeds the \(safetensorsMaxHeaderSize)-byte limit (not a safetensors file?)")
    }
    let headerLength = Int(declared)
    guard headerLength <= bytes.count - 8 else {
        throw FlockError("\(context): truncated file: header of \(headerLength) bytes runs past the end of the \(bytes.count)-byte file")
    }
    let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)])
    guard headerBytes.first == UInt8(ascii: "{") else {
        throw FlockError("\(context): not a safetensors file: the header does not start with '{'")
    }
    guard case .object(let members) = try JSONParser.parse(headerBytes, context: context) else {
        throw FlockError("\(context): the header is not a JSON object")
    }
    let dataStart = 8 + headerLength
    let dataCount = bytes.count - dataStart
    var metadata: [String: String]?
    var entries: [SafetensorsEntry] = []
    for (name, value) in members {
        if name == "__metadata__" {
            metadata = try parseMetadata(value, context: context)
        } else {
            entries.append(try parseEntry(name, value, dataCount: dataCount, context: context))
        }
    }
    // The byte ranges, in file order, must tile [0, dataCount) exactly.
    entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
    var expected = 0
    var previous: String?
    for e in entries {
        if e.begin != expected {
            let after = previous.map { "after '\($0)' which ends at \(expected)" } ?? "at the start of the data"
            let problem = e.begin < expected ? "overlaps the tensor" : "leaves a gap"
            throw FlockError("\(context): tensor '\(e.name)' at bytes \(e.begin)..<\(e.end) \(problem) \(after)")
        }
        expected = e.end
        previous = e.name
    }
    guard expected == dataCount else {
        throw FlockError(
            "\(context): the tensors cover \(expected) bytes of data but the file holds \(dataCount) after the header "
                + (expected > dataCount ? "(truncated file)" : "(trailing bytes)"))
    }
    var tensors: [String: Tensor] = [:]
    for e in entries {
        let array = DenseArray(uninitializedShape: e.shape, dtype: e.dtype)
        let dst = UnsafeMutableRawBufferPointer(start: array.buffer.pointer, count: array.byteCount)
        dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(dataStart + e.begin)..<(dataStart + e.end)]))
        if !hostIsLittleEndian { swapBytes(dst, itemSize: e.dtype.byteSize) }
        // A Swift Bool must be 0 or 1.
        if e.dtype == .bool { for i in 0..<dst.count where dst[i] > 1 { dst[i] = 1 } }
        tensors[e.name] = Tensor(concrete: Tensor.canonicalized(array))  // int64 → int32 without x64
    }
    return SafetensorsFile(tensors: tensors, metadata: metadata)
}

private func parseMetadata(_ value: JSONValue, context: String) throws -> [String: String] {
    guard case .object(let items) = value else {
        throw FlockError("\(context): '__metadata__' must be an object of strings, got \(value)")
    }
    var metadata: [String: String] = [:]
    for (key, item) in items {
        guard case .string(let s) = item else {
            throw FlockError("\(context): metadata '\(key)' must be a string, got \(item)")
        }
        metadata[key] = s
    }
    return metadata
}

private func parseEntry(_ name: String, _ value: JSONValue, dataCount: Int, context: String) throws -> SafetensorsEntry {
    func bad(_ what: String) -> FlockError { FlockError("\(context): tensor '\(name)': \(what)") }
    guard case .object(let fields) = value else { throw bad("expected an object with dtype, shape, data_offsets, got \(value)") }
    func field(_ key: String) throws -> JSONValue {
        guard let v = fields.first(where: { $0.key == key })?.value else { throw bad("missing '\(key)'") }
        return v
    }
    guard case .string(let dtypeName) = try field("dtype") else { throw bad("'dtype' must be a string") }
    guard let dtype = safetensorsDTypes.first(where: { $0.name == dtypeName })?.dtype else {
        let supported = safetensorsDTypes.map(\.name).joined(separator: ", ")
        if unsupportedSafetensorsDTypes.contains(dtypeName) {
            throw bad("unsupported dtype \(dtypeName) (Flock reads \(supported))")
        }
        throw bad("unknown dtype '\(dtypeName)' (Flock reads \(supported))")
    }
    guard case .array(let dims) = try field("shape") else { throw bad("'shape' must be an array of integers") }
    let shape = try dims.map { dim -> Int in
        guard case .integer(let n) = dim, n >= 0 else { throw bad("shape entry \(dim) is not a non-negative integer") }
        return n
    }
    guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
        case .integer(let begin) = offsets[0], case .integer(let end) = offsets[1]
    else { throw bad("'data_offsets' must be [begin, end]") }
    guard 0 <= begin, begin <= end else { throw bad("data_offsets [\(begin), \(end)] are not 0 ≤ begin ≤ end") }
    guard end <= dataCount else {
        throw bad("data_offsets [\(begin), \(end)] run past the \(dataCount) bytes of data (truncated file?)")
    }
    guard let (_, byteCount) = checkedSizes(shape, itemSize: dtype.byteSize) else {
        throw bad("shape \(shape) has too many elements")
    }
    guard byteCount == end - begin else {
        throw bad("shape \(shape) of \(dtypeName) needs \(byteCount) bytes, data_offsets [\(begin), \(end)] hold \(end - begin)")
    }
    return SafetensorsEntry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
}
