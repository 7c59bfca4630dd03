import FlockCore
import FlockIO
#if canImport(Glibc)
import Glibc
#endif

/// The file parsers under fuzzing, by the name the corpus folder and the
/// command line use (`fuzz/corpus/<name>/`).
///
/// Each target decodes untrusted bytes and then uses what it got (flattens,
/// sums and converts every tensor), because an array with a shape the reader
/// should have rejected used to fail only at its first operation. A
/// ``FlockError`` — thrown or raised — is the expected outcome for damaged
/// input; anything else (a trap, a hang, an allocation beyond the cap) is a
/// finding.
enum FuzzTargets {
    static let names = ["npy", "npz", "safetensors", "idx", "csv"]
    /// Targets that crash, hang or leak on purpose: scripts/reliability-fuzz
    /// `--self-test` checks that each is reported.
    static let selfTests = ["selftest-trap", "selftest-hang", "selftest-alloc"]

    /// Arrays larger than this are an out-of-memory error inside the targets:
    /// a header claiming a terabyte must be rejected before any allocation.
    static let allocationCap = 64 << 20

    static func prepare() {
        Configuration.maxAllocationBytes = allocationCap
        Configuration.numThreads = 1
    }

    /// Runs target `name` on `bytes`; returns false for an unknown name.
    static func run(_ name: String, _ bytes: [UInt8]) -> Bool {
        switch name {
        case "npy": exercise { [try decodeNPY(bytes)] }
        case "npz": exercise { try decodeNPZ(bytes).sorted { $0.key < $1.key }.map(\.value) }
        case "safetensors": exercise { try decodeSafetensors(bytes).tensors.sorted { $0.key < $1.key }.map(\.value) }
        case "idx": exercise { [try decodeIDX(bytes)] }
        case "csv":
            exercise { [try decodeCSV(bytes).values] }
            exercise { [try decodeCSV(bytes, delimiter: ";", header: false, dtype: .int32).values] }
        // Self-tests of the harness (not parsers): each must be reported.
        case "selftest-trap": if bytes.count > 1 { _ = [0][bytes.count] }
        case "selftest-hang": if bytes.count > 1 { while bytes.count > 1 { usleep(1000) } }
        case "selftest-alloc": if bytes.count > 1 { leaked.append([UInt8](repeating: 1, count: 64 << 20)) }
        default: return false
        }
        return true
    }
    nonisolated(unsafe) private static var leaked: [[UInt8]] = []

    /// Decodes, then uses each tensor; Flock errors are the expected outcome of bad input.
    private static func exercise(_ decode: () throws -> [Tensor]) {
        _ = try? catchingErrors {
            for x in try decode() {
                let flat = x.reshaped([-1])
                let total = x.dtype == .bool ? flat.converted(to: .int32).sum() : flat.sum()
                _ = total.converted(to: .float64).item()
                _ = x.shape.count + x.rank
            }
        }
    }
}
