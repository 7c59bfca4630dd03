import FlockCore

// numpy's `.npz` format: a zip archive with one `.npy` member per array, the
// member `name.npy` holding the array `name`. `np.savez` stores members
// uncompressed, `np.savez_compressed` deflates them (see Inflate.swift).
//
// The reader goes through the central directory at the end of the archive
// (PKWARE APPNOTE §4.3), which holds the reliable sizes: numpy writes its
// local headers with placeholder sizes and a zip64 extra field. Zip64 records
// are read; the writer emits a plain zip (no zip64), stored members with
// CRC-32, fixed timestamps and sorted names, so equal inputs give equal files.

// MARK: - Public API

/// Encodes named tensors as the bytes of an `.npz` archive, as `numpy.savez` does.
///
/// Each tensor becomes the uncompressed member `name.npy`; members are sorted by name.
///
/// ```swift
/// let bytes = try encodeNPZ(["w": Tensor([1, 2] as [Float]), "step": Tensor(Int32(7))])
/// let back = try decodeNPZ(bytes)          // ["step": ..., "w": ...]
/// ```
///
/// - Parameter arrays: Concrete tensors by name.
/// - Returns: The archive contents.
/// - Throws: ``FlockError`` when a tensor is traced or the archive would need zip64 (over 4 GiB).
public func encodeNPZ(_ arrays: [String: Tensor]) throws -> [UInt8] {
    var sink = ByteArraySink()
    try writeNPZ(arrays, to: &sink, operation: "encodeNPZ")
    return sink.bytes
}

/// Decodes the bytes of an `.npz` archive into named tensors.
///
/// Reads stored and deflated members (`np.savez` and `np.savez_compressed`),
/// checking each member's CRC-32. The key of member `name.npy` is `name`.
///
/// ```swift
/// let arrays = try decodeNPZ(encodeNPZ(["x": Tensor([1, 2, 3] as [Int32])]))
/// print(arrays["x"]!.shape)                // [3]
/// ```
///
/// - Parameter bytes: The archive contents.
/// - Throws: ``FlockError`` for a malformed, truncated or corrupt archive or member.
public func decodeNPZ(_ bytes: [UInt8]) throws -> [String: Tensor] {
    try bytes.withUnsafeBytes { try decodeNPZ($0, context: "decodeNPZ") }
}

/// Writes named tensors to an `.npz` file that `numpy.load` reads.
///
/// ```swift
/// try saveNPZ(["w": w, "b": b], to: "/tmp/params.npz")
/// // Python: d = np.load("/tmp/params.npz"); d["w"], d["b"]
/// ```
///
/// - Parameters:
///   - arrays: Concrete tensors by name; each is stored uncompressed as `name.npy`.
///   - path: The file to create or replace.
/// - Throws: ``FlockError`` when a tensor is traced, the archive would exceed
///   4 GiB (zip64 is not written), or the file cannot be written.
public func saveNPZ(_ arrays: [String: Tensor], to path: String) throws {
    try withFileSink(path, operation: "saveNPZ") { try writeNPZ(arrays, to: &$0, operation: "saveNPZ") }
}

/// Reads an `.npz` file written by `numpy.savez`, `numpy.savez_compressed` or ``saveNPZ(_:to:)``.
///
/// ```swift
/// // Python: np.savez_compressed("/tmp/p.npz", w=np.ones((2, 2), np.float32))
/// let p = try loadNPZ("/tmp/p.npz")
/// let w = p["w"]!                          // shape [2, 2], float32
/// ```
///
/// - Parameter path: The file to read.
/// - Throws: ``FlockError`` when the file cannot be read or is malformed,
///   truncated or corrupt (bad zip structure, CRC mismatch, bad deflate stream,
///   or a member that is not a supported `.npy`).
public func loadNPZ(_ path: String) throws -> [String: Tensor] {
    let bytes = try readFile(path, operation: "loadNPZ")
    return try bytes.withUnsafeBytes { try decodeNPZ($0, context: "loadNPZ: \(path)") }
}

// MARK: - Writing

private enum ZipSignature {
    static let localHeader: UInt32 = 0x0403_4B50
    static let centralHeader: UInt32 = 0x0201_4B50
    static let endOfCentralDirectory: UInt32 = 0x0605_4B50
    static let zip64EndOfCentralDirectory: UInt32 = 0x0606_4B50
    static let zip64Locator: UInt32 = 0x0706_4B50
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// Writes the archive: per member a local header then the `.npy` bytes, then
/// the central directory and its end record.
func writeNPZ<Sink: ByteSink>(_ arrays: [String: Tensor], to sink: inout Sink, operation: String) throws {
    let version: UInt16 = 20  // 2.0: what a stored member needs
    let dosDate: UInt16 = 0x21  // 1980-01-01, time 00:00
    var central: [UInt8] = []
    var offset = 0
    let names = arrays.keys.sorted()
    guard names.count < 0xFFFF else {
        throw FlockError("\(operation): \(names.count) arrays exceed the 65534 a zip without zip64 holds")
    }
    for key in names {
        let array = try arrays[key]!.concreteArray(for: "\(operation) '\(key)'")
        let header = npyHeader(shape: array.shape, dtype: array.dtype)
        let data = littleEndianCopy(array)
        var crc = CRC32()
        header.withUnsafeBytes { crc.update($0) }
        withExtendedLifetime(data) { crc.update(data.bytes) }
        let size = header.count + data.byteCount
        let name = Array((key + ".npy").utf8)
        guard size < 0xFFFF_FFFF, offset < 0xFFFF_FFFF, name.count <= 0xFFFF else {
            throw FlockError("\(operation): archive exceeds 4 GiB at '\(key)'; zip64 writing is not supported")
        }
        // Bit 11: the name is UTF-8 (otherwise readers assume code page 437).
        let flags: UInt16 = name.allSatisfy { $0 < 0x80 } ? 0 : 0x0800
        // Fields shared by the local header (from offset 4) and the central entry (from offset 6).
        var common: [UInt8] = []
        common.appendLittleEndian(version)
        common.appendLittleEndian(flags)
        common.appendLittleEndian(UInt16(0))  // method: stored
        common.appendLittleEndian(UInt16(0))  // time
        common.appendLittleEndian(dosDate)
        common.appendLittleEndian(crc.value)
        common.appendLittleEndian(UInt32(size))  // compressed
        common.appendLittleEndian(UInt32(size))  // uncompressed
        common.appendLittleEndian(UInt16(name.count))
        common.appendLittleEndian(UInt16(0))  // extra field length

        var local: [UInt8] = []
        local.appendLittleEndian(ZipSignature.localHeader)
        local += common + name
        try local.withUnsafeBytes { try sink.write($0) }
        try header.withUnsafeBytes { try sink.write($0) }
        try withExtendedLifetime(data) { try sink.write(data.bytes) }

        central.appendLittleEndian(ZipSignature.centralHeader)
        central.appendLittleEndian(version)  // made by: MS-DOS attributes, 2.0
        central += common
        central.appendLittleEndian(UInt16(0))  // comment length
        central.appendLittleEndian(UInt16(0))  // disk number
        central.appendLittleEndian(UInt16(0))  // internal attributes
        central.appendLittleEndian(UInt32(0))  // external attributes
        central.appendLittleEndian(UInt32(offset))
        central += name
        offset += local.count + size
    }
    guard offset < 0xFFFF_FFFF, central.count < 0xFFFF_FFFF else {
        throw FlockError("\(operation): archive exceeds 4 GiB; zip64 writing is not supported")
    }
    var end: [UInt8] = []
    end.appendLittleEndian(ZipSignature.endOfCentralDirectory)
    end.appendLittleEndian(UInt16(0))  // this disk
    end.appendLittleEndian(UInt16(0))  // disk with the central directory
    end.appendLittleEndian(UInt16(names.count))  // entries on this disk
    end.appendLittleEndian(UInt16(names.count))  // entries in total
    end.appendLittleEndian(UInt32(central.count))
    end.appendLittleEndian(UInt32(offset))
    end.appendLittleEndian(UInt16(0))  // comment length
    try (central + end).withUnsafeBytes { try sink.write($0) }
}

// MARK: - Reading

/// Little-endian field reads; callers check that the field lies inside `bytes`.
private extension UnsafeRawBufferPointer {
    func u16(_ at: Int) -> Int { Int(self[at]) | Int(self[at + 1]) << 8 }
    func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
    /// A 64-bit field; values beyond `Int.max` become `Int.max`, which fails every bounds check.
    func u64(_ at: Int) -> Int {
        let v = UInt64(u32(at)) | UInt64(u32(at + 4)) << 32
        return v > UInt64(Int.max) ? Int.max : Int(v)
    }
}

/// Whether `start..<start+length` lies within `0..<limit`, without overflow.
private func fits(_ start: Int, _ length: Int, in limit: Int) -> Bool {
    start >= 0 && length >= 0 && start <= limit && length <= limit - start
}

/// One member as the central directory describes it.
private struct ZipEntry {
    var name: String
    var flags: Int
    var method: Int
    var crc: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    var localHeaderOffset: Int
}

func decodeNPZ(_ bytes: UnsafeRawBufferPointer, context: String) throws -> [String: Tensor] {
    var arrays: [String: Tensor] = [:]
    for entry in try readCentralDirectory(bytes, context: context) {
        if entry.name.hasSuffix("/") && entry.uncompressedSize == 0 { continue }  // a directory
        let memberContext = "\(context): member '\(entry.name)'"
        let key = entry.name.hasSuffix(".npy") ? String(entry.name.dropLast(4)) : entry.name
        guard arrays[key] == nil else { throw FlockError("\(memberContext): duplicate array name '\(key)'") }
        arrays[key] = try withMemberBytes(entry, in: bytes, context: memberContext) {
            try decodeNPY($0, context: memberContext)
        }
    }
    return arrays
}

private func badZip(_ context: String, _ what: String) -> FlockError {
    FlockError("\(context): bad zip structure: \(what)")
}

/// The entries of the central directory, located through the end record.
private func readCentralDirectory(_ bytes: UnsafeRawBufferPointer, context: String) throws -> [ZipEntry] {
    // The end record is 22 bytes plus a comment of up to 65535 bytes, and must
    // end the file exactly (anything else means truncation or trailing junk).
    guard bytes.count >= 22 else {
        throw badZip(context, "\(bytes.count) bytes, shorter than a zip end-of-central-directory record")
    }
    var endOffset: Int?
    for p in stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 0xFFFF), by: -1)
    where bytes.u32(p) == Int(ZipSignature.endOfCentralDirectory) && p + 22 + bytes.u16(p + 20) == bytes.count {
        endOffset = p
        break
    }
    guard let end = endOffset else {
        throw badZip(context, "no end-of-central-directory record (not a zip file, or truncated)")
    }
    guard bytes.u16(end + 4) == 0, bytes.u16(end + 6) == 0, bytes.u16(end + 8) == bytes.u16(end + 10) else {
        throw badZip(context, "multi-disk archives are not supported")
    }
    var entryCount = bytes.u16(end + 10)
    var directorySize = bytes.u32(end + 12)
    var directoryOffset = bytes.u32(end + 16)
    var directoryLimit = end
    // Zip64: a locator just before the end record points at the zip64 end record.
    if end >= 20, bytes.u32(end - 20) == Int(ZipSignature.zip64Locator) {
        let record = bytes.u64(end - 12)
        guard fits(record, 56, in: end - 20), bytes.u32(record) == Int(ZipSignature.zip64EndOfCentralDirectory) else {
            throw badZip(context, "zip64 locator points to offset \(record), where there is no zip64 end record")
        }
        entryCount = bytes.u64(record + 32)
        directorySize = bytes.u64(record + 40)
        directoryOffset = bytes.u64(record + 48)
        directoryLimit = record
    }
    guard fits(directoryOffset, directorySize, in: directoryLimit) else {
        throw badZip(context, "central directory (offset \(directoryOffset), \(directorySize) bytes) lies outside the file")
    }
    let directoryEnd = directoryOffset + directorySize
    guard entryCount <= directorySize / 46 else {
        throw badZip(context, "\(entryCount) entries cannot fit a \(directorySize)-byte central directory")
    }

    var entries: [ZipEntry] = []
    var p = directoryOffset
    for i in 0..<entryCount {
        guard fits(p, 46, in: directoryEnd), bytes.u32(p) == Int(ZipSignature.centralHeader) else {
            throw badZip(context, "central directory entry \(i) at offset \(p) is missing or has a bad signature")
        }
        let nameLength = bytes.u16(p + 28), extraLength = bytes.u16(p + 30), commentLength = bytes.u16(p + 32)
        guard fits(p + 46, nameLength + extraLength + commentLength, in: directoryEnd) else {
            throw badZip(context, "central directory entry \(i) runs past the directory")
        }
        var entry = ZipEntry(
            name: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(p + 46)..<(p + 46 + nameLength)]), as: UTF8.self),
            flags: bytes.u16(p + 8), method: bytes.u16(p + 10), crc: UInt32(bytes.u32(p + 16)),
            compressedSize: bytes.u32(p + 20), uncompressedSize: bytes.u32(p + 24),
            localHeaderOffset: bytes.u32(p + 42))
        try readZip64Extra(
            UnsafeRawBufferPointer(rebasing: bytes[(p + 46 + nameLength)..<(p + 46 + nameLength + extraLength)]),
            into: &entry, context: context)
        entries.append(entry)
        p += 46 + nameLength + extraLength + commentLength
    }
    return entries
}

/// Replaces the 0xFFFFFFFF placeholders of `entry` by the values of its zip64 extra field.
private func readZip64Extra(_ extra: UnsafeRawBufferPointer, into entry: inout ZipEntry, context: String) throws {
    var p = 0
    while p + 4 <= extra.count {
        let id = extra.u16(p), size = extra.u16(p + 2)
        guard fits(p + 4, size, in: extra.count) else {
            throw badZip(context, "extra field of '\(entry.name)' runs past its end")
        }
        if id == 0x0001 {
            var q = p + 4
            // Present in this order, each only if its 32-bit field is the placeholder.
            for field in [\ZipEntry.uncompressedSize, \.compressedSize, \.localHeaderOffset]
            where entry[keyPath: field] == 0xFFFF_FFFF {
                guard q + 8 <= p + 4 + size else {
                    throw badZip(context, "zip64 extra field of '\(entry.name)' is too short")
                }
                entry[keyPath: field] = extra.u64(q)
                q += 8
            }
        }
        p += 4 + size
    }
}

/// Runs `body` on the uncompressed contents of `entry`, after checking its CRC-32.
private func withMemberBytes<R>(
    _ entry: ZipEntry, in bytes: UnsafeRawBufferPointer, context: String, _ body: (UnsafeRawBufferPointer) throws -> R
) throws -> R {
    let local = entry.localHeaderOffset
    guard fits(local, 30, in: bytes.count), bytes.u32(local) == Int(ZipSignature.localHeader) else {
        throw badZip(context, "no local header at offset \(local)")
    }
    let dataStart = local + 30 + bytes.u16(local + 26) + bytes.u16(local + 28)
    guard fits(dataStart, entry.compressedSize, in: bytes.count) else {
        throw badZip(context, "\(entry.compressedSize) bytes of data at offset \(dataStart) run past the end of the file")
    }
    guard entry.flags & 1 == 0 else { throw FlockError("\(context): encrypted members are not supported") }
    let stored = UnsafeRawBufferPointer(rebasing: bytes[dataStart..<(dataStart + entry.compressedSize)])

    func checked(_ data: UnsafeRawBufferPointer) throws -> R {
        let crc = CRC32.checksum(data)
        guard crc == entry.crc else {
            throw FlockError(
                "\(context): CRC-32 mismatch: directory says \(hex(entry.crc)), contents give \(hex(crc)) (corrupt archive)")
        }
        return try body(data)
    }
    switch entry.method {
    case 0:
        guard entry.compressedSize == entry.uncompressedSize else {
            throw badZip(context, "stored member has compressed size \(entry.compressedSize) ≠ size \(entry.uncompressedSize)")
        }
        return try checked(stored)
    case 8:
        // DEFLATE expands at most 258 bytes per 2 bits (~1032:1); a larger
        // claimed size is corrupt, and must not drive the output allocation.
        guard entry.uncompressedSize <= entry.compressedSize * 1032 + 1024 else {
            throw badZip(context, "claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) deflated bytes")
        }
        let data: [UInt8]
        do { data = try inflate(stored, outputCount: entry.uncompressedSize) } catch let error as FlockError {
            throw FlockError("\(context): \(error.message)")
        }
        return try data.withUnsafeBytes { try checked($0) }
    default:
        throw FlockError("\(context): compression method \(entry.method) is not supported (only 0 stored and 8 deflate)")
    }
}

private func hex(_ v: UInt32) -> String {
    let digits = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
