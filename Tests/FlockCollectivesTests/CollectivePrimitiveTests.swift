import Testing
import FlockTestSupport
@testable import FlockCollectives
@testable import FlockTransforms

extension CollectivesTests {
    /// Collective primitives: vmap against JAX, and every transport against vmap.
    @Suite struct Primitives {
        @Test func processesMatchVmap() throws {
            let world = Distributed.processes
            for c in CollectiveCases.values + CollectiveCases.flockOnly {
                #expect(throws: Never.self, "\(c.name)") { try expectMatchesVmap(c, world, try vmapResult(c, size: world.size)) }
            }
        }

        @Test func localDevicesMatchVmap() throws {
            let devices = Distributed.deviceCount
            let outcomes = Distributed.onEachLocalDevice(axisName: "i") { local -> [String] in
                let communicator = Distributed.localDevices[local]
                var failures: [String] = []
                for c in CollectiveCases.values + CollectiveCases.flockOnly {
                    guard let expected = try? vmapResult(c, size: devices)[communicator.rank],
                          let got = try? memberResult(c, communicator) else {
                        failures.append("\(c.name) on device \(communicator.rank) failed")
                        continue
                    }
                    if got.shape != expected.shape || zip(got.toArray(Double.self), expected.toArray(Double.self)).contains(where: {
                        Swift.abs($0 - $1) > 1e-10 * Swift.max(1, Swift.abs($1))
                    }) {
                        failures.append("\(c.name) on device \(communicator.rank): \(got) vs \(expected)")
                    }
                }
                return failures
            }
            #expect(outcomes.flatMap { $0 }.isEmpty, "\(outcomes.flatMap { $0 })")
        }
    }
}
