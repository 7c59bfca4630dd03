import Testing
import FlockTestSupport
@testable import FlockCollectives
@testable import FlockTransforms

extension CollectivesTests {
    /// The transports, without primitives: in-process groups, hierarchical
    /// groups (emulated processes are an in-process group too), and MPI ranks
    /// (one process under `swift test`, N under `./launch -n N`).
    @Suite struct Communicators {
        @Test(arguments: [1, 2, 3, 4])
        func inProcessGroupMeansWhatItSays(size: Int) throws {
            let group = InProcessGroup(size: size, timeout: 30)
            for r in onMembers(size, { try expectCommunicatorSemantics(group.members[$0]) }) { try r.get() }
        }

        @Test(arguments: [(2, 2), (3, 2), (2, 1), (1, 3)])
        func hierarchicalGroupMeansWhatItSays(processes: Int, localSize: Int) throws {
            let processGroup = InProcessGroup(size: processes, timeout: 30)
            let results = onMembers(processes) { p in
                let local = HierarchicalGroup(localSize: localSize, processes: processGroup.members[p], timeout: 30)
                for r in onMembers(localSize, { l in
                    #expect(local.members[l].rank == p * localSize + l)
                    try expectCommunicatorSemantics(local.members[l])
                }) { try r.get() }
            }
            for r in results { try r.get() }
        }

        @Test func inProcessMismatchFailsEveryMember() {
            let group = InProcessGroup(size: 3, timeout: 30)
            let results = onMembers(3) { i in
                try group.members[i].allReduce(Tensor([Float](repeating: 1, count: i == 1 ? 3 : 2)).concreteOrFail(), .sum)
            }
            let messages = results.map(thrownMessage)
            for m in messages {
                #expect(m.contains("different shapes") && m.contains("1: all-reduce of f32[3]") && m.contains("0: all-reduce of f32[2]"), "\(m)")
            }
            #expect(Set(messages).count == 1, "every member reports the same error")
            // The group stays usable: the failed collective was exchanged by everyone.
            for r in onMembers(3, { try group.members[$0].allReduce(Tensor([Float(1)]).concreteOrFail(), .sum) }) {
                #expect((try? r.get()).map(doubles) == [3])
            }
        }

        @Test func inProcessMissingMemberTimesOut() {
            let group = InProcessGroup(size: 2, timeout: 0.3)
            let start = monotonicNanoseconds()
            let r = Result { try group.members[0].barrier() }
            let seconds = Double(monotonicNanoseconds() - start) / 1e9
            let m = thrownMessage(r)
            #expect(m.contains("waited") && m.contains("members [1]"), "\(m)")
            #expect(seconds < 5)
            #expect(thrownMessage(Result { try group.members[1].barrier() }).contains("waited"), "later calls fail at once")
        }

        @Test func hierarchicalLocalMismatchFailsEveryProcess() {
            let processGroup = InProcessGroup(size: 2, timeout: 30)
            let results = onMembers(2) { p -> [String] in
                let local = HierarchicalGroup(localSize: 2, processes: processGroup.members[p], timeout: 30)
                return onMembers(2) { l in
                    // Only process 0's second device passes a different dtype.
                    let dtype: DType = p == 0 && l == 1 ? .float64 : .float32
                    return try local.members[l].allGather(Tensor([1.0], shape: [1]).converted(to: dtype).concreteOrFail())
                }.map(thrownMessage)
            }
            let messages = results.flatMap { (try? $0.get()) ?? ["process failed"] }
            #expect(messages.count == 4)
            #expect(messages[0].contains("different dtypes") && messages[0].contains("local devices of process 0"), "\(messages[0])")
            #expect(messages[2].contains("its own local members called the collective inconsistently"), "\(messages[2])")
        }

        @Test func invalidOperationsFailOnEveryMember() {
            let group = InProcessGroup(size: 2, timeout: 30)
            let x = Tensor([Float(1), 2]).concreteOrFail()
            let results = onMembers(2) { try group.members[$0].permute(x, pairs: [(0, 1), (1, 1)]) }
            for r in results { #expect(thrownMessage(r).contains("destination 1 appears more than once"), "\(thrownMessage(r))") }
            let scatter = onMembers(2) { try group.members[$0].reduceScatter(Tensor([Float(1), 2, 3]).concreteOrFail(), .sum) }
            for r in scatter { #expect(thrownMessage(r).contains("leading axis must equal the 2 members"), "\(thrownMessage(r))") }
        }

        @Test func processesMeanWhatTheySay() throws {
            try Distributed.initialize()
            #expect(Distributed.processCount == Distributed.processes.size)
            // The layout the launcher asked for, read from the environment (not from Distributed).
            if let size = getenvString("OMPI_COMM_WORLD_SIZE") {
                #expect(Distributed.usesMPI)
                #expect(Distributed.processCount == Int(size), "OMPI_COMM_WORLD_SIZE = \(size)")
                #expect(Distributed.processIndex == Int(getenvString("OMPI_COMM_WORLD_RANK") ?? ""))
            } else if getenvString("PMIX_RANK") == nil && getenvString("PMI_SIZE") == nil {
                #expect(!Distributed.usesMPI && Distributed.processCount == 1 && Distributed.processIndex == 0)
            }
            // Set by scripts/run-tests for each layout, independently of ./launch.
            if let expected = getenvString("FLOCK_TEST_EXPECT_LOCAL_DEVICES") {
                #expect(Distributed.localDeviceCount == Int(expected), "FLOCK_TEST_EXPECT_LOCAL_DEVICES = \(expected)")
                #expect(Distributed.localDevices.count == Int(expected))
            }
            try expectCommunicatorSemantics(Distributed.processTransport)
        }

        @Test func processMismatchFailsEveryRankAndRecovers() throws {
            let world = Distributed.processTransport
            let n = world.size, r = world.rank
            // Rank-dependent shapes: inconsistent whenever there is more than one rank.
            let small = Tensor([Float](repeating: 1, count: r + 1)).concreteOrFail()
            let large = Tensor([Float](repeating: 1, count: 1000 * (r + 1))).concreteOrFail()
            // Rank 0's operand fits the shared-memory payload, the others' do not:
            // one side publishes its operand, the other goes on to MPI.
            let payload = (Distributed.processes as? MPICommunicator)?.sharedPayloadBytes ?? 0
            let elements = payload / 4 * (r + 1)
            let straddling = DenseArray([Float](repeating: 1, count: max(elements, 1000 * (r + 1))), shape: [max(elements, 1000 * (r + 1))])
            for x in [small, large, straddling] {
                let start = monotonicNanoseconds()
                let outcome = Result { try world.allReduce(x, .sum) }
                if n > 1 {
                    let m = thrownMessage(outcome)
                    #expect(m.contains("different shapes") && m.contains("MPI ranks") && m.contains("1: all-reduce of f32[\(x.count / (r + 1) * 2)]"), "\(m)")
                } else {
                    #expect((try? outcome.get()) != nil)
                }
                #expect(monotonicNanoseconds() - start < 5_000_000_000)
            }
            // Rank-dependent dtypes.
            let typed = Tensor([1.0, 2.0]).converted(to: r == 0 ? .float32 : .float64).concreteOrFail()
            let dtypes = Result { try world.allGather(typed) }
            if n > 1 { #expect(thrownMessage(dtypes).contains("different dtypes"), "\(thrownMessage(dtypes))") }
            // Ranks calling different operations.
            let outcome = Result { r == 0 ? try world.allGather(small) : try world.allReduce(small, .sum) }
            if n > 1 { #expect(thrownMessage(outcome).contains("different operations"), "\(thrownMessage(outcome))") }
            // Rank 0 passes a ring, the others the identity (same operation, shape and dtype).
            let pairs = (0..<n).map { (source: $0, destination: r == 0 ? ($0 + 1) % n : $0) }
            let permuted = Result { try world.permute(Tensor([Float(r)]).concreteOrFail(), pairs: pairs) }
            if n > 1 {
                #expect(thrownMessage(permuted).contains("different parameters (reduction, root or permutation)"), "\(thrownMessage(permuted))")
            } else {
                #expect((try? permuted.get()).map(doubles) == [0])
            }
            // Every rank made the same exchanges, so the communicator still works.
            #expect(doubles(try world.allReduce(Tensor([Float(1)]).concreteOrFail(), .sum)) == [Double(n)])
        }

        /// Ranks of one host meet in shared memory unless that is turned off
        /// (`./launch --tcp` turns it off for TCP-only jobs). With
        /// FLOCK_TEST_HOSTS=2 (scripts/test-two-hosts: ranks 0, 1 on one
        /// host, 2, 3 on another), the world and a communicator across the
        /// hosts use MPI, a communicator within a host shared memory.
        @Test func ranksOnOneHostShareMemory() throws {
            guard let world = Distributed.processes as? MPICommunicator, world.size > 1 else { return }
            let off = getenvString("FLOCK_SHARED_COLLECTIVE_BYTES") == "0"
            let twoHosts = getenvString("FLOCK_TEST_HOSTS") == "2"
            #expect(world.usesSharedMemory == (!off && !twoHosts), "FLOCK_SHARED_COLLECTIVE_BYTES = \(getenvString("FLOCK_SHARED_COLLECTIVE_BYTES") ?? "unset")")
            if twoHosts && world.size == 4 {
                let withinHost = try #require(try world.split(color: world.rank / 2, key: world.rank))
                let acrossHosts = try #require(try world.split(color: world.rank % 2, key: world.rank))
                #expect(withinHost.usesSharedMemory == !off)
                #expect(!acrossHosts.usesSharedMemory)
                for c in [withinHost, acrossHosts] {
                    let sum = try c.allReduce(DenseArray([Float(world.rank)], shape: [1]), .sum)
                    #expect(sum.pointer(Float.self)[0] == (c === withinHost ? Float(world.rank / 2 * 4 + 1) : Float(world.rank % 2 * 2 + 2)))
                }
            }
            // Every rank folds the members' operands in rank order: the same bits everywhere,
            // also for float32 sums that depend on the order.
            let x = DenseArray((0..<1000).map { Float($0 % 7) * 0.1 + Float(world.rank) * 1e-3 }, shape: [1000])
            let sum = try world.allReduce(x, .sum)
            let all = try world.allGather(sum)
            let bits = all.pointer(Float.self)
            #expect((0..<(world.size * 1000)).allSatisfy { bits[$0].bitPattern == bits[$0 % 1000].bitPattern })
        }

        @Test func splitMakesSubCommunicators() throws {
            guard let world = Distributed.processes as? MPICommunicator else { return }
            let half = try #require(try world.split(color: world.rank % 2, key: world.rank))
            #expect(half.size == (world.size + 1 - world.rank % 2) / 2)
            #expect(half.rank == world.rank / 2)
            try expectCommunicatorSemantics(half)
            #expect(try world.split(color: nil, key: 0) == nil)
        }

        @Test func localDevicesSpanTheJob() throws {
            let devices = Distributed.localDeviceTransports
            #expect(devices.count == Distributed.localDeviceCount)
            for (i, d) in devices.enumerated() {
                #expect(d.size == Distributed.deviceCount)
                #expect(d.rank == Distributed.processIndex * Distributed.localDeviceCount + i)
            }
            for r in onMembers(devices.count, { try expectCommunicatorSemantics(devices[$0]) }) { try r.get() }
        }
    }
}

extension CollectivesTests {
    /// Run only by scripts/run-tests (which sets FLOCK_TEST_DELIBERATE_HANG and a
    /// short FLOCK_COLLECTIVE_TIMEOUT): rank 1 never reaches a barrier, and the
    /// job must end with the watchdog's message instead of hanging.
    @Suite(.enabled(if: getenvString("FLOCK_TEST_DELIBERATE_HANG") != nil)) struct DeliberateHang {
        @Test func aRankThatSkipsACollectiveEndsTheJob() throws {
            let world = Distributed.processTransport
            if world.rank == 1 {
                sleep(600)
            } else {
                try world.barrier()
            }
        }
    }

    /// Run only by scripts/run-tests (FLOCK_TEST_DELIBERATE_STOP, a short
    /// FLOCK_HEARTBEAT_TIMEOUT and a long FLOCK_COLLECTIVE_TIMEOUT): rank 1
    /// stops itself (SIGSTOP) before a barrier; rank 0 must name it and end
    /// the job once its heartbeat is silent, long before the collective timeout.
    @Suite(.enabled(if: getenvString("FLOCK_TEST_DELIBERATE_STOP") != nil)) struct DeliberateStop {
        @Test func aStoppedRankIsNamedAndEndsTheJob() throws {
            let world = Distributed.processTransport
            if world.rank == 1 {
                kill(getpid(), SIGSTOP)
                // The stop can take effect a moment after kill returns (seen:
                // the barrier below completed first); a system call makes it certain.
                usleep(200_000)
            }
            try world.barrier()
        }
    }

    /// Run only by scripts/run-tests (FLOCK_TEST_SLOW_RANK=S with a shorter
    /// FLOCK_HEARTBEAT_TIMEOUT): rank 1 computes for S seconds before a
    /// barrier; a long but healthy step is not a hang, and the job passes.
    @Suite(.enabled(if: getenvString("FLOCK_TEST_SLOW_RANK") != nil)) struct SlowRank {
        @Test func aLongHealthyStepIsNotAHang() throws {
            let world = Distributed.processTransport
            if world.rank == 1 {
                let end = time(nil) + (Int(getenvString("FLOCK_TEST_SLOW_RANK") ?? "0") ?? 0)
                var x = ones([256, 256])
                while time(nil) < end { x = tanh(matmul(x, x) * 0.001) }
                #expect(x.shape == [256, 256])
            }
            try world.barrier()
        }
    }
}

import Glibc
