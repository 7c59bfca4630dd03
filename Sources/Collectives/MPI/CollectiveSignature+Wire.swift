#if canImport(Glibc)
import Glibc
#endif

// The wire format of collective signatures between MPI ranks: 64 bytes,
// compared bytewise (equal bytes mean a consistent call). Layout: sequence
// (u32), kind, dtype, rank of the shape (u8 each), a zero byte, parameter
// (u32), caught errors (u32), element count (i64), six dimensions (i32), the
// call's digest (u64), eight zero bytes.

extension CollectiveSignature {
    /// Encoded size in bytes.
    static let byteCount = 64
    /// Dimensions stored exactly; a longer shape stores a hash of the rest in the last slot.
    static let storedDims = 6

    /// Writes the 64-byte encoding to `p`.
    func encode(to p: UnsafeMutableRawPointer) {
        memset(p, 0, Self.byteCount)
        p.storeBytes(of: sequence.littleEndian, toByteOffset: 0, as: UInt32.self)
        p.storeBytes(of: kind.rawValue, toByteOffset: 4, as: UInt8.self)
        p.storeBytes(of: dtype.code, toByteOffset: 5, as: UInt8.self)
        p.storeBytes(of: UInt8(truncatingIfNeeded: shape.count), toByteOffset: 6, as: UInt8.self)
        p.storeBytes(of: parameter.littleEndian, toByteOffset: 8, as: UInt32.self)
        p.storeBytes(of: caughtErrors.littleEndian, toByteOffset: 12, as: UInt32.self)
        p.storeBytes(of: call.littleEndian, toByteOffset: 48, as: UInt64.self)
        p.storeBytes(of: Int64(shape.reduce(1, *)).littleEndian, toByteOffset: 16, as: Int64.self)
        for (i, d) in shape.prefix(Self.storedDims).enumerated() {
            p.storeBytes(of: Int32(truncatingIfNeeded: d).littleEndian, toByteOffset: 24 + 4 * i, as: Int32.self)
        }
        if shape.count > Self.storedDims {
            var h: UInt32 = 2_166_136_261
            for d in shape.dropFirst(Self.storedDims - 1) { h = (h ^ UInt32(truncatingIfNeeded: d)) &* 16_777_619 }
            p.storeBytes(of: h.littleEndian, toByteOffset: 24 + 4 * (Self.storedDims - 1), as: UInt32.self)
        }
    }

    /// Decodes a signature written by ``encode(to:)``; nil for bytes that are not one.
    static func decode(_ p: UnsafeRawPointer) -> CollectiveSignature? {
        guard let kind = CollectiveKind(rawValue: p.load(fromByteOffset: 4, as: UInt8.self)),
              let dtype = DType(code: p.load(fromByteOffset: 5, as: UInt8.self))
        else { return nil }
        let rank = Int(p.load(fromByteOffset: 6, as: UInt8.self))
        let count = Int(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: Int64.self)))
        var shape = (0..<min(rank, storedDims)).map {
            Int(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 24 + 4 * $0, as: Int32.self)))
        }
        if rank > storedDims {
            // Only the element count of the tail is known: show it as one dimension.
            shape = Array(shape.prefix(storedDims - 1))
            let head = shape.reduce(1, *)
            shape.append(head == 0 ? 0 : count / head)
        }
        return CollectiveSignature(
            sequence: UInt32(littleEndian: p.load(fromByteOffset: 0, as: UInt32.self)), kind: kind, dtype: dtype,
            shape: shape, parameter: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
            call: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 48, as: UInt64.self)),
            caughtErrors: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
    }
}

extension DType {

    /// The dtype with `code`, if any.
    init?(code: UInt8) {
        guard let d = DType.allCases.first(where: { $0.code == code }) else { return nil }
        self = d
    }
}


extension CollectiveCall {
    /// Bytes of a call's text (``encodedFields``) in the exchange that follows
    /// a mismatch; longer texts are cut.
    static let wireTextBytes = 4096

    /// Writes ``encodedFields`` (cut to `capacity - 1` bytes, NUL-terminated) to `p`.
    func encodeText(to p: UnsafeMutableRawPointer, capacity: Int) {
        let bytes = Array(encodedFields.utf8.prefix(capacity - 1))
        memset(p, 0, capacity)
        if !bytes.isEmpty { bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
    }

    /// The text written by ``encodeText(to:capacity:)``.
    static func decodeText(_ p: UnsafeRawPointer, capacity: Int) -> String {
        let b = UnsafeRawBufferPointer(start: p, count: capacity)
        let end = b.firstIndex(of: 0) ?? capacity
        return String(decoding: b[..<end], as: UTF8.self)
    }
}
