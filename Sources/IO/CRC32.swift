import CZlib

// CRC-32 as zip uses it (ISO-HDLC), from the system zlib. Zip stores it for
// every member, so the reader can tell a damaged archive from a valid one.

/// Incremental CRC-32 of a byte stream.
package struct CRC32 {
    /// zlib's running checksum (its pre- and post-conditioning included).
    private var state: UInt = 0

    package init() {}

    /// Feeds `bytes` into the checksum.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        while !rest.isEmpty {
            // zlib takes at most 4 GiB per call.
            let n = min(rest.count, Int(UInt32.max))
            let chunk = UnsafeRawBufferPointer(rebasing: rest.prefix(n))
            state = crc32(state, chunk.baseAddress?.assumingMemoryBound(to: Bytef.self), UInt32(n))
            rest = rest.dropFirst(n)
        }
    }

    /// The checksum of everything fed so far.
    package var value: UInt32 { UInt32(truncatingIfNeeded: state) }

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
