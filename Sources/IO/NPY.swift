@_spi(Engine) import FlockCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// numpy's `.npy` format (numpy/lib/format.py, "NEP 1"): the magic `\x93NUMPY`,
// a version byte pair, a little-endian header length (2 bytes in 1.0, 4 in 2.0
// and 3.0), then a Python dict literal such as
// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with
// spaces and a newline so the data starts on a 64-byte boundary, then the raw
// elements. Everything read from a file is untrusted: each length is checked
// before it is used, and problems throw a FlockError naming what is wrong.

// MARK: - Public API

/// Encodes a tensor as the bytes of a `.npy` file, exactly as `numpy.save` writes them.
///
/// The header is format 1.0 (2.0 only if it would not fit), little-endian,
/// C order, padded so the data starts at a multiple of 64 bytes.
///
/// ```swift
/// let bytes = try encodeNPY(Tensor([1, 2, 3] as [Float]))
/// let back = try decodeNPY(bytes)          // Array([1., 2., 3.], dtype=float32)
/// ```
///
/// - Parameter x: A concrete tensor (not a tracer).
/// - Returns: The file contents.
/// - Throws: ``FlockError`` when `x` is traced.
public func encodeNPY(_ x: Tensor) throws -> [UInt8] {
    var sink = ByteArraySink()
    try writeNPY(x.concreteArray(for: "encodeNPY"), to: &sink)
    return sink.bytes
}

/// Decodes the bytes of a `.npy` file into a tensor.
///
/// Reads format versions 1.0, 2.0 and 3.0; every Flock dtype (`<f2`, `<f4`,
/// `<f8`, `|i1` … `<u8`, `|b1`, and `<V2` as bfloat16, which is how `np.save`
/// stores an `ml_dtypes` bfloat16 array) little- or big-endian (byte-swapped);
/// `int64`/`uint64` become `int32`/`uint32` without x64 (``Configuration/enableX64``);
/// Fortran-ordered data (transposed into row-major). Scalars and empty arrays
/// are fine.
///
/// ```swift
/// let t = try decodeNPY(encodeNPY(Tensor([[1, 2], [3, 4]] as [[Int32]])))
/// print(t.shape)                            // [2, 2]
/// ```
///
/// - Parameter bytes: The file contents.
/// - Throws: ``FlockError`` for an unsupported dtype or a malformed or truncated file.
public func decodeNPY(_ bytes: [UInt8]) throws -> Tensor {
    try bytes.withUnsafeBytes { try decodeNPY($0, context: "decodeNPY") }
}

/// Writes a tensor to a `.npy` file that `numpy.load` reads.
///
/// ```swift
/// try saveNPY(Tensor([1, 2, 3] as [Float]), to: "/tmp/x.npy")
/// // Python: np.load("/tmp/x.npy") -> array([1., 2., 3.], dtype=float32)
/// ```
///
/// - Parameters:
///   - x: A concrete tensor (not a tracer).
///   - path: The file to create or replace.
/// - Throws: ``FlockError`` when `x` is traced or the file cannot be written.
public func saveNPY(_ x: Tensor, to path: String) throws {
    let array = try x.concreteArray(for: "saveNPY")
    try withFileSink(path, operation: "saveNPY") { try writeNPY(array, to: &$0) }
}

/// Reads a `.npy` file written by `numpy.save` (or ``saveNPY(_:to:)``).
///
/// ```swift
/// // Python: np.save("/tmp/w.npy", np.eye(2, dtype=np.float32))
/// let w = try loadNPY("/tmp/w.npy")         // shape [2, 2], float32
/// ```
///
/// See ``decodeNPY(_:)`` for the formats read.
///
/// - Parameter path: The file to read.
/// - Throws: ``FlockError`` when the file cannot be read, has an unsupported
///   dtype, or is malformed or truncated.
public func loadNPY(_ path: String) throws -> Tensor {
    let bytes = try readFile(path, operation: "loadNPY")
    return try bytes.withUnsafeBytes { try decodeNPY($0, context: "loadNPY: \(path)") }
}

// MARK: - Dtypes

/// The npy type codes Flock supports, without the byte-order character.
/// bfloat16 is `V2`: numpy has no bfloat16, and `np.save` of an `ml_dtypes`
/// bfloat16 array writes its 2-byte elements as void (`'<V2'`), so that is what
/// Flock writes, and reads back as bfloat16.
private let npyTypeCodes: [(code: String, dtype: DType)] = [
    ("f4", .float32), ("f8", .float64), ("f2", .float16), ("V2", .bfloat16),
    ("i1", .int8), ("u1", .uint8), ("i2", .int16), ("u2", .uint16), ("i4", .int32), ("u4", .uint32),
    ("i8", .int64), ("u8", .uint64), ("b1", .bool),
]

private let supportedDescriptions =
    "supported: '<f2' (float16), '<f4' (float32), '<f8' (float64), '<V2' (bfloat16, as ml_dtypes saves it), "
    + "'|i1', '|u1', '<i2', '<u2', '<i4', '<u4', '<i8', '<u8' (integers), '|b1' (bool), and the big-endian '>' forms"

/// The `descr` numpy writes for `dtype` on a little-endian machine.
private func npyDescr(_ dtype: DType) -> String {
    let code = npyTypeCodes.first { $0.dtype == dtype }!.code
    return dtype.byteSize == 1 ? "|" + code : "<" + code
}

let hostIsLittleEndian = 1.littleEndian == 1

/// The dtype of an npy `descr` and whether its bytes need swapping on this host.
private func parseDescr(_ descr: String, context: String) throws -> (DType, swap: Bool) {
    var code = Substring(descr)
    var bigEndian = !hostIsLittleEndian
    if let order = code.first, "<>|=".contains(order) {
        code = code.dropFirst()
        if order == "<" { bigEndian = false }
        if order == ">" { bigEndian = true }
    }
    guard let entry = npyTypeCodes.first(where: { $0.code == code }) else {
        throw FlockError("\(context): unsupported dtype '\(descr)' (\(supportedDescriptions))")
    }
    return (entry.dtype, entry.dtype.byteSize > 1 && bigEndian == hostIsLittleEndian)
}

// MARK: - Writing

/// The `.npy` header numpy writes for a C-ordered array of `shape` and `dtype`.
func npyHeader(shape: [Int], dtype: DType) -> [UInt8] {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var dict = "{'descr': '\(npyDescr(dtype))', 'fortran_order': False, 'shape': \(shapeText), }"
    // numpy leaves room for the first axis to grow to 21 digits in place.
    if let first = shape.first { dict += String(repeating: " ", count: max(0, 21 - String(first).count)) }
    return wrapNPYHeader(Array(dict.utf8))
}

/// Prefixes a header dict with the magic and its length, padding it with spaces
/// and a newline so the data that follows is 64-byte aligned. Uses format 1.0
/// unless the length does not fit its 2-byte field, then 2.0.
func wrapNPYHeader(_ dict: [UInt8]) -> [UInt8] {
    // magic (6) + version (2) + length field (2 or 4) + dict + padding + "\n"
    func headerLength(lengthFieldSize: Int) -> Int {
        let unpadded = 8 + lengthFieldSize + dict.count + 1
        return dict.count + 1 + (64 - unpadded % 64)  // numpy pads a full 64 when already aligned
    }
    var lengthFieldSize = 2
    var length = headerLength(lengthFieldSize: 2)
    if length > 0xFFFF {
        lengthFieldSize = 4
        length = headerLength(lengthFieldSize: 4)
    }
    var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, lengthFieldSize == 2 ? 1 : 2, 0]  // \x93NUMPY
    for i in 0..<lengthFieldSize { out.append(UInt8(truncatingIfNeeded: length >> (8 * i))) }
    out += dict
    out += [UInt8](repeating: 0x20, count: length - dict.count - 1)
    out.append(0x0A)
    return out
}

/// Writes header and little-endian data of `array` to `sink`.
func writeNPY<Sink: ByteSink>(_ array: DenseArray, to sink: inout Sink) throws {
    let header = npyHeader(shape: array.shape, dtype: array.dtype)
    try header.withUnsafeBytes { try sink.write($0) }
    let data = littleEndianCopy(array)
    try withExtendedLifetime(data) { try sink.write(data.bytes) }
}

/// `array` itself on a little-endian host, else a byte-swapped copy.
func littleEndianCopy(_ array: DenseArray) -> DenseArray {
    if hostIsLittleEndian || array.dtype.byteSize == 1 { return array }
    let copy = DenseArray(uninitializedShape: array.shape, dtype: array.dtype)
    let dst = UnsafeMutableRawBufferPointer(start: copy.buffer.pointer, count: copy.byteCount)
    dst.copyMemory(from: array.bytes)
    swapBytes(dst, itemSize: array.dtype.byteSize)
    return copy
}

func swapBytes(_ bytes: UnsafeMutableRawBufferPointer, itemSize: Int) {
    for start in stride(from: 0, to: bytes.count, by: itemSize) {
        var lo = start, hi = start + itemSize - 1
        while lo < hi {
            bytes.swapAt(lo, hi)
            lo += 1
            hi -= 1
        }
    }
}

// MARK: - Reading

/// What the preamble and header of an `.npy` file say.
struct NPYLayout {
    var shape: [Int]
    var dtype: DType
    var descr: String
    var fortranOrder: Bool
    /// Whether the elements need byte-swapping on this host.
    var swap: Bool
    /// Offset of the first element.
    var dataStart: Int
    /// Bytes of element data the shape needs.
    var byteCount: Int

    /// Parses the preamble and header at the start of `bytes` (which may be
    /// only a prefix of the file: the data is not looked at).
    init(parsing bytes: UnsafeRawBufferPointer, context: String) throws {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10 else {
            throw FlockError("\(context): not an npy file: \(bytes.count) bytes, shorter than the 10-byte preamble")
        }
        guard bytes.prefix(6).elementsEqual(magic) else {
            let seen = bytes.prefix(6).map { String($0, radix: 16) }.joined(separator: " ")
            throw FlockError("\(context): not an npy file: bad magic bytes [\(seen)], expected [93 4e 55 4d 50 59] (\\x93NUMPY)")
        }
        let (major, minor) = (bytes[6], bytes[7])
        let headerStart: Int, headerLength: Int
        switch (major, minor) {
        case (1, 0):
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case (2, 0), (3, 0):
            guard bytes.count >= 12 else {
                throw FlockError("\(context): truncated npy file: \(bytes.count) bytes, shorter than the 12-byte v\(major).0 preamble")
            }
            headerStart = 12
            headerLength = (8..<12).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }
        default:
            throw FlockError("\(context): unsupported npy format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)")
        }
        guard headerLength <= bytes.count - headerStart else {
            throw FlockError(
                "\(context): truncated npy file: header of \(headerLength) bytes runs past the end of the \(bytes.count)-byte file")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[headerStart..<(headerStart + headerLength)])
        let header = try NPYHeader(parsing: headerBytes, context: context)
        (dtype, swap) = try parseDescr(header.descr, context: context)
        guard let (_, byteCount) = checkedSizes(header.shape, itemSize: dtype.byteSize) else {
            throw FlockError("\(context): shape \(header.shape) has too many elements")
        }
        (shape, descr, fortranOrder) = (header.shape, header.descr, header.fortranOrder)
        dataStart = headerStart + headerLength
        self.byteCount = byteCount
    }

    /// Checks that a file of `fileSize` bytes holds exactly the data the header describes.
    func checkDataSize(fileSize: Int, context: String) throws {
        let available = fileSize - dataStart
        guard available == byteCount else {
            let problem = available < byteCount ? "truncated data" : "data size mismatch"
            throw FlockError(
                "\(context): \(problem): shape \(shape) of '\(descr)' needs \(byteCount) bytes, file has \(available)")
        }
    }
}

/// Decodes `.npy` bytes; `context` starts every error message.
func decodeNPY(_ bytes: UnsafeRawBufferPointer, context: String) throws -> Tensor {
    let layout = try NPYLayout(parsing: bytes, context: context)
    try layout.checkDataSize(fileSize: bytes.count, context: context)
    let (header, dtype, swap, dataStart, byteCount) = (layout, layout.dtype, layout.swap, layout.dataStart, layout.byteCount)
    let array = DenseArray(uninitializedShape: header.shape, dtype: dtype)
    let dst = UnsafeMutableRawBufferPointer(start: array.buffer.pointer, count: byteCount)
    let src = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])
    if header.fortranOrder && header.shape.count > 1 {
        copyFromColumnMajor(src, to: dst, shape: header.shape, itemSize: dtype.byteSize)
    } else {
        dst.copyMemory(from: src)
    }
    if swap { swapBytes(dst, itemSize: dtype.byteSize) }
    // A Swift Bool must be 0 or 1; numpy treats any nonzero byte as True.
    if dtype == .bool { for i in 0..<byteCount where dst[i] > 1 { dst[i] = 1 } }
    // numpy's default int64 becomes int32 without x64, as `jnp.asarray` does.
    return Tensor(concrete: Tensor.canonicalized(array))
}

/// Copies elements stored column-major (first index fastest) into row-major order.
private func copyFromColumnMajor(
    _ src: UnsafeRawBufferPointer, to dst: UnsafeMutableRawBufferPointer, shape: [Int], itemSize: Int
) {
    let rank = shape.count
    guard !shape.contains(0) else { return }
    var sourceStrides = [Int](repeating: itemSize, count: rank)
    for axis in 1..<rank { sourceStrides[axis] = sourceStrides[axis - 1] * shape[axis - 1] }
    // Odometer over row-major destination indices, tracking the source offset.
    var index = [Int](repeating: 0, count: rank)
    var source = 0, destination = 0
    let inner = shape[rank - 1], innerStride = sourceStrides[rank - 1]
    while destination < dst.count {
        var s = source
        for _ in 0..<inner {
            for b in 0..<itemSize { dst[destination + b] = src[s + b] }
            destination += itemSize
            s += innerStride
        }
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            source += sourceStrides[axis]
            if index[axis] < shape[axis] { break }
            source -= sourceStrides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// The three entries of an npy header dict.
private struct NPYHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    init(parsing text: UnsafeRawBufferPointer, context: String) throws {
        var parser = PythonLiteralParser(text: text, context: context)
        let value = try parser.parseHeader()
        func bad(_ what: String) -> FlockError {
            FlockError("\(context): malformed npy header: \(what) in \(value)")
        }
        guard case .dict(let entries) = value else { throw bad("expected a dict") }
        var descr: String?, fortranOrder: Bool?, shape: [Int]?
        for (key, entry) in entries {
            switch (key, entry) {
            case (.string("descr"), .string(let s)): descr = s
            case (.string("descr"), .list):
                throw FlockError("\(context): unsupported structured dtype \(entry) (\(supportedDescriptions))")
            case (.string("fortran_order"), .bool(let b)): fortranOrder = b
            case (.string("shape"), .tuple(let dims)):
                shape = try dims.map { dim in
                    guard case .int(let n) = dim, n >= 0 else { throw bad("shape entry \(dim) is not a non-negative integer") }
                    return n
                }
            case (.string("descr"), _), (.string("fortran_order"), _), (.string("shape"), _):
                throw bad("unexpected value \(entry) for \(key)")
            default:
                throw bad("unexpected key \(key) (expected 'descr', 'fortran_order', 'shape')")
            }
        }
        guard let descr else { throw bad("missing key 'descr'") }
        guard let fortranOrder else { throw bad("missing key 'fortran_order'") }
        guard let shape else { throw bad("missing key 'shape'") }
        (self.descr, self.fortranOrder, self.shape) = (descr, fortranOrder, shape)
    }
}

/// The Python literals that can appear in an npy header.
private indirect enum PythonLiteral: CustomStringConvertible {
    case string(String), int(Int), bool(Bool), none
    case tuple([PythonLiteral]), list([PythonLiteral]), dict([(PythonLiteral, PythonLiteral)])

    var description: String {
        switch self {
        case .string(let s): "'\(s)'"
        case .int(let n): String(n)
        case .bool(let b): b ? "True" : "False"
        case .none: "None"
        case .tuple(let xs): "(" + xs.map(\.description).joined(separator: ", ") + (xs.count == 1 ? ",)" : ")")
        case .list(let xs): "[" + xs.map(\.description).joined(separator: ", ") + "]"
        case .dict(let kvs): "{" + kvs.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
        }
    }
}

/// A recursive-descent parser for the subset of Python literal syntax numpy
/// headers use (what `ast.literal_eval` accepts for them).
private struct PythonLiteralParser {
    let text: UnsafeRawBufferPointer
    let context: String
    var position = 0
    /// Nesting limit, so a header of many `(` cannot exhaust the stack.
    static let maxDepth = 16

    init(text: UnsafeRawBufferPointer, context: String) {
        self.text = text
        self.context = context
    }

    /// One literal, surrounded by whitespace only.
    mutating func parseHeader() throws -> PythonLiteral {
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard position == text.count else { throw error("unexpected text after the header dict") }
        return value
    }

    private func error(_ what: String) -> FlockError {
        let excerpt = String(decoding: text.prefix(200), as: UTF8.self)
        return FlockError("\(context): malformed npy header: \(what) at offset \(position) of \"\(excerpt)\"")
    }

    private var next: UInt8? { position < text.count ? text[position] : nil }

    private mutating func skipWhitespace() {
        while let c = next, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    /// Consumes `c` (after whitespace) if it is next.
    private mutating func accept(_ c: Character) -> Bool {
        skipWhitespace()
        guard next == c.asciiValue else { return false }
        position += 1
        return true
    }

    private mutating func parseValue(depth: Int) throws -> PythonLiteral {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        skipWhitespace()
        guard let c = next else { throw error("unexpected end") }
        switch c {
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try parseString(quote: c))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .int(try parseInt())
        case UInt8(ascii: "("):
            position += 1
            let (items, trailingComma) = try parseItems(until: ")", depth: depth)
            // `(3)` is just 3 in Python; a tuple of one needs the comma.
            return items.count == 1 && !trailingComma ? items[0] : .tuple(items)
        case UInt8(ascii: "["):
            position += 1
            return .list(try parseItems(until: "]", depth: depth).items)
        case UInt8(ascii: "{"):
            position += 1
            var entries: [(PythonLiteral, PythonLiteral)] = []
            while !accept("}") {
                let key = try parseValue(depth: depth + 1)
                guard accept(":") else { throw error("expected ':' after a dict key") }
                entries.append((key, try parseValue(depth: depth + 1)))
                if !accept(",") {
                    guard accept("}") else { throw error("expected ',' or '}' in a dict") }
                    break
                }
            }
            return .dict(entries)
        default:
            for (word, value) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .none)]
            where text[position...].starts(with: word.utf8) {
                position += word.utf8.count
                return value
            }
            throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
        }
    }

    /// Comma-separated values up to `close`; whether a comma ended the list.
    private mutating func parseItems(until close: Character, depth: Int) throws -> (items: [PythonLiteral], trailingComma: Bool) {
        var items: [PythonLiteral] = []
        var trailingComma = false
        while !accept(close) {
            items.append(try parseValue(depth: depth + 1))
            trailingComma = accept(",")
            if !trailingComma {
                guard accept(close) else { throw error("expected ',' or '\(close)'") }
                break
            }
        }
        return (items, trailingComma)
    }

    private mutating func parseString(quote: UInt8) throws -> String {
        position += 1
        var bytes: [UInt8] = []
        while let c = next, c != quote {
            if c == UInt8(ascii: "\\") { position += 1 }  // keep the escaped byte as is
            guard let escaped = next else { break }
            bytes.append(escaped)
            position += 1
        }
        guard next == quote else { throw error("unterminated string") }
        position += 1
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func parseInt() throws -> Int {
        let (value, digits, overflow) = scanInteger(text, &position)
        guard !overflow else { throw error("integer too large") }
        guard digits > 0 else { throw error("expected digits") }
        if next == UInt8(ascii: "L") { position += 1 }  // Python 2 long, in old files
        return value
    }
}

// MARK: - Byte sinks and files

/// Where encoders write: a byte array in memory or a file.
protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
}

struct ByteArraySink: ByteSink {
    var bytes: [UInt8] = []
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
}

struct FileSink: ByteSink {
    let file: UnsafeMutablePointer<FILE>
    let description: String

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard fwrite(bytes.baseAddress, 1, bytes.count, file) == bytes.count else {
            throw FlockError("\(description): write failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// Opens `path` for writing, runs `body` with a sink on it, and closes it.
func withFileSink(_ path: String, operation: String, _ body: (inout FileSink) throws -> Void) throws {
    guard let file = fopen(path, "wb") else {
        throw FlockError("\(operation): cannot open \(path) for writing: \(String(cString: strerror(errno)))")
    }
    var sink = FileSink(file: file, description: "\(operation): \(path)")
    do { try body(&sink) } catch {
        fclose(file)
        throw error
    }
    guard fclose(file) == 0 else {
        throw FlockError("\(operation): \(path): write failed: \(String(cString: strerror(errno)))")
    }
}

/// The whole contents of the file at `path`.
package func readFile(_ path: String, operation: String) throws -> [UInt8] {
    func failure(_ what: String) -> FlockError {
        FlockError("\(operation): cannot read \(path): \(what): \(String(cString: strerror(errno)))")
    }
    guard let file = fopen(path, "rb") else { throw failure("open failed") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    // For a regular file the size is a capacity hint; the loop reads until end of file.
    var info = stat()
    if fstat(fileno(file), &info) == 0, info.st_mode & S_IFMT == S_IFREG {
        bytes.reserveCapacity(Int(info.st_size))
    }
    let chunkSize = 1 << 20
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
    defer { chunk.deallocate() }
    while true {
        let n = fread(chunk.baseAddress, 1, chunkSize, file)
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
        if n < chunkSize { break }
    }
    guard ferror(file) == 0 else { throw failure("read failed") }
    return bytes
}
