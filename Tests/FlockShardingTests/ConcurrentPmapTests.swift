import Foundation
import Synchronization
import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests {
    /// Several threads of one process calling multi-device programs at once:
    /// each must get its own program's collectives (before CollectiveSection,
    /// one pmap's pmean paired with another's and both returned wrong sums).
    /// Meaningful with several local devices (run-tests' 1:4 layout); across
    /// processes the programs' order is the program's own, so one process only.
    @Suite struct ConcurrentPrograms {
        @Test(.enabled(if: Distributed.processCount == 1))
        func concurrentPmapsDoNotPairEachOthersCollectives() throws {
            let L = Distributed.localDeviceCount
            let programs: [PmapFunction] = [
                pmap({ [pmean($0[0] * $0[0], axisName: "i")] }, axisName: "i"),
                pmap({ [$0[0] / psum($0[0].sum(), axisName: "i")] }, axisName: "i"),
                pmap({ [pmax($0[0], axisName: "i") - $0[0]] }, axisName: "i"),
            ]
            let oracles: [@Sendable (Tensor) -> Tensor] = [
                { x in vmap({ pmean($0 * $0, axisName: "i") }, axisName: "i")(x) },
                { x in vmap({ $0 / psum($0.sum(), axisName: "i") }, axisName: "i")(x) },
                { x in vmap({ pmax($0, axisName: "i") - $0 }, axisName: "i")(x) },
            ]
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { t in
                for round in 0..<15 {
                    let k = (t + round) % programs.count
                    let x = hostArray([L, 5], seed: 100 * t + round)
                    do {
                        let got = try programs[k].local([x])[0]
                        let want = oracles[k](x)
                        if !allclose(got, want, rtol: 1e-12, atol: 1e-12).item(Bool.self) {
                            failures.withLock { $0.append("thread \(t) round \(round) program \(k): \(got) vs \(want)") }
                        }
                    } catch {
                        failures.withLock { $0.append("thread \(t) round \(round): \(error)") }
                    }
                }
            }
            let seen = failures.withLock { $0 }
            #expect(seen.isEmpty, "\(seen.count) wrong results, first: \(seen.first ?? "")")
        }
    }
}
