import FlockCore

// A DEFLATE decoder (RFC 1951), so that `np.savez_compressed` archives load
// without zlib. The zip directory tells the decompressed size up front, so the
// output is one preallocated buffer and a stream that would write past it is
// rejected at once (no unbounded growth from a malicious archive). Every read
// of input, every back-reference and every table index is checked: a corrupt
// stream throws a FlockError, never reads or writes out of bounds.

/// Decompresses a raw DEFLATE stream whose output is exactly `outputCount` bytes.
///
/// Bytes after the final block are ignored. Throws when the stream is
/// truncated or malformed, or decodes to a different size.
func inflate(_ input: UnsafeRawBufferPointer, outputCount: Int) throws -> [UInt8] {
    try [UInt8](unsafeUninitializedCapacity: outputCount) { out, initialized in
        var inflater = Inflater(input: BitReader(input), output: out)
        try inflater.run()
        initialized = inflater.written
    }
}

private func corrupt(_ what: String) -> FlockError {
    FlockError("inflate: corrupt deflate stream: \(what)")
}

/// Least-significant-bit-first reader over the input, as DEFLATE packs bits.
private struct BitReader {
    let input: UnsafeRawBufferPointer
    var position = 0
    /// Pending bits, the next one in bit 0; `count` of them are valid.
    var buffer: UInt64 = 0
    var count = 0

    init(_ input: UnsafeRawBufferPointer) { self.input = input }

    /// Loads whole bytes until at least 57 bits are pending or the input ends.
    @inline(__always)
    mutating func refill() {
        while count <= 56, position < input.count {
            buffer |= UInt64(input[position]) << UInt64(count)
            position += 1
            count += 8
        }
    }

    /// The next `n` (≤ 32) bits as an integer, first bit least significant.
    @inline(__always)
    mutating func read(_ n: Int) throws -> Int {
        if count < n {
            refill()
            guard count >= n else { throw corrupt("input ends inside a block") }
        }
        let v = Int(truncatingIfNeeded: buffer & ((1 << UInt64(n)) - 1))
        consume(n)
        return v
    }

    @inline(__always)
    mutating func consume(_ n: Int) {
        buffer >>= UInt64(n)
        count -= n
    }

    /// Drops the bits up to the next byte boundary (before a stored block).
    mutating func alignToByte() { consume(count % 8) }
}

/// A canonical Huffman code (RFC 1951 §3.2.2) given by its code lengths.
///
/// Codes of up to `fastBits` bits decode with one table lookup on the next
/// bits (bit-reversed, as the stream sends a code's most significant bit
/// first); longer ones walk the canonical code one bit at a time.
private struct HuffmanCode {
    static let fastBits = 9
    static let maxBits = 15
    /// Indexed by the next `fastBits` input bits: `symbol << 4 | length`, or 0
    /// when the code is longer than `fastBits` (or not assigned).
    var fast: [UInt16]
    /// Number of codes of each length 0...15.
    var counts: [Int]
    /// Symbols ordered by (code length, symbol): the canonical code order.
    var symbols: [UInt16]

    /// Builds the code; `what` names it in errors. Over-subscribed lengths
    /// (more codes than fit) are rejected; an incomplete code is accepted and
    /// fails only if the stream uses one of its missing codes.
    init(lengths: [UInt8], what: String) throws {
        counts = [Int](repeating: 0, count: Self.maxBits + 1)
        for l in lengths { counts[Int(l)] += 1 }
        counts[0] = 0
        var unused = 1
        for len in 1...Self.maxBits {
            unused = unused << 1 - counts[len]
            if unused < 0 { throw corrupt("over-subscribed \(what) code lengths") }
        }
        // First code and first canonical index of each length.
        var nextCode = [Int](repeating: 0, count: Self.maxBits + 1)
        var offset = [Int](repeating: 0, count: Self.maxBits + 1)
        for len in 1..<Self.maxBits {
            nextCode[len + 1] = (nextCode[len] + counts[len]) << 1
            offset[len + 1] = offset[len] + counts[len]
        }
        symbols = [UInt16](repeating: 0, count: offset[Self.maxBits] + counts[Self.maxBits])
        fast = [UInt16](repeating: 0, count: 1 << Self.fastBits)
        for (symbol, l) in lengths.enumerated() where l != 0 {
            let len = Int(l)
            symbols[offset[len]] = UInt16(symbol)
            offset[len] += 1
            let code = nextCode[len]
            nextCode[len] += 1
            guard len <= Self.fastBits else { continue }
            var reversed = 0
            for i in 0..<len where code >> i & 1 == 1 { reversed |= 1 << (len - 1 - i) }
            let entry = UInt16(symbol << 4 | len)
            for i in stride(from: reversed, to: 1 << Self.fastBits, by: 1 << len) { fast[i] = entry }
        }
    }

    /// Reads one symbol.
    @inline(__always)
    func decode(_ r: inout BitReader) throws -> Int {
        if r.count < Self.maxBits { r.refill() }
        let entry = Int(fast[Int(truncatingIfNeeded: r.buffer) & (1 << Self.fastBits - 1)])
        if entry != 0 {
            let len = entry & 15
            // Bits past `r.count` read as zeros; a match is real only if it fits.
            guard len <= r.count else { throw corrupt("input ends inside a Huffman code") }
            r.consume(len)
            return entry >> 4
        }
        // Canonical walk: codes of length `len` are first..<first+counts[len].
        var code = 0, first = 0, index = 0
        for len in 1...Self.maxBits {
            guard len <= r.count else { throw corrupt("input ends inside a Huffman code") }
            code |= Int(truncatingIfNeeded: r.buffer >> UInt64(len - 1)) & 1
            let n = counts[len]
            if code - first < n {
                r.consume(len)
                return Int(symbols[index + code - first])
            }
            index += n
            first = (first + n) << 1
            code <<= 1
        }
        throw corrupt("unassigned Huffman code")
    }
}

/// Lengths (symbols 257...285) and distances (0...29): base value and extra bits.
private let lengthBase: [Int] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
]
private let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
private let distanceBase: [Int] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
    257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
]
private let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

/// Order in which a dynamic block sends the code-length code's lengths.
private let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

/// The fixed codes of block type 1 (RFC 1951 §3.2.6).
private let fixedCodes: (literals: HuffmanCode, distances: HuffmanCode) = {
    let literals = (0..<288).map { s -> UInt8 in s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8 }
    return (
        try! HuffmanCode(lengths: literals, what: "fixed literal/length"),
        // 32 codes, of which 30 and 31 are invalid symbols (rejected when decoded).
        try! HuffmanCode(lengths: [UInt8](repeating: 5, count: 32), what: "fixed distance")
    )
}()

private struct Inflater {
    var input: BitReader
    let output: UnsafeMutableBufferPointer<UInt8>
    var written = 0

    init(input: BitReader, output: UnsafeMutableBufferPointer<UInt8>) {
        self.input = input
        self.output = output
    }

    mutating func run() throws {
        var isFinal = false
        repeat {
            isFinal = try input.read(1) == 1
            switch try input.read(2) {
            case 0: try copyStoredBlock()
            case 1: try decodeBlock(fixedCodes.literals, fixedCodes.distances)
            case 2:
                let (literals, distances) = try readDynamicCodes()
                try decodeBlock(literals, distances)
            default: throw corrupt("reserved block type 3")
            }
        } while !isFinal
        guard written == output.count else {
            throw corrupt("decompressed to \(written) bytes, expected \(output.count)")
        }
    }

    private func overflow() -> FlockError {
        corrupt("decompresses to more than the expected \(output.count) bytes")
    }

    /// Block type 0: LEN, its complement NLEN, then LEN raw bytes.
    private mutating func copyStoredBlock() throws {
        input.alignToByte()
        let len = try input.read(16), nlen = try input.read(16)
        guard len == ~nlen & 0xFFFF else { throw corrupt("stored block length \(len) does not match its complement") }
        guard len <= output.count - written else { throw overflow() }
        // Whole bytes still in the bit buffer come first, then the input itself.
        var remaining = len
        while remaining > 0, input.count >= 8 {
            output[written] = UInt8(try input.read(8))
            written += 1
            remaining -= 1
        }
        guard remaining <= input.input.count - input.position else { throw corrupt("input ends inside a stored block") }
        for i in 0..<remaining { output[written + i] = input.input[input.position + i] }
        input.position += remaining
        written += remaining
    }

    /// Block type 2 header: the literal/length and distance codes, themselves
    /// sent as code lengths compressed with a code-length code.
    private mutating func readDynamicCodes() throws -> (HuffmanCode, HuffmanCode) {
        let literalCount = try input.read(5) + 257
        let distanceCount = try input.read(5) + 1
        let codeLengthCount = try input.read(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else {
            throw corrupt("dynamic block declares \(literalCount) literal/length and \(distanceCount) distance codes (at most 286 and 30)")
        }
        var codeLengthLengths = [UInt8](repeating: 0, count: 19)
        for i in 0..<codeLengthCount { codeLengthLengths[codeLengthOrder[i]] = UInt8(try input.read(3)) }
        let codeLengthCode = try HuffmanCode(lengths: codeLengthLengths, what: "code-length")

        var lengths: [UInt8] = []
        lengths.reserveCapacity(literalCount + distanceCount)
        while lengths.count < literalCount + distanceCount {
            let symbol = try codeLengthCode.decode(&input)
            let value: UInt8, repeats: Int
            switch symbol {
            case 0...15: (value, repeats) = (UInt8(symbol), 1)
            case 16:
                guard let previous = lengths.last else { throw corrupt("code length repeat with no previous length") }
                (value, repeats) = (previous, 3 + (try input.read(2)))
            case 17: (value, repeats) = (0, 3 + (try input.read(3)))
            default: (value, repeats) = (0, 11 + (try input.read(7)))
            }
            guard lengths.count + repeats <= literalCount + distanceCount else {
                throw corrupt("code length repeat runs past the \(literalCount + distanceCount) declared codes")
            }
            lengths.append(contentsOf: repeatElement(value, count: repeats))
        }
        guard lengths[256] != 0 else { throw corrupt("dynamic block has no end-of-block code") }
        return (
            try HuffmanCode(lengths: Array(lengths[..<literalCount]), what: "literal/length"),
            try HuffmanCode(lengths: Array(lengths[literalCount...]), what: "distance")
        )
    }

    /// Literals and (length, distance) back-references up to the end-of-block symbol.
    private mutating func decodeBlock(_ literals: HuffmanCode, _ distances: HuffmanCode) throws {
        while true {
            let symbol = try literals.decode(&input)
            if symbol < 256 {
                guard written < output.count else { throw overflow() }
                output[written] = UInt8(symbol)
                written += 1
                continue
            }
            if symbol == 256 { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < lengthBase.count else { throw corrupt("invalid length symbol \(symbol)") }
            let length = lengthBase[lengthIndex] + (try input.read(lengthExtra[lengthIndex]))
            let distanceSymbol = try distances.decode(&input)
            guard distanceSymbol < distanceBase.count else { throw corrupt("invalid distance symbol \(distanceSymbol)") }
            let distance = distanceBase[distanceSymbol] + (try input.read(distanceExtra[distanceSymbol]))
            guard distance <= written else {
                throw corrupt("back-reference distance \(distance) exceeds the \(written) bytes decoded so far")
            }
            guard length <= output.count - written else { throw overflow() }
            // Byte by byte: source and destination overlap when distance < length.
            for i in written..<(written + length) { output[i] = output[i - distance] }
            written += length
        }
    }
}
