import FlockCore

// CRC-32 as zip and zlib use it (ISO-HDLC: reflected polynomial 0xEDB88320,
// initial value and final xor 0xFFFFFFFF). Zip stores it for every member, so
// the reader can tell a damaged archive from a valid one.

/// Lookup table: the CRC of every byte value, shifted through eight rounds.
private let crc32Table: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

/// Incremental CRC-32 of a byte stream.
package struct CRC32 {
    private var state: UInt32 = 0xFFFF_FFFF

    package init() {}

    /// Feeds `bytes` into the checksum.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var c = state
        crc32Table.withUnsafeBufferPointer { table in
            for b in bytes { c = table[Int(UInt8(truncatingIfNeeded: c) ^ b)] ^ (c >> 8) }
        }
        state = c
    }

    /// The checksum of everything fed so far.
    package var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// The checksum of `bytes` in one call.
    package static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// The checksum of a byte array.
    package static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
