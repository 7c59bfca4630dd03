// A mutation fuzzer for Flock's file parsers that needs no instrumented build
// (CI runs it from scripts/run-tests; scripts/reliability-fuzz reports its
// figures): it mutates the committed seed corpus (fuzz/corpus/<target>/) with
// a deterministic seed, runs the target in this process, and reports
//
// - a crash (a trap or a fault): a signal handler writes the input to
//   `<crash-dir>/crash-<target>.bin` and the process dies with the signal;
// - a hang: a watchdog thread sees one input run longer than `--timeout`
//   seconds and writes it to `hang-<target>.bin`;
// - an unbounded allocation: the same thread sees the resident set grow past
//   `--rss-limit-mb` and writes `oom-<target>.bin`.
//
// The last line is `fuzz-parsers: target=T executions=N crashes=C hangs=H seconds=S`.
#if !FLOCK_LIBFUZZER
import FlockCore
import Foundation
import Synchronization

/// Nanoseconds since boot when the current input started (0: between inputs).
private let runStart = Atomic<UInt64>(0)
/// The input being run, where the signal handler can write it without allocating.
nonisolated(unsafe) private var currentInput = UnsafeMutablePointer<UInt8>.allocate(capacity: maxInputBytes)
nonisolated(unsafe) private var currentCount = 0
nonisolated(unsafe) private var crashPath: UnsafeMutablePointer<CChar>? = nil
private let maxInputBytes = 1 << 20

private func nowNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// SplitMix64: the same mutations for the same seed on every machine.
private struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}

private let interestingIntegers: [UInt64] = [
    0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
    0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 1 << 40, 1 << 62,
]
private let interestingNumbers = [
    "0", "-1", "1", "-0", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
    "18446744073709551615", "4611686018427387904", "99999999999999999999999", "1e308", "nan", "", "1099511627776",
]
private let punctuation = Array("()[]{},:'\" \n\\-.eE0x".utf8)

/// One to five stacked mutations of `input` (`corpus` for splicing).
private func mutate(_ input: [UInt8], _ corpus: [[UInt8]], _ g: inout Generator) -> [UInt8] {
    var b = input
    for _ in 0...g.below(5) {
        let n = b.count
        switch g.below(10) {
        case 0 where n > 0:  // flip a bit
            b[g.below(n)] ^= UInt8(1 << g.below(8))
        case 1 where n > 0:  // an interesting or random byte
            b[g.below(n)] = g.below(2) == 0 ? UInt8(truncatingIfNeeded: interestingIntegers[g.below(interestingIntegers.count)]) : UInt8(truncatingIfNeeded: g.next())
        case 2 where n >= 2:  // a length field: 2, 4 or 8 bytes, either byte order
            let width = [2, 4, 8][g.below(3)]
            guard n >= width else { break }
            let at = g.below(n - width + 1)
            let v = interestingIntegers[g.below(interestingIntegers.count)] &+ UInt64(g.below(3)) &- 1
            let bigEndian = g.below(2) == 0
            for k in 0..<width { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(bigEndian ? width - 1 - k : k))) }
        case 3 where n > 0:  // truncate
            b.removeLast(1 + g.below(n))
        case 4 where n > 1:  // delete a range
            let at = g.below(n), len = 1 + g.below(min(64, n - at))
            b.removeSubrange(at..<(at + len))
        case 5 where n > 0:  // duplicate a range
            let at = g.below(n), len = 1 + g.below(min(256, n - at))
            b.insert(contentsOf: b[at..<(at + len)], at: g.below(n + 1))
        case 6 where !corpus.isEmpty:  // splice with another seed
            let other = corpus[g.below(corpus.count)]
            b = Array(b.prefix(g.below(n + 1))) + other.suffix(g.below(other.count + 1))
        case 7:  // a number in text headers (npy dicts, JSON, CSV)
            let digits = b.indices.filter { (48...57).contains(b[$0]) }
            guard let start = digits.isEmpty ? nil : digits[g.below(digits.count)] else { break }
            var end = start
            while end < n, (48...57).contains(b[end]) { end += 1 }
            b.replaceSubrange(start..<end, with: Array(interestingNumbers[g.below(interestingNumbers.count)].utf8))
        case 8:  // punctuation that text parsers branch on
            b.insert(punctuation[g.below(punctuation.count)], at: g.below(n + 1))
        default:  // random bytes
            for _ in 0...g.below(4) { b.insert(UInt8(truncatingIfNeeded: g.next()), at: g.below(b.count + 1)) }
        }
    }
    return Array(b.prefix(maxInputBytes))
}

private func save(_ bytes: UnsafeBufferPointer<UInt8>, to path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

private func installCrashHandler(path: String) {
    crashPath = strdup(path)
    for s in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE] {
        signal(s) { sig in
            // Only async-signal-safe calls: open, write, close, signal, raise.
            if let p = crashPath {
                let fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
                if fd >= 0 { _ = write(fd, currentInput, currentCount); close(fd) }
            }
            let message = "fuzz-parsers: CRASH (signal); input saved\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            signal(sig, SIG_DFL)
            raise(sig)
        }
    }
}

private func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Reports hangs and unbounded allocation of the input being run, then exits.
private func startWatchdog(timeout: Double, rssLimit: Int, directory: String, target: String) {
    let thread = Thread {
        while true {
            usleep(50_000)
            let start = runStart.load(ordering: .acquiring)
            var finding: String? = nil
            if start != 0, Double(nowNanoseconds() &- start) / 1e9 > timeout { finding = "hang" }
            if finding == nil, residentBytes() > rssLimit { finding = "oom" }
            guard let kind = finding else { continue }
            let path = "\(directory)/\(kind)-\(target).bin"
            save(UnsafeBufferPointer(start: currentInput, count: currentCount), to: path)
            print("fuzz-parsers: \(kind == "hang" ? "HANG (an input ran longer than \(timeout) s)" : "UNBOUNDED ALLOCATION (resident set above \(rssLimit >> 20) MiB)"); input saved to \(path)")
            print("fuzz-parsers: target=\(target) executions=? crashes=0 hangs=\(kind == "hang" ? 1 : 0) over-allocations=\(kind == "oom" ? 1 : 0) seconds=?")
            exit(kind == "hang" ? 3 : 4)
        }
    }
    thread.start()
}

@main
struct FuzzParsers {
    static let usage = """
        usage: fuzz-parsers TARGET [--seconds S] [--runs N] [--seed N] [--corpus DIR] [--timeout S]
                                   [--rss-limit-mb M] [--crash-dir DIR] [--replay FILE...]
        TARGET: \(FuzzTargets.names.joined(separator: ", ")). Mutates the seeds in DIR (default fuzz/corpus/TARGET)
        until S seconds (default 10) or N executions; --replay runs the given files once each.
        """

    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        guard let target = args.first, (FuzzTargets.names + FuzzTargets.selfTests).contains(target) else {
            print(usage)
            exit(args.first == "--help" ? 0 : 2)
        }
        args.removeFirst()
        var seconds = 10.0, runs = Int.max, seed: UInt64 = 1, timeout = 10.0, rssLimitMB = 2048
        var corpusDirectory = "fuzz/corpus/\(target)", crashDirectory = ".", replay: [String]? = nil
        while let flag = args.first {
            args.removeFirst()
            func value() -> String {
                guard let v = args.first else { print("fuzz-parsers: \(flag) needs a value\n\(usage)"); exit(2) }
                args.removeFirst()
                return v
            }
            switch flag {
            case "--seconds": seconds = Double(value()) ?? seconds
            case "--runs": runs = Int(value()) ?? runs
            case "--seed": seed = UInt64(value()) ?? seed
            case "--corpus": corpusDirectory = value()
            case "--timeout": timeout = Double(value()) ?? timeout
            case "--rss-limit-mb": rssLimitMB = Int(value()) ?? rssLimitMB
            case "--crash-dir": crashDirectory = value()
            case "--replay": replay = args; args = []
            default: print("fuzz-parsers: unknown option \(flag)\n\(usage)"); exit(2)
            }
        }
        FuzzTargets.prepare()
        installCrashHandler(path: "\(crashDirectory)/crash-\(target).bin")
        startWatchdog(timeout: timeout, rssLimit: rssLimitMB << 20, directory: crashDirectory, target: target)

        func runOne(_ input: [UInt8]) {
            input.withUnsafeBufferPointer { p in
                currentCount = min(p.count, maxInputBytes)
                if let base = p.baseAddress { currentInput.update(from: base, count: currentCount) }
            }
            runStart.store(nowNanoseconds(), ordering: .releasing)
            _ = FuzzTargets.run(target, input)
            runStart.store(0, ordering: .releasing)
        }

        if let files = replay {
            for f in files {
                guard let d = FileManager.default.contents(atPath: f) else { print("fuzz-parsers: cannot read \(f)"); exit(2) }
                runOne(Array(d))
            }
            print("fuzz-parsers: target=\(target) executions=\(files.count) crashes=0 hangs=0 seconds=0 (replay)")
            return
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: corpusDirectory)) ?? []).sorted()
        let corpus = names.compactMap { FileManager.default.contents(atPath: "\(corpusDirectory)/\($0)").map { Array($0) } }
        guard !corpus.isEmpty else { print("fuzz-parsers: no seed files in \(corpusDirectory)"); exit(2) }
        let t0 = nowNanoseconds()
        func elapsed() -> Double { Double(nowNanoseconds() - t0) / 1e9 }
        var executions = 0
        for input in corpus { runOne(input); executions += 1 }
        var g = Generator(state: seed)
        while executions < runs, elapsed() < seconds {
            runOne(mutate(corpus[g.below(corpus.count)], corpus, &g))
            executions += 1
        }
        print("fuzz-parsers: target=\(target) executions=\(executions) crashes=0 hangs=0 seconds=\(Int(elapsed().rounded())) seed=\(seed)")
    }
}
#endif
