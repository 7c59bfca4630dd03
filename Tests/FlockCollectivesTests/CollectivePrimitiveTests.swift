import Testing
import FlockTestSupport
@testable import FlockCollectives

/// `f` applied by member `r` of an axis of `members` to its row of the stacked
/// input, with "i" bound to `communicator`.
private func memberResult(_ c: CollectiveCase, _ communicator: any Communicator) throws -> Tensor {
    let n = communicator.size
    let row = c.input(n)[communicator.rank]
    return try catchingErrors { withAxis("i", communicator: communicator) { c.f(n)(row) } }
}

/// The single-process oracle: `vmap(f, axisName: "i")` over the stacked input.
private func vmapResult(_ c: CollectiveCase, size: Int) throws -> Tensor {
    try catchingErrors { vmap(c.f(size), axisName: "i")(c.input(size)) }
}

private func expectMatchesVmap(_ c: CollectiveCase, _ communicator: any Communicator, _ reference: Tensor,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
    let r = communicator.rank
    let expected = reference[r]
    let got = try memberResult(c, communicator)
    expectClose(got, shape: expected.shape, expected.toArray(Double.self),
                "\(c.name): member \(r) of \(communicator.size)", sourceLocation: sourceLocation)
}

extension CollectivesTests {
    /// Collective primitives: vmap against JAX, and every transport against vmap.
    @Suite struct Primitives {
        @Test(arguments: CollectiveCases.values)
        func vmapMatchesJAX(_ c: CollectiveCase) throws {
            let e = try #require(JAXCollectiveReference.entries[c.name], "missing fixture \(c.name): regenerate")
            expectClose(try vmapResult(c, size: 4), shape: e.shape, e.values, "\(c.name) under vmap")
        }

        /// The oracle for the "grad." cases without a JAX fixture: each collective's
        /// transpose sums the cotangents over the axis, so the per-example gradients
        /// under vmap are the gradient of the sum of the losses, which vmap computes
        /// without collectives and checkGrads checks against finite differences.
        @Test(arguments: CollectiveCases.gradLosses)
        func gradientsMatchFiniteDifferences(_ c: CollectiveCase) throws {
            for size in [1, 3] {
                let x = c.input(size)
                let total = { (x: Tensor) in vmap(c.f(size), axisName: "i")(x).sum() }
                try checkGrads({ [total($0[0])] }, [x], order: 1)
                let expected = grad(total)(x)
                expectClose(try vmapResult(c.grad, size: size), shape: expected.shape, expected.toArray(Double.self),
                            rtol: 1e-10, atol: 1e-12, "\(c.grad.name) at axis size \(size)")
            }
        }

        @Test func gradOfSumOfVmapMatchesJAX() throws {
            let e = try #require(JAXCollectiveReference.entries["grad.of.sum.vmap.psum"])
            let g = grad { (x: Tensor) in vmap({ v in psum(v * v, axisName: "i") * v }, axisName: "i")(x).sum() }
            expectClose(g(referenceInput([4, 3])), shape: e.shape, e.values, "grad of sum of vmap(psum)")
        }

        @Test func twoNamedAxesMatchJAX() throws {
            let x = referenceInput([2, 3, 5])
            func both(_ f: @escaping (Tensor) -> Tensor) -> Tensor {
                vmap(vmap(f, axisName: "j"), axisName: "i")(x)
            }
            let cases: [(String, (Tensor) -> Tensor)] = [
                ("two.psum", { psum($0, axisNames: ["i", "j"]) }),
                ("two.psum.inner", { psum($0, axisName: "j") }),
                ("two.axisIndex", { $0 * axisIndex(axisNames: ["i", "j"]).converted(to: .float64) }),
                ("two.pmax", { pmax($0, axisNames: ["j", "i"]) }),
            ]
            for (name, f) in cases {
                let e = try #require(JAXCollectiveReference.entries[name])
                expectClose(both(f), shape: e.shape, e.values, name)
            }
        }

        @Test func partialPermutationSendsZerosWhereNothingArrives() {
            let x = referenceInput([3, 2])
            let y = vmap({ ppermute($0, axisName: "i", perm: [(0, 2), (2, 1)]) }, axisName: "i")(x)
            expectClose(y, shape: [3, 2], [0, 0] + x[2].toArray(Double.self) + x[0].toArray(Double.self), "partial ppermute")
        }

        @Test(arguments: [1, 2, 3, 4])
        func inProcessGroupsMatchVmap(size: Int) throws {
            for c in CollectiveCases.values + CollectiveCases.flockOnly {
                let reference = try vmapResult(c, size: size)
                let group = InProcessGroup(size: size, timeout: 60)
                for r in onMembers(size, { i in try expectMatchesVmap(c, group.members[i], reference) }) {
                    #expect(throws: Never.self, "\(c.name)") { try r.get() }
                }
            }
        }

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
