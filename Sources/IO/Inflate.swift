import CZlib
import FlockCore

// DEFLATE through the system zlib (raw streams, as zip stores them). The zip
// directory tells the decompressed size up front, so the output is one
// preallocated buffer and a stream that would write past it is rejected at
// once (no unbounded growth from a malicious archive). zlib checks every
// code, length and back-reference: a corrupt stream throws a FlockError.

/// Decompresses a raw DEFLATE stream whose output is exactly `outputCount` bytes.
///
/// Bytes after the final block are ignored. Throws when the stream is
/// truncated or malformed, or decodes to a different size.
func inflate(_ input: UnsafeRawBufferPointer, outputCount: Int) throws -> [UInt8] {
    guard input.count <= Int(UInt32.max), outputCount <= Int(UInt32.max) else {
        throw corrupt("a member of \(max(input.count, outputCount)) bytes exceeds zlib's 4 GiB limit")
    }
    return try [UInt8](unsafeUninitializedCapacity: outputCount) { out, initialized in
        var stream = z_stream()
        // -15: a raw stream (no zlib header), with deflate's largest window.
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FlockError("inflate: zlib could not start (out of memory)")
        }
        defer { inflateEnd(&stream) }
        // zlib reads the input through a mutable pointer but never writes it.
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = UInt32(input.count)
        // One spare byte: a stream longer than `outputCount` shows as output left over.
        var spare: UInt8 = 0
        let status = Int32(outputCount == 0 ? Z_BUF_ERROR : inflate(&stream, Z_FINISH, out.baseAddress!, outputCount))
        var finished = status == Z_STREAM_END
        if !finished && status == Z_BUF_ERROR && stream.avail_in == 0 && stream.total_out < UInt(outputCount) {
            throw corrupt("the input ends before the stream does")
        }
        if status != Z_STREAM_END && status != Z_BUF_ERROR && status != Z_OK {
            throw corrupt(stream.msg.map { String(cString: $0) } ?? "zlib error \(status)")
        }
        if !finished {
            // The output is full (or empty): one more byte, or the end, must follow.
            let more = withUnsafeMutablePointer(to: &spare) { inflate(&stream, Z_FINISH, $0, 1) }
            if more == Z_STREAM_END && stream.total_out == UInt(outputCount) {
                finished = true
            } else if stream.total_out > UInt(outputCount) {
                throw corrupt("decompresses to more than the expected \(outputCount) bytes")
            } else if more == Z_DATA_ERROR || more == Z_NEED_DICT || more == Z_MEM_ERROR {
                throw corrupt(stream.msg.map { String(cString: $0) } ?? "zlib error \(more)")
            } else {
                throw corrupt("the input ends before the stream does")
            }
        }
        guard stream.total_out == UInt(outputCount) else {
            throw corrupt("decompressed to \(stream.total_out) bytes, expected \(outputCount)")
        }
        initialized = outputCount
    }
}

/// One `inflate` call writing at most `count` bytes to `out`.
private func inflate(_ stream: inout z_stream, _ flush: Int32, _ out: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int32 {
    stream.next_out = out
    stream.avail_out = UInt32(count)
    return CZlib.inflate(&stream, flush)
}

private func corrupt(_ what: String) -> FlockError {
    FlockError("inflate: corrupt deflate stream: \(what)")
}
