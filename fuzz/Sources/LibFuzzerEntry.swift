// libFuzzer's entry point, compiled only into the instrumented build
// (`scripts/reliability-fuzz --engine libfuzzer` builds with
// `--sanitize=fuzzer -Xswiftc -DFLOCK_LIBFUZZER`; libFuzzer supplies `main`).
// The target is chosen by `FLOCK_FUZZ_TARGET` (npy, npz, safetensors, idx, csv).
#if FLOCK_LIBFUZZER
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var target: String = {
    FuzzTargets.prepare()
    guard let p = getenv("FLOCK_FUZZ_TARGET"), FuzzTargets.names.contains(String(cString: p)) else {
        print("fuzz-parsers: set FLOCK_FUZZ_TARGET to one of \(FuzzTargets.names.joined(separator: ", "))")
        exit(2)
    }
    return String(cString: p)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = FuzzTargets.run(target, bytes)
    return 0
}
#endif
