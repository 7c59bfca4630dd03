import Testing
import FlockTestSupport
@testable import FlockCollectives
@testable import FlockTransforms

#if canImport(Glibc)
import Glibc
#endif

/// Run only by scripts/run-tests under `./launch -n 2`: rank 0 exits with
/// status 0 while rank 1 waits for it in a barrier. The job must end within
/// seconds, with rank 1 naming rank 0, not after the collective timeout.
@Suite(.enabled(if: getenvString("FLOCK_TEST_DELIBERATE_EXIT") != nil)) struct DeliberateExit {
    @Test func aRankThatExitsEndsTheJobWithinSeconds() throws {
        try Distributed.initialize()
        let world = Distributed.processes
        if world.rank == 0 {
            exit(0)
        } else {
            try world.barrier()
        }
    }
}

/// Run only by scripts/test-launch under `./launch -n 2`: rank 1 exits with
/// status 1 (a plain `exit`, no Flock error) while rank 0 waits for it in a
/// barrier. Rank 1 must not wait for rank 0 in MPI_Finalize: the job ends
/// within seconds and launch names rank 1, not rank 0's consequential abort.
@Suite(.enabled(if: getenvString("FLOCK_TEST_DELIBERATE_FAILURE") != nil)) struct DeliberateFailure {
    @Test func aRankExitingWithAnErrorStatusIsTheOneNamed() throws {
        try Distributed.initialize()
        let world = Distributed.processes
        if world.rank == 1 {
            exit(1)
        } else {
            try world.barrier()
        }
    }
}

/// Run only by scripts/test-launch under `./launch -n 2` (and by
/// scripts/test-two-hosts on 2 + 2 ranks) with a short
/// FLOCK_HEARTBEAT_TIMEOUT: rank `FLOCK_TEST_STOP_AT_END` (1 unless it is a
/// number) stops itself (SIGSTOP) after the last collective. The others, at
/// their exit, must not wait for it in MPI_Finalize forever: they name it and
/// end the job once its heartbeat is silent (shared memory on one host, messages across hosts).
@Suite(.enabled(if: getenvString("FLOCK_TEST_STOP_AT_END") != nil)) struct StopAtEnd {
    @Test func aRankStoppedAfterTheLastCollectiveEndsTheJob() throws {
        try Distributed.initialize()
        let world = Distributed.processes
        try world.barrier()
        if world.rank == getenvString("FLOCK_TEST_STOP_AT_END").flatMap({ Int($0) }) ?? 1 {
            kill(getpid(), SIGSTOP)
            usleep(200_000)  // the stop takes effect before this returns
        }
    }
}
