// Oracle tests: every case of Fixtures/fidelity.json (generated from JAX by
// tools/make_fidelity_fixtures.py) runs through Flock's API and must match
// JAX: long accumulations in XLA's order and the functions a JAX user calls.
// A case's `fn` is looked up in `fidelityOps`, then in `fixtureOps`.

import Testing
@testable import FlockCore

@Test func fidelityFixturesLoad() throws {
    let cases = try FixtureCase.fidelity.get()
    #expect(cases.count > 30, "fidelity.json holds only \(cases.count) cases")
    #expect(Set(cases.map(\.name)).count == cases.count, "case names must be unique")
}

@Test(arguments: (try? FixtureCase.fidelity.get()) ?? [])
func fidelityMatchesJAX(_ c: FixtureCase) throws {
    guard let op = fidelityOps[c.fn] ?? fixtureOps[c.fn] else {
        Issue.record("\(c.name): no Swift mapping for fn \"\(c.fn)\" (add it to fidelityOps)")
        return
    }
    let args = try c.args.map { try $0.tensor() }
    let outputs = try catchingErrors { try op(args, c.params) }
    guard outputs.count == c.out.count else {
        Issue.record("\(c.name): \(outputs.count) outputs, JAX has \(c.out.count)")
        return
    }
    for (i, (got, want)) in zip(outputs, c.out).enumerated() {
        try expectMatches(got, want, rtol: c.rtol, atol: c.atol, label: "\(c.name) out[\(i)]")
    }
}

// MARK: - fn name → Flock

let fidelityOps: [String: FixtureOp] = [:]
