/// Agreement between processes before collective work starts.
///
/// Checks that depend only on global facts (meshes, specs, global shapes)
/// reach the same verdict on every process. Checks of *process-local* data —
/// the local data given to `makeArrayFromProcessLocalData`, `pmap`'s
/// arguments, host arrays — can fail on one process only; that process would
/// stop while the others wait for it in the next collective. So such checks
/// run through ``agreeOnEveryProcess(_:signature:_:)``: one 8-byte all-gather
/// of (verdict, signature hash) between the processes, and only when some
/// process failed or saw different arguments, a second one with everybody's
/// message — so every process throws the same clear error, and none hangs.

/// Runs `check` on this process and throws on every process if it failed on
/// any of them, or if the processes' `signature`s (a description of their
/// arguments) differ.
func agreeOnEveryProcess(_ operation: String, signature: @autoclosure () -> String, _ check: () throws -> Void) throws {
    var failure: FlockError? = nil
    do { try check() } catch let e as FlockError { failure = e } catch { failure = FlockError("\(operation): \(error)") }
    let world = Distributed.processTransport
    guard world.size > 1 else {
        if let failure { throw failure }
        return
    }
    let signature = signature()
    let verdict = DenseArray([failure == nil ? 1 : 0, Int32(bitPattern: fnv1a(signature))], shape: [2])
    let all = try world.allGather(verdict).toArray(Int32.self)
    let ok = stride(from: 0, to: all.count, by: 2).map { all[$0] == 1 }
    let hashes = Set(stride(from: 1, to: all.count, by: 2).map { all[$0] })
    if ok.allSatisfy({ $0 }) && hashes.count == 1 { return }
    // Something is wrong somewhere: exchange the messages, then fail everywhere.
    let texts = try exchangeTexts(failure?.message ?? signature, world)
    if let failure { throw failure }
    if let p = ok.firstIndex(of: false) {
        throw FlockError("\(operation): process \(p) rejected its arguments: \(texts[p])")
    }
    throw FlockError(
        "\(operation): the processes were called with different arguments: "
            + texts.enumerated().map { "process \($0): \($1)" }.joined(separator: "; "))
}

/// Every process's `text` (UTF-8, truncated to 252 bytes), in process order.
private func exchangeTexts(_ text: String, _ world: any CollectiveTransport) throws -> [String] {
    let words = 64
    var bytes = Array(text.utf8.prefix(words * 4 - 4))
    let length = bytes.count
    bytes += [UInt8](repeating: 0, count: words * 4 - 4 - length)
    var packed = [Int32(length)]
    for i in stride(from: 0, to: bytes.count, by: 4) {
        packed.append(Int32(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24))
    }
    let all = try world.allGather(DenseArray(packed, shape: [words])).toArray(Int32.self)
    return (0..<world.size).map { p in
        let row = all[(p * words)..<((p + 1) * words)]
        let n = Int(row.first!)
        let raw = row.dropFirst().flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: w) >> (8 * $0)) } }
        return String(decoding: raw.prefix(n), as: UTF8.self)
    }
}

/// 32-bit FNV-1a hash of a string's UTF-8 bytes.
func fnv1a(_ s: String) -> UInt32 {
    var h: UInt32 = 2_166_136_261
    for b in s.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
    return h
}
