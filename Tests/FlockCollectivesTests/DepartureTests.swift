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

/// Run only by scripts/test-launch under `./launch -n 2` with a short
/// FLOCK_HEARTBEAT_TIMEOUT: rank 1 stops itself (SIGSTOP) after the last
/// collective. Rank 0, at its exit, must not wait for it in MPI_Finalize
/// forever: it names rank 1 and ends the job once rank 1's heartbeat is silent.
@Suite(.enabled(if: getenvString("FLOCK_TEST_STOP_AT_END") != nil)) struct StopAtEnd {
    @Test func aRankStoppedAfterTheLastCollectiveEndsTheJob() throws {
        try Distributed.initialize()
        let world = Distributed.processes
        try world.barrier()
        if world.rank == 1 {
            kill(getpid(), SIGSTOP)
            usleep(200_000)  // the stop takes effect before this returns
        }
    }
}
