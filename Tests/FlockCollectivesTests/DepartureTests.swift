import Testing
import FlockTestSupport
@testable import FlockCollectives
@testable import FlockTransforms

#if canImport(Glibc)
import Glibc
#endif

/// Run only by scripts/run-tests under `./launch -n 2`: rank 0 exits (status 4)
/// while rank 1 waits for it in a barrier. The job must end within seconds,
/// with rank 1 naming rank 0, not after the collective timeout.
@Suite(.enabled(if: getenvString("FLOCK_TEST_DELIBERATE_EXIT") != nil)) struct DeliberateExit {
    @Test func aRankThatExitsEndsTheJobWithinSeconds() throws {
        try Distributed.initialize()
        let world = Distributed.processes
        if world.rank == 0 {
            exit(4)
        } else {
            try world.barrier()
        }
    }
}
