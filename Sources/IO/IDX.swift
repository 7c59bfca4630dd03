import FlockCore

// The IDX format of the MNIST files (yann.lecun.com/exdb/mnist): two zero
// bytes, a type code, the number of dimensions, each dimension as a 4-byte
// big-endian integer, then the elements, big-endian, row-major. The files are
// usually distributed gzip-compressed; a `.gz` stream (magic 1f 8b) is
// inflated first. Flock has no 8- or 16-bit dtypes, so integer codes widen to
// int32 (every value fits) and the float codes keep their width.

/// Decodes the bytes of an IDX file (MNIST format), gzip-compressed or not.
///
/// | Type code | IDX type | Flock dtype |
/// |---|---|---|
/// | 0x08 | unsigned byte | int32 |
/// | 0x09 | signed byte | int32 |
/// | 0x0B | 16-bit integer | int32 |
/// | 0x0C | 32-bit integer | int32 |
/// | 0x0D | 32-bit float | float32 |
/// | 0x0E | 64-bit float | float64 |
///
/// ```swift
/// let images = try loadIDX("train-images-idx3-ubyte.gz")   // int32 [60000, 28, 28]
/// let x = images.converted(to: .float32) / 255
/// ```
///
/// - Parameter bytes: The file contents.
/// - Throws: ``FlockError`` for a bad magic number, an unknown type code, or a
///   size that does not match the dimensions.
public func decodeIDX(_ bytes: [UInt8]) throws -> Tensor {
    try decodeIDX(bytes, context: "decodeIDX")
}

/// Reads an IDX file (MNIST format), gzip-compressed or not. See ``decodeIDX(_:)``.
///
/// - Parameter path: The file to read.
/// - Throws: ``FlockError`` when the file cannot be read or is malformed.
public func loadIDX(_ path: String) throws -> Tensor {
    try decodeIDX(readFile(path, operation: "loadIDX"), context: "loadIDX: \(path)")
}

/// The IDX type codes: element size and the Flock dtype they decode to.
private let idxTypes: [UInt8: (size: Int, dtype: DType, name: String)] = [
    0x08: (1, .int32, "unsigned byte"), 0x09: (1, .int32, "signed byte"), 0x0B: (2, .int32, "short"),
    0x0C: (4, .int32, "int"), 0x0D: (4, .float32, "float"), 0x0E: (8, .float64, "double"),
]

func decodeIDX(_ file: [UInt8], context: String) throws -> Tensor {
    let bytes = file.starts(with: [0x1F, 0x8B]) ? try gunzip(file, context: context) : file
    guard bytes.count >= 4 else {
        throw FlockError("\(context): not an IDX file: \(bytes.count) bytes, shorter than the 4-byte magic number")
    }
    guard bytes[0] == 0, bytes[1] == 0 else {
        throw FlockError(
            "\(context): not an IDX file: magic number starts with \(bytes[0]) \(bytes[1]), expected two zero bytes")
    }
    guard let type = idxTypes[bytes[2]] else {
        throw FlockError(
            "\(context): unknown IDX type code 0x\(String(bytes[2], radix: 16)) (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)")
    }
    let rank = Int(bytes[3])
    let dataStart = 4 + 4 * rank
    guard bytes.count >= dataStart else {
        throw FlockError("\(context): truncated IDX file: \(rank) dimensions need \(dataStart) header bytes, file has \(bytes.count)")
    }
    let shape = (0..<rank).map { d in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) } }
    guard let (count, needed) = checkedSizes(shape, itemSize: type.size) else {
        throw FlockError("\(context): IDX dimensions \(shape) have too many elements")
    }
    guard needed == bytes.count - dataStart else {
        throw FlockError(
            "\(context): IDX dimensions \(shape) of \(type.name) need \(needed) data bytes, file has \(bytes.count - dataStart)")
    }
    let array = DenseArray(uninitializedShape: shape, dtype: type.dtype)
    bytes.withUnsafeBytes { raw in
        let src = UnsafeRawBufferPointer(rebasing: raw[dataStart...])
        func bigEndian<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
            T(bigEndian: src.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
        }
        switch bytes[2] {
        case 0x08: let out = array.mutablePointer(Int32.self); for i in 0..<count { out[i] = Int32(src[i]) }
        case 0x09: let out = array.mutablePointer(Int32.self); for i in 0..<count { out[i] = Int32(Int8(bitPattern: src[i])) }
        case 0x0B: let out = array.mutablePointer(Int32.self); for i in 0..<count { out[i] = Int32(bigEndian(Int16.self, i)) }
        case 0x0C: let out = array.mutablePointer(Int32.self); for i in 0..<count { out[i] = bigEndian(Int32.self, i) }
        case 0x0D:
            let out = array.mutablePointer(Float.self)
            for i in 0..<count { out[i] = Float(bitPattern: bigEndian(UInt32.self, i)) }
        default:
            let out = array.mutablePointer(Double.self)
            for i in 0..<count { out[i] = Double(bitPattern: bigEndian(UInt64.self, i)) }
        }
    }
    return Tensor(concrete: array)
}

/// The contents of a gzip stream (RFC 1952) of one member, its CRC-32 and size checked.
func gunzip(_ bytes: [UInt8], context: String) throws -> [UInt8] {
    func corrupt(_ what: String) -> FlockError { FlockError("\(context): corrupt gzip stream: \(what)") }
    guard bytes.count >= 18 else { throw corrupt("\(bytes.count) bytes, shorter than gzip's 18-byte minimum") }
    guard bytes[2] == 8 else { throw corrupt("compression method \(bytes[2]), expected 8 (deflate)") }
    let flags = bytes[3]
    var position = 10
    func skip(_ n: Int) throws {
        guard n <= bytes.count - 8 - position else { throw corrupt("header runs past the end") }
        position += n
    }
    if flags & 0x04 != 0 {  // FEXTRA
        try skip(2)
        try skip(Int(bytes[position - 2]) | Int(bytes[position - 1]) << 8)
    }
    for flag in [UInt8(0x08), 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
        while position < bytes.count - 8, bytes[position] != 0 { position += 1 }
        try skip(1)
    }
    if flags & 0x02 != 0 { try skip(2) }  // FHCRC
    let trailer = bytes.count - 8
    let crc = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[trailer + $1]) << (8 * UInt32($1)) }
    let size = (4..<8).reduce(0) { $0 | Int(bytes[trailer + $1]) << (8 * ($1 - 4)) }
    // DEFLATE expands at most ~1032:1, so a larger claimed size is a corrupt (or hostile) trailer.
    guard size <= (trailer - position) * 1032 else { throw corrupt("claimed size \(size) is impossible for \(trailer - position) compressed bytes") }
    let out = try bytes.withUnsafeBytes { try inflate(UnsafeRawBufferPointer(rebasing: $0[position..<trailer]), outputCount: size) }
    guard out.count == size else { throw corrupt("decoded \(out.count) bytes, the trailer says \(size)") }
    guard CRC32.checksum(out) == crc else { throw corrupt("CRC-32 mismatch") }
    return out
}
