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

let fidelityOps: [String: FixtureOp] = [
    "lax.cumprod": { a, p in [a[0].cumprod(axis: try p.int("axis"), reverse: try p.bool("reverse"))] },
    "cumprod": { a, p in [a[0].cumprod(axis: try p.int("axis"))] },
    "lax.cummax": { a, p in [a[0].cummax(axis: try p.int("axis"), reverse: try p.bool("reverse"))] },
    "lax.cummin": { a, p in [a[0].cummin(axis: try p.int("axis"), reverse: try p.bool("reverse"))] },
    "tril": { a, p in [tril(a[0], k: try p.int("k"))] },
    "triu": { a, p in [triu(a[0], k: try p.int("k"))] },
    "diag": { a, p in [diag(a[0], k: try p.int("k"))] },
    "meshgrid": { a, p in meshgrid(a, indexing: try p.string("indexing")) },
    "einsum": { a, p in [einsum(try p.string("subscripts"), a)] },
    "tile": { a, p in [tile(a[0], reps: try p.ints("reps"))] },
    "repeat": { a, p in [repeated(a[0], try p.int("repeats"), axis: try p.optionalInt("axis"))] },
    "roll": { a, p in [roll(a[0], shift: try p.int("shift"), axis: try p.optionalInt("axis"))] },
    "hstack": { a, _ in [hstack(a)] },
    "vstack": { a, _ in [vstack(a)] },
    "tensordot": { a, p in [tensordot(a[0], a[1], axes: try p.int("axes"))] },
    "tensordot_lists": { a, p in [tensordot(a[0], a[1], axes: (try p.ints("a_axes"), try p.ints("b_axes")))] },
    "vdot": { a, _ in [vdot(a[0], a[1])] },
    "kron": { a, _ in [kron(a[0], a[1])] },
    "trace": { a, p in [trace(a[0], offset: try p.int("offset"))] },
    "diagonal": { a, p in [diagonal(a[0], offset: try p.int("offset"))] },
    "isclose": { a, p in
        [isclose(a[0], a[1], rtol: try p.double("rtol"), atol: try p.double("atol"), equalNaN: try p.bool("equal_nan"))]
    },
    "allclose": { a, p in
        [allclose(a[0], a[1], rtol: try p.double("rtol"), atol: try p.double("atol"), equalNaN: try p.bool("equal_nan"))]
    },
    "power_int": { a, p in [power(a[0], try p.int("n"))] },
    "random.choice": { a, p in
        [Random.choice(Random.key(try p.int("seed")), a[0], shape: try p.ints("shape"), replace: try p.bool("replace"),
                       axis: try p.int("axis"))]
    },
    "random.choice_p": { a, p in
        [Random.choice(Random.key(try p.int("seed")), a[0], shape: try p.ints("shape"), replace: try p.bool("replace"), p: a[1])]
    },
    "random.choice_n": { _, p in
        [Random.choice(Random.key(try p.int("seed")), try p.int("n"), shape: try p.ints("shape"), replace: try p.bool("replace"))]
    },
    "hard_tanh": { a, _ in [hardTanh(a[0])] },
    "celu": { a, p in [celu(a[0], alpha: try p.double("alpha"))] },
    "selu": { a, _ in [selu(a[0])] },
    "elu": { a, p in [elu(a[0], alpha: try p.double("alpha"))] },
    "leaky_relu": { a, p in [leakyRelu(a[0], negativeSlope: try p.double("negative_slope"))] },
    "relu6": { a, _ in [relu6(a[0])] },
    "trunc": { a, _ in [trunc(a[0])] },
    "count_nonzero": { a, p in [countNonzero(a[0], axes: try p.optionalInts("axes"))] },
    "full_like": { a, p in [fullLike(a[0], try p.double("value"))] },
    "norm": { a, p in
        let ord: NormOrder?
        switch p.values["ord"] ?? .null {
        case .null: ord = nil
        case .string("fro"): ord = .frobenius
        default: ord = .p(try p.double("ord"))
        }
        return [norm(a[0], ord: ord, axes: try p.optionalInts("axes"), keepDims: try p.bool("keepdims"))]
    },
]
