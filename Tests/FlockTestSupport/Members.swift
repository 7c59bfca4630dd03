// Running the members of an in-process group, one thread each.

import Foundation
import FlockCore
import Synchronization

/// Runs `body` on `n` threads at once (members of an in-process group block
/// until all have arrived, so each needs its own thread) and returns each
/// thread's outcome.
public func onMembers<R: Sendable>(_ n: Int, _ body: @escaping @Sendable (Int) throws -> R) -> [Result<R, any Error>] {
    let results = Mutex<[Int: Result<R, any Error>]>([:])
    let done = DispatchGroup()
    for i in 0..<n {
        done.enter()
        let thread = Thread {
            let r = Result { try body(i) }
            results.withLock { $0[i] = r }
            done.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    done.wait()
    return (0..<n).map { i in results.withLock { $0[i]! } }
}

/// The message of a thrown ``FlockError``, or a description of what happened instead.
public func thrownMessage<R>(_ r: Result<R, any Error>) -> String {
    switch r {
    case .success: "no error"
    case .failure(let e as FlockError): e.message
    case .failure(let e): "\(e)"
    }
}
