import Testing
import FlockTestSupport
@testable import FlockCollectives
@testable import FlockCore
@testable import FlockTransforms

/// One inconsistent call: `body(odd, size)` runs on every member; the last
/// member (`odd`) differs. Every member's error must contain `expected`.
struct Inconsistency: Sendable, CustomStringConvertible {
    let description: String
    let expected: String
    let body: @Sendable (_ odd: Bool, _ size: Int) -> Void
}

private func square(_ d: Int) -> Tensor { Tensor((0..<(d * d)).map { Float($0) }, shape: [d, d]) }
private func use(_ t: Tensor) { _ = t.toArray(Float.self) }

private let inconsistencies: [Inconsistency] = [
    Inconsistency(description: "missing psum", expected: "different collectives (a member skipped one or called an extra one): called at") { odd, _ in
        if !odd { use(psum(Tensor([Float(10)]), axisName: "i")) }
        use(psum(Tensor([Float(20)]), axisName: "i"))
    },
    Inconsistency(description: "extra psum", expected: "different collectives") { odd, _ in
        if odd { use(psum(Tensor([Float(10)]), axisName: "i")) }
        use(psum(Tensor([Float(20)]), axisName: "i"))
    },
    Inconsistency(description: "psum vs pmax", expected: "they called different operations: member 0: psum") { odd, d in
        use(odd ? pmax(square(d), axisName: "i") : psum(square(d), axisName: "i"))
    },
    Inconsistency(description: "psum over another name", expected: "axis names differs") { odd, d in
        withAxis("j", communicator: activeAxis(named: "i")!.communicator!) { use(psum(square(d), axisName: odd ? "j" : "i")) }
    },
    Inconsistency(description: "allGather axis", expected: "axis differs (member 0: 0") { odd, d in
        use(allGather(square(d), axisName: "i", axis: odd ? 1 : 0))
    },
    Inconsistency(description: "allGather tiled", expected: "tiled differs (member 0: false") { odd, d in
        use(allGather(square(d), axisName: "i", tiled: odd))
    },
    Inconsistency(description: "psumScatter scatterDimension", expected: "scatterDimension differs (member 0: 0") { odd, d in
        use(psumScatter(square(d), axisName: "i", scatterDimension: odd ? 1 : 0))
    },
    Inconsistency(description: "psumScatter tiled", expected: "tiled differs") { odd, d in
        use(psumScatter(square(d), axisName: "i", tiled: odd))
    },
    Inconsistency(description: "allToAll splitAxis", expected: "splitAxis differs") { odd, d in
        use(allToAll(square(d), axisName: "i", splitAxis: odd ? 1 : 0, concatAxis: 0))
    },
    Inconsistency(description: "allToAll concatAxis", expected: "concatAxis differs") { odd, d in
        use(allToAll(square(d), axisName: "i", splitAxis: 0, concatAxis: odd ? 1 : 0))
    },
    Inconsistency(description: "allToAll tiled", expected: "tiled differs") { odd, d in
        use(allToAll(square(d), axisName: "i", splitAxis: 0, concatAxis: 1, tiled: odd))
    },
    Inconsistency(description: "ppermute direction", expected: "perm differs") { odd, d in
        let ring = (0..<d).map { (source: $0, destination: ($0 + 1) % d) }
        use(ppermute(square(d), axisName: "i", perm: odd ? ring.map { ($0.destination, $0.source) } : ring))
    },
    Inconsistency(description: "pbroadcast source", expected: "source differs") { odd, d in
        use(pbroadcast(square(d), axisName: "i", source: odd ? 1 : 0))
    },
    Inconsistency(description: "jitted psumScatter", expected: "scatterDimension differs") { odd, d in
        use(jit { (x: Tensor) in psumScatter(x, axisName: "i", scatterDimension: odd ? 1 : 0) }(square(d)))
    },
    Inconsistency(description: "jitted step missing a psum", expected: "different collectives") { odd, d in
        use(jit { (x: Tensor) in psum((odd ? x : psum(x, axisName: "i")) * 2, axisName: "i") }(square(d)))
    },
    // The all-reduce combiner turns both orders into one psum of f32[5]: the
    // same operation, operand and place; only the schedule tells them apart
    // (without it, member 1's y met the others' x: wrong sums, no error).
    Inconsistency(description: "jitted psums combined in another order", expected: "jitted programs whose collectives differ") { odd, _ in
        let step = jit { (xs: [Tensor]) -> [Tensor] in
            let (x, y) = (xs[0] * 2, xs[1] * 2)
            return odd ? [psum(y, axisName: "i"), psum(x, axisName: "i")] : [psum(x, axisName: "i"), psum(y, axisName: "i")]
        }
        for t in step([Tensor([Float(1), 2]), Tensor([Float(3), 4, 5])]) { use(t) }
    },
    Inconsistency(description: "jitted loop traced with one iteration fewer", expected: "different collectives") { odd, d in
        use(jit { (x: Tensor) in
            var y = x
            for _ in 0..<(odd ? 2 : 3) { y = psum(y * 0.5, axisName: "i") }
            return y
        }(square(d)))
    },
]

/// Runs `body` on every member with "i" bound, inside `catchingErrors`; then
/// a psum over every member, retried up to 3 times (a member that left its
/// scope early meets the others' remaining collective first, which fails on
/// every member). Returns each member's error message ("no error" if none)
/// and whether the psum then gave the member count.
private func run(_ members: [any Communicator], _ body: @escaping @Sendable (Bool, Int) -> Void) -> [(message: String, inStep: Bool)] {
    let n = members.count
    return onMembers(n) { m in
        withAxis("i", communicator: members[m]) {
            let message = thrownMessage(Result { try catchingErrors { body(m == n - 1, n) } })
            var inStep = false
            for _ in 0..<3 where !inStep {
                inStep = (try? catchingErrors { psum(Tensor([Float(1)]), axisName: "i").item(Float.self) }) == Float(n)
            }
            return (message, inStep)
        }
    }.map { (try? $0.get()) ?? ("member failed", false) }
}

extension CollectivesTests {
    /// Every parameter of every collective, and the sequence of calls, is
    /// compared across members before data is combined (``CollectiveCall``).
    @Suite struct CallChecks {
        @Test(arguments: inconsistencies, [2, 3])
        func inconsistentCallFailsEveryMemberAndNamesIt(_ c: Inconsistency, size: Int) {
            let group = InProcessGroup(size: size, timeout: 30)
            let found = run(group.members, c.body)
            for m in found.map(\.message) { #expect(m.contains(c.expected), "\(c): \(m)") }
            // The same report everywhere, after each member's own "psum over 'i':" prefix.
            let reports = Set(found.map { String($0.message.drop(while: { $0 != ":" })) })
            #expect(reports.count == 1, "every member reports the same error")
            let inStep = found.filter(\.inStep).count
            #expect(inStep == size, "the members are in step afterwards")
        }

        /// Two processes (an in-process group standing for MPI) of two local
        /// devices each: the last device of process 1 differs; every device of
        /// both processes is told what differed.
        @Test(arguments: inconsistencies.filter { !$0.description.hasPrefix("missing") && !$0.description.hasPrefix("extra") })
        func localInconsistencyReachesEveryProcess(_ c: Inconsistency) {
            let processes = InProcessGroup(size: 2, timeout: 30)
            let found = onMembers(2) { p -> [String] in
                let local = HierarchicalGroup(localSize: 2, processes: processes.members[p], timeout: 30)
                return onMembers(2) { l in
                    try withAxis("i", communicator: local.members[l]) { try catchingErrors { c.body(p == 1 && l == 1, 4) } }
                }.map(thrownMessage)
            }.flatMap { (try? $0.get()) ?? ["process failed"] }
            for m in found { #expect(m.contains(c.expected), "\(c): \(m)") }
        }

        @Test func oneSidedCaughtErrorFailsTheNextCollectiveEverywhere() {
            let group = InProcessGroup(size: 2, timeout: 30)
            let found = run(group.members) { odd, d in
                // The odd member's error makes it skip the psum in its scope; it catches the error.
                _ = try? catchingErrors {
                    if odd { use(square(d) + Tensor([Float(1), 2, 3])) }
                    use(psum(square(d), axisName: "i"))
                }
                use(psum(square(d), axisName: "i"))
            }
            // Member 0's inner psum meets member 1's outer one: both fail, naming the caught
            // error (member 0 in its inner scope, which it swallows: its outer psum then
            // fails against member 1's next collective).
            let odd = found[1].message
            #expect(odd.contains("members [1] caught errors inside catchingErrors that the others did not"), "\(odd)")
            #expect(odd.contains("the last: add: incompatible shapes"), "\(odd)")
            #expect(found[0].message.contains("collective called inconsistently"), "\(found[0].message)")
            let inStep = found.filter(\.inStep).count
            #expect(inStep == found.count)
        }

        @Test func errorsCaughtOnEveryMemberKeepThemInStep() {
            let group = InProcessGroup(size: 2, timeout: 30)
            let found = run(group.members) { _, d in
                _ = try? catchingErrors { use(square(d) + Tensor([Float(1), 2, 3])) }  // the same error everywhere
                use(psum(square(d), axisName: "i"))
            }
            #expect(found.map(\.message) == ["no error", "no error"])
        }

        @Test func collectivesAfterAnErrorInTheScopeAreSkipped() {
            let group = InProcessGroup(size: 2, timeout: 30)
            // Both members fail the first psum (shapes differ); the second is skipped on both.
            let found = run(group.members) { odd, _ in
                use(psum(Tensor([Float](repeating: 1, count: odd ? 3 : 2)), axisName: "i"))
                use(psum(Tensor([Float(1)]), axisName: "i"))
            }
            for m in found.map(\.message) { #expect(m.contains("different shapes"), "\(m)") }
            let inStep = found.filter(\.inStep).count
            #expect(inStep == found.count)
        }

        @Test func signatureWireFormatRoundTrips() throws {
            let call = CollectiveCall(.psumScatter(axes: ["i", "j"], scatterDimension: 2, tiled: true),
                                      operand: AbstractValue(shape: [4, 3, 8], dtype: .float32), site: CollectiveSite(file: #fileID, line: 7))
            let s = CollectiveSignature(sequence: 41, kind: .reduceScatter, dtype: .float32, shape: [8, 12], parameter: 1,
                                        call: call.digest, caughtErrors: 3)
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: CollectiveSignature.byteCount, alignment: 16)
            defer { bytes.deallocate() }
            s.encode(to: bytes)
            #expect(CollectiveSignature.decode(bytes) == s)
            let text = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)
            defer { text.deallocate() }
            call.encodeText(to: text, capacity: 256)
            let fields = CollectiveCall.parseFields(CollectiveCall.decodeText(text, capacity: 256))
            #expect(fields.map(\.name) == ["operation", "axis names", "scatterDimension", "tiled", "operand", "called at"])
            #expect(fields.map(\.value)[2...4] == ["2", "true", "f32[4,3,8]"])
        }

        /// The eager all-reduce's call (made without building the primitive)
        /// must be the primitive's call: members that reach the same psum
        /// through the eager path and through `bind` compare equal, and a
        /// mismatch names the same fields.
        @Test(arguments: [ReduceOp.sum, .max, .min])
        func anEagerAllReduceCallIsItsPrimitivesCall(_ op: ReduceOp) {
            let x = AbstractValue(shape: [3, 1], dtype: .float32)
            for site in [nil, CollectiveSite(file: #fileID, line: 12), CollectiveSite(collective: 1, of: 3, schedule: 0xF00D)] {
                let general = CollectiveCall(Primitive.allReduce(op, axes: ["rows"]), operand: x, site: site)
                var eager = CollectiveCall(allReduce: op, axis: "rows", operand: x, site: site)
                #expect(eager.digest == general.digest)
                #expect(eager.encodedFields == general.encodedFields)
                // The rarely set texts travel with the call.
                eager.caughtErrors = 2
                eager.lastCaughtError = "add: incompatible shapes"
                eager.localMismatch = "member 1 differs"
                #expect(eager.encodedFields.contains("errors caught inside catchingErrors=2 (the last: add: incompatible shapes)"))
                #expect(eager.encodedFields.contains("its local devices disagree=member 1 differs"))
                #expect(eager.digest == general.digest)
            }
            #expect(CollectiveCall(allReduce: op, axis: "rows", operand: x, site: nil).digest
                != CollectiveCall(allReduce: op, axis: "cols", operand: x, site: nil).digest)
        }

        @Test(arguments: [
            Primitive.psumScatter(axes: ["i"], scatterDimension: 1, tiled: false),
            .psumScatter(axes: ["i"], scatterDimension: 0, tiled: true),
            .allToAll(axes: ["i"], splitAxis: 1, concatAxis: 0, tiled: false),
            .allToAll(axes: ["i"], splitAxis: 0, concatAxis: 1, tiled: false),
            .allGather(axes: ["i"], axis: 1, tiled: false),
            .ppermute(axes: ["i"], pairs: [.init(1, 0), .init(0, 1)]),
            .pbroadcast(axes: ["i"], source: 1),
            .psum(axes: ["j"]),
            .pmax(axes: ["i"]),
        ])
        func everyParameterChangesTheDigest(_ p: Primitive) {
            let reference: [Primitive] = [
                .psumScatter(axes: ["i"], scatterDimension: 0, tiled: false), .allToAll(axes: ["i"], splitAxis: 0, concatAxis: 0, tiled: false),
                .allGather(axes: ["i"], axis: 0, tiled: false), .ppermute(axes: ["i"], pairs: [.init(0, 1), .init(1, 0)]),
                .pbroadcast(axes: ["i"], source: 0), .psum(axes: ["i"]),
            ]
            let x = AbstractValue(shape: [2, 2], dtype: .float32)
            let digests = Set(reference.map { CollectiveCall($0, operand: x, site: nil).digest })
            #expect(!digests.contains(CollectiveCall(p, operand: x, site: nil).digest))
            // Stable: the same call gives the same digest (it crosses processes).
            #expect(CollectiveCall(p, operand: x, site: nil).digest == CollectiveCall(p, operand: x, site: nil).digest)
        }
    }
}
