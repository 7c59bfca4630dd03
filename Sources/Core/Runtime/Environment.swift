#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The value of an environment variable, if set.
package func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}

/// Whether an environment variable is set to `1` or `true`.
package func getenvFlag(_ name: String) -> Bool {
    guard let s = getenvString(name) else { return false }
    return s == "1" || s.lowercased() == "true"
}

enum ProcessInfoLite {
    /// Processors this process may run on (its affinity mask), as XLA counts them.
    static var activeProcessorCount: Int {
        Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}
