import FlockCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Part of an `.npy` file without reading the rest: a C-ordered array's rows
// are contiguous, so rows a..<b are one byte range after the header. This is
// how each process of a job reads only its share of a large file.

/// The shape and dtype of a `.npy` file, from its header alone.
///
/// ```swift
/// let (shape, dtype) = try npyInfo("features.npy")   // ([60000, 784], float32)
/// ```
///
/// - Throws: ``FlockError`` when the file cannot be read or its header is malformed,
///   or the file's size does not match the header.
public func npyInfo(_ path: String) throws -> (shape: [Int], dtype: DType) {
    let layout = try withNPYFile(path, operation: "npyInfo") { _, layout in layout }
    return (layout.shape, layout.dtype)
}

/// Rows `rows` (along the first axis) of a `.npy` file, reading only their bytes.
///
/// ```swift
/// // Process p of P reads its contiguous share of the examples:
/// let n = try npyInfo("x.npy").shape[0]
/// let mine = try loadNPY("x.npy", rows: (p * n / P)..<((p + 1) * n / P))
/// ```
///
/// - Throws: ``FlockError`` when the range is outside the first axis, the
///   array is a scalar or Fortran-ordered (load it whole), or the file is
///   unreadable or malformed.
public func loadNPY(_ path: String, rows: Range<Int>) throws -> Tensor {
    let context = "loadNPY: \(path)"
    return try withNPYFile(path, operation: "loadNPY") { fd, layout in
        guard let first = layout.shape.first else { throw FlockError("\(context): rows \(rows) of a scalar") }
        guard rows.lowerBound >= 0, rows.upperBound <= first else {
            throw FlockError("\(context): rows \(rows) are outside the \(first) rows of shape \(layout.shape)")
        }
        guard !layout.fortranOrder || layout.shape.count == 1 else {
            throw FlockError("\(context): rows of a Fortran-ordered array are not contiguous; load the whole file")
        }
        let rowShape = Array(layout.shape.dropFirst())
        let array = DenseArray(uninitializedShape: [rows.count] + rowShape, dtype: layout.dtype)
        let rowBytes = rowShape.reduce(layout.dtype.byteSize, *)
        let dst = UnsafeMutableRawBufferPointer(start: array.buffer.pointer, count: array.byteCount)
        try readExactly(fd, into: dst, at: layout.dataStart + rows.lowerBound * rowBytes, context: context)
        if layout.swap { swapBytes(dst, itemSize: layout.dtype.byteSize) }
        if layout.dtype == .bool { for i in 0..<dst.count where dst[i] > 1 { dst[i] = 1 } }
        return Tensor(concrete: array)
    }
}

/// Opens `path`, parses its header (reading only the header's bytes), checks
/// the file size against it and runs `body` with the descriptor and layout.
private func withNPYFile<R>(_ path: String, operation: String, _ body: (Int32, NPYLayout) throws -> R) throws -> R {
    let context = "\(operation): \(path)"
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FlockError("\(operation): cannot read \(path): open failed: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw FlockError("\(context): fstat failed: \(String(cString: strerror(errno)))") }
    let size = Int(info.st_size)
    // The preamble says how long the header is; numpy itself refuses headers over 10 000 bytes by default.
    var prefix = [UInt8](repeating: 0, count: min(size, 12))
    try prefix.withUnsafeMutableBytes { try readExactly(fd, into: $0, at: 0, context: context) }
    let headerEnd: Int
    if prefix.count >= 10, prefix[6] == 1 {
        headerEnd = 10 + (Int(prefix[8]) | Int(prefix[9]) << 8)
    } else if prefix.count >= 12 {
        headerEnd = 12 + (8..<12).reduce(0) { $0 | Int(prefix[$1]) << (8 * ($1 - 8)) }
    } else {
        headerEnd = prefix.count
    }
    var header = [UInt8](repeating: 0, count: min(headerEnd, size, 1 << 24))
    try header.withUnsafeMutableBytes { try readExactly(fd, into: $0, at: 0, context: context) }
    let layout = try header.withUnsafeBytes { try NPYLayout(parsing: $0, context: context) }
    try layout.checkDataSize(fileSize: size, context: context)
    return try body(fd, layout)
}

/// Fills `buffer` from `fd` at `offset`.
private func readExactly(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, context: String) throws {
    var done = 0
    while done < buffer.count {
        let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else {
            throw FlockError("\(context): read failed at byte \(offset + done): \(n == 0 ? "unexpected end of file" : String(cString: strerror(errno)))")
        }
        done += n
    }
}
