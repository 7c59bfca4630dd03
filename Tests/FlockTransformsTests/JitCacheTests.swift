import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms

/// The jit cache stays bounded: least recently used signatures are evicted
/// and counted, and an evicted signature traces again and gives the same
/// values (the oracle: the same arithmetic in Swift).
@Suite struct JitCacheTests {
    /// `2x + 1` for a float32 vector of `n` elements 0, 1, …
    static func call(_ f: JitFunction, _ n: Int) -> [Float] {
        f([Tensor((0..<n).map(Float.init))])[0].toArray(Float.self)
    }
    static func expected(_ n: Int) -> [Float] { (0..<n).map { 2 * Float($0) + 1 } }

    /// 10,000 signatures (traced only: compiling each would take most of
    /// the suite's time) stay within the limit.
    @Test func tenThousandSignaturesStayBounded() {
        let f = jit(name: "affine") { [$0[0] * 2 + 1] }
        f.cacheLimit = 16
        var largest = 0
        for n in 1...10_000 {
            _ = f.jaxpr(for: [zeros([n])])
            largest = max(largest, f.cachedSignatureCount)
        }
        #expect(largest == 16 && f.cachedSignatureCount == 16)
        #expect(f.traceCount == 10_000 && f.evictionCount == 10_000 - 16)
        // The 16 most recent signatures are cached; an evicted one traces again.
        _ = f.jaxpr(for: [zeros([9_985])])
        #expect(f.traceCount == 10_000)
        _ = f.jaxpr(for: [zeros([9_984])])
        #expect(f.traceCount == 10_001 && f.evictionCount == 10_000 - 15)
    }

    /// Evicted compiled signatures compile again and give the right values.
    @Test func evictedSignaturesRecompileCorrectly() {
        let f = jit(name: "affine") { [$0[0] * 2 + 1] }
        f.cacheLimit = 4
        for n in 1...40 { #expect(Self.call(f, n) == Self.expected(n)) }
        #expect(f.compileCount == 40 && f.evictionCount == 36 && f.cachedSignatureCount == 4)
        for n in [1, 7, 40, 39] { #expect(Self.call(f, n) == Self.expected(n)) }
        #expect(f.compileCount == 42, "1 and 7 were evicted, 39 and 40 were not")
    }

    @Test func leastRecentlyUsedIsEvicted() {
        let f = jit(name: "affine") { [$0[0] * 2 + 1] }
        f.cacheLimit = 3
        for n in [1, 2, 3, 1, 4] { #expect(Self.call(f, n) == Self.expected(n)) }  // 2 is the least recently used
        #expect(f.traceCount == 4 && f.evictionCount == 1 && f.cachedSignatureCount == 3)
        for n in [1, 3, 4] { _ = Self.call(f, n) }
        #expect(f.traceCount == 4, "1, 3 and 4 are cached")
        #expect(Self.call(f, 2) == Self.expected(2))
        #expect(f.traceCount == 5 && f.evictionCount == 2)
    }

    @Test func configurationSetsTheDefaultLimit() throws {
        #expect(Configuration.options.contains { $0.name == "jitCacheSize" && $0.environmentVariable == "FLOCK_JIT_CACHE_SIZE" })
        expectFlockError("not a valid value for jitCacheSize") { try Configuration.update("jitCacheSize", "0") }
        let f = jit(name: "affine") { [$0[0] * 2 + 1] }
        for n in 1...3 { _ = Self.call(f, n) }
        #expect(f.cachedSignatureCount == 3 && f.evictionCount == 0, "the default limit (\(Configuration.jitCacheSize)) is larger")
    }

    /// A jitted program whose array would not fit in memory fails before it
    /// runs, with a catchable out-of-memory error naming the size.
    @Test func planLargerThanMemoryIsAnError() throws {
        #expect(systemMemoryBytes < 1 << 38)
        let f = jit(name: "huge") { [$0[0].broadcast(to: [1 << 36]) * 2] }
        expectErrorMentions(["jit(huge)", "out of memory (RESOURCE_EXHAUSTED)", "274877906944 bytes (256.0 GiB)", "f32[68719476736]"]) {
            _ = f([Tensor(Float(1))])
        }
        #expect(try catchingErrors { Self.call(jit(name: "small") { [$0[0] * 2 + 1] }, 3) } == Self.expected(3))
    }
}
