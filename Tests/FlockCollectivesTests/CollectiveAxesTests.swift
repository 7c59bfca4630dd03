import Testing
import FlockTestSupport
@testable import FlockCollectives
@testable import FlockTransforms

/// A collective written over axis names `names` for an axis of total size `size`.
private typealias NamedFunction = @Sendable (_ names: [String], _ size: Int) -> (Tensor) -> Tensor

/// Functions over one or several names; over ["i", "j"] each must equal the
/// same function over ["k"], where k numbers the members row-major (k = i·B + j).
private let overNames: [(String, NamedFunction)] = [
    ("psum", { n, _ in { psum($0, axisNames: n) } }),
    ("pmax", { n, _ in { pmax($0, axisNames: n) } }),
    ("pmean", { n, _ in { pmean($0, axisNames: n) } }),
    ("allGather", { n, _ in { allGather($0, axisNames: n, axis: 1) } }),
    ("allGather.tiled", { n, _ in { allGather($0, axisNames: n, axis: 0, tiled: true) } }),
    ("psumScatter", { n, s in { psumScatter(allGather($0, axisNames: n), axisNames: n) } }),
    ("psumScatter.tiled", { n, s in { psumScatter(allGather($0, axisNames: n, axis: 1, tiled: true), axisNames: n, scatterDimension: 1, tiled: true) } }),
    ("ppermute", { n, s in { ppermute($0, axisNames: n, perm: (0..<s).map { ($0, ($0 + 1) % s) }) } }),
    ("allToAll", { n, s in { allToAll(allGather($0, axisNames: n), axisNames: n, splitAxis: 0, concatAxis: 1) } }),
    ("allToAll.tiled", { n, s in { allToAll(allGather($0, axisNames: n, axis: 1, tiled: true), axisNames: n, splitAxis: 1, concatAxis: 0, tiled: true) } }),
    ("axisIndex", { n, _ in { $0 * axisIndex(axisNames: n).converted(to: .float64) } }),
    ("pbroadcast", { n, s in { pbroadcast($0, axisNames: n, source: s - 1) } }),
    ("grad", { n, s in grad { x in (psum(x * x, axisNames: n) * ppermute(x, axisNames: n, perm: (0..<s).map { ($0, ($0 + 1) % s) })).sum() } }),
]

/// Runs every function on a mesh member: over ["i", "j"] and over ["k"]; returns mismatches.
private func compareOnMember(i: any Communicator, j: any Communicator, k: any Communicator) -> [String] {
    let size = k.size
    let x = referenceInput([size, 2, 3])[k.rank]
    var failures: [String] = []
    for (name, f) in overNames {
        do {
            let two = try catchingErrors { withAxis("i", communicator: i) { withAxis("j", communicator: j) { f(["i", "j"], size)(x) } } }
            let one = try catchingErrors { withAxis("k", communicator: k) { f(["k"], size)(x) } }
            // Sums over two names add in another order than over one: equal up to rounding.
            let close = zip(two.toArray(Double.self), one.toArray(Double.self)).allSatisfy {
                Swift.abs($0 - $1) <= 1e-12 * Swift.max(1, Swift.abs($1))
            }
            if two.shape != one.shape || !close {
                failures.append("\(name) on member \(k.rank): \(two) vs \(one)")
            }
        } catch {
            failures.append("\(name) on member \(k.rank): \(error)")
        }
    }
    return failures
}

extension CollectivesTests {
    /// Collectives over several axis names, against one axis spanning the same members.
    @Suite struct SeveralAxes {
        @Test(arguments: [(2, 3), (3, 1), (1, 2)])
        func inProcessMeshMatchesFlatAxis(a: Int, b: Int) throws {
            let rows = (0..<a).map { _ in InProcessGroup(size: b, timeout: 60) }   // "j": same i
            let columns = (0..<b).map { _ in InProcessGroup(size: a, timeout: 60) }  // "i": same j
            let flat = InProcessGroup(size: a * b, timeout: 60)
            let results = onMembers(a * b) { k in
                compareOnMember(i: columns[k % b].members[k / b], j: rows[k / b].members[k % b], k: flat.members[k])
            }
            let failures = results.flatMap { (try? $0.get()) ?? ["thread failed"] }
            #expect(failures.isEmpty, "\(failures)")
        }

        @Test func processMeshMatchesWorld() throws {
            guard let world = Distributed.processes as? MPICommunicator else { return }
            let b = world.size % 2 == 0 ? 2 : 1
            let j = try #require(try world.split(color: world.rank / b, key: world.rank))
            let i = try #require(try world.split(color: world.rank % b, key: world.rank))
            #expect(i.rank == world.rank / b && j.rank == world.rank % b)
            let failures = compareOnMember(i: i, j: j, k: world)
            #expect(failures.isEmpty, "\(failures)")
        }
    }

    /// What users see when a collective cannot run.
    @Suite struct CollectiveErrors {
        @Test func unboundAxisNameIsReported() {
            let x = Tensor([Float(1), 2])
            let eager = errorMessage { _ = psum(x, axisName: "batch") }
            #expect(eager?.contains("psum: unbound axis name 'batch'") == true, "\(eager ?? "no error")")
            let traced = errorMessage { _ = jit { (v: Tensor) in allGather(v, axisName: "batch") }(x) }
            #expect(traced?.contains("all_gather: unbound axis name 'batch'") == true, "\(traced ?? "no error")")
            let inside = errorMessage { _ = vmap({ v in psum(v, axisName: "j") }, axisName: "i")(x) }
            #expect(inside?.contains("active axes: 'i'") == true, "\(inside ?? "no error")")
            let size = errorMessage { _ = axisSize("nothing") }
            #expect(size?.contains("axisSize: unbound axis name 'nothing'") == true, "\(size ?? "no error")")
        }

        @Test func badParametersAreReported() {
            let x = referenceInput([3, 2])
            func message(_ f: @escaping (Tensor) -> Tensor) -> String {
                errorMessage { _ = vmap(f, axisName: "i")(x) } ?? "no error"
            }
            #expect(message { ppermute($0, axisName: "i", perm: [(0, 1), (2, 1)]) }.contains("ppermute: not a permutation: destination 1 appears more than once"))
            #expect(message { ppermute($0, axisName: "i", perm: [(0, 3)]) }.contains("out of range"))
            #expect(message { psumScatter($0, axisName: "i") }.contains("reduce_scatter: dimension 0 of shape [2] must equal the size of axis 'i' of size 3"))
            #expect(message { allToAll($0, axisName: "i", splitAxis: 0, concatAxis: 0, tiled: true) }.contains("must be divisible"))
            #expect(message { pbroadcast($0, axisName: "i", source: 3) }.contains("source 3 is out of range"))
            #expect(message { psum($0 .> 0, axisName: "i").converted(to: .float64) }.contains("psum: expected a numeric operand"))
            #expect(message { psum($0, axisNames: ["i", "i"]) }.contains("axis names repeat"))
        }

        @Test func mismatchedShapesAcrossMembersFailEverywhere() throws {
            // In-process: member 1 passes a longer operand.
            let group = InProcessGroup(size: 2, timeout: 60)
            let messages = onMembers(2) { m in
                errorMessage {
                    _ = withAxis("i", communicator: group.members[m]) { psum(referenceInput([m == 1 ? 4 : 3]), axisName: "i") }
                } ?? "no error"
            }.map { (try? $0.get()) ?? "thread failed" }
            for m in messages {
                #expect(m.contains("psum over 'i': collective called inconsistently") && m.contains("different shapes"), "\(m)")
            }
            // The same under jit (its plan runs psum as its own instruction), one function shared by both threads.
            let summed = jit { (v: [Tensor]) in [psum(v[0], axisName: "i")] }
            let jitMessages = onMembers(2) { m in
                errorMessage {
                    _ = withAxis("i", communicator: group.members[m]) { summed([referenceInput([m == 1 ? 4 : 3])]) }
                } ?? "no error"
            }.map { (try? $0.get()) ?? "thread failed" }
            for m in jitMessages {
                #expect(m.contains("psum over 'i': collective called inconsistently") && m.contains("different shapes"), "\(m)")
            }
            // MPI ranks: rank-dependent shapes, eagerly and under jit; every rank fails promptly and goes on.
            let world = Distributed.processes
            guard world.size > 1 else { return }
            let start = monotonicNanoseconds()
            let x = referenceInput([world.rank + 1, 2])
            let eager = errorMessage { _ = withAxis("r", communicator: world) { psum(x, axisName: "r") } } ?? "no error"
            #expect(eager.contains("psum over 'r'") && eager.contains("0: all-reduce of f64[1,2]") && eager.contains("1: all-reduce of f64[2,2]"), "\(eager)")
            let jitted = jit { (v: Tensor) in allGather(v, axisName: "r") }
            let traced = errorMessage { _ = withAxis("r", communicator: world) { jitted(x) } } ?? "no error"
            #expect(traced.contains("all_gather over 'r'") && traced.contains("different shapes"), "\(traced)")
            // A jitted psum: operands inside the signature block and larger ones, shapes and dtypes.
            let jittedSum = jit { (v: Tensor) in psum(v, axisName: "r") }
            let cases = [
                (x, "different shapes"), (referenceInput([world.rank + 1, 512]), "different shapes"),
                (referenceInput([3], dtype: world.rank == 0 ? .float32 : .float64), "different dtypes"),
            ]
            for (v, what) in cases {
                let m = errorMessage { _ = withAxis("r", communicator: world) { jittedSum(v) } } ?? "no error"
                #expect(m.contains("psum over 'r'") && m.contains(what), "\(m)")
            }
            // In place: an operand made in the plan dies at the psum and takes its result (MPI_IN_PLACE);
            // the same errors, and the right sums.
            let doubledSum = jit { (v: Tensor) in psum(v * 2, axisName: "r") }
            let inPlace = errorMessage { _ = withAxis("r", communicator: world) { doubledSum(referenceInput([world.rank + 1, 512])) } } ?? "no error"
            #expect(inPlace.contains("psum over 'r'") && inPlace.contains("different shapes"), "\(inPlace)")
            let big = Tensor((0..<3000).map { Double($0 + world.rank) })
            let total = withAxis("r", communicator: world) { doubledSum(big) }.toArray(Double.self)
            let want = (0..<3000).map { i in (0..<world.size).map { Double(2 * (i + $0)) }.reduce(0, +) }
            #expect(total == want, "in-place psum of 3000 float64")
            #expect(monotonicNanoseconds() - start < 10_000_000_000, "errors arrive within seconds")
            let after = withAxis("r", communicator: world) { psum(Tensor(Float(1)), axisName: "r") }
            #expect(after.item(Float.self) == Float(world.size))
        }
    }
}

