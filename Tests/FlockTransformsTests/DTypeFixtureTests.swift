import Foundation
import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms

/// The dtype lattice against JAX (tools/make_dtype_fixtures.py writes
/// Fixtures/dtypes.json): promotion with weak types, conversions between every
/// pair of dtypes over edge values, float16/bfloat16 arithmetic rounded per
/// operation (eager and jitted), and integer wraparound of every integer width.
/// The x64 half runs in a child process (``DTypeX64Tests``): the mode is global.
@Suite struct DTypeFixtureTests {
    struct Fixture: Decodable {
        struct Promotion: Decodable {
            let promote_types: [String: String]
            let result_type: [String: [ResultTypeValue]]
        }
        enum ResultTypeValue: Decodable {
            case name(String), weak(Bool)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let b = try? c.decode(Bool.self) { self = .weak(b) } else { self = .name(try c.decode(String.self)) }
            }
        }
        struct Conversion: Decodable {
            let values: [String]
            let to: [String: [String]]
        }
        struct FloatCase: Decodable {
            let dtype: String
            let name: String
            let inputs: [String: [String]]
            let result: [String]
            let shape: [Int]
            let exact: Bool
        }
        struct IntegerCase: Decodable {
            let dtype: String
            let x64: Bool
            let x: [String]
            let y: [String]
            let results: [String: [String]]
        }
        let promotion_x32: Promotion
        let promotion_x64: Promotion
        let conversions: [String: Conversion]
        struct PrintCase: Decodable { let dtype: String; let values: [String]; let repr: String }
        let float16_ops: [FloatCase]
        let printing: [PrintCase]
        let integer_ops: [IntegerCase]
        struct LiteralCase: Decodable { let name: String; let x64: Bool; let dtype: String; let weak: Bool; let values: [String] }
        let literals: [LiteralCase]
    }

    static let fixture: Fixture = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("dtypes.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    /// An array of `dtype` from the fixture's exact texts.
    static func array(_ texts: [String], _ dtype: DType, shape: [Int]? = nil) -> DenseArray {
        let shape = shape ?? [texts.count]
        switch dtype {
        case .int64: return DenseArray(texts.map { Int64($0)! }, shape: shape)
        case .uint64: return DenseArray(texts.map { UInt64($0)! }, shape: shape)
        case .bool: return DenseArray(texts.map { $0 == "1" }, shape: shape)
        case .float64, .float32, .float16, .bfloat16:
            // Exact in float64; the float64 → dtype conversion is exact for these values.
            return convertArray(DenseArray(texts.map { Double($0)! }, shape: shape), to: dtype)
        default: return convertArray(DenseArray(texts.map { Int64($0)! }, shape: shape), to: dtype)
        }
    }

    /// Whether `got[i]` is JAX's `want` text: integers exactly, floats bit for
    /// bit (NaN as NaN), or within `ulps` units in the last place of `dtype`;
    /// a subnormal where XLA flushed to a zero of the same sign counts as equal.
    static func matches(_ got: DenseArray, _ i: Int, _ want: String, ulps: Double = 0) -> Bool {
        switch got.dtype {
        case .int64: return got.pointer(Int64.self)[i] == Int64(want)
        case .uint64: return got.pointer(UInt64.self)[i] == UInt64(want)
        case .bool: return got.pointer(Bool.self)[i] == (want == "1")
        case .float16, .bfloat16, .float32, .float64:
            let (a, e) = (got.double(at: i), Double(want)!)
            if a.isNaN || e.isNaN { return a.isNaN && e.isNaN }
            if a == e && a.sign == e.sign { return true }
            if e == 0 && a.sign == e.sign && isSubnormal(a, got.dtype) { return true }
            if e.isInfinite || a.isInfinite || ulps == 0 { return false }
            return Swift.abs(a - e) <= ulps * ulp(e, got.dtype)
        default: return Int64(got.double(at: i)) == Int64(want)
        }
    }

    static func isSubnormal(_ v: Double, _ dtype: DType) -> Bool {
        switch dtype {
        case .float16: Float16(v).isSubnormal
        case .bfloat16, .float32: Float(v).isSubnormal
        default: v.isSubnormal
        }
    }

    static func ulp(_ v: Double, _ dtype: DType) -> Double {
        let mantissaBits: Double = switch dtype {
        case .float16: 10
        case .bfloat16: 7
        case .float32: 23
        default: 52
        }
        let e = v == 0 ? -14 : Swift.max(floor(log2(Swift.abs(v))), dtype == .float16 ? -14 : -126)
        return exp2(e - mantissaBits)
    }

    static func mismatches(_ got: DenseArray, _ want: [String], ulps: Double = 0) -> [String] {
        guard got.count == want.count else { return ["\(got.count) elements, JAX has \(want.count)"] }
        return (0..<want.count).filter { !matches(got, $0, want[$0], ulps: ulps) }.prefix(4).map {
            "[\($0)] got \(got.double(at: $0)), JAX \(want[$0])"
        }
    }

    // MARK: - Promotion

    @Test func promoteTypesMatchesJAXWithoutX64() {
        for (key, want) in Self.fixture.promotion_x32.promote_types {
            let names = key.split(separator: ",").map { DType(rawValue: String($0))! }
            #expect(promoteTypes(names[0], names[1]).rawValue == want, "\(key)")
        }
    }

    @Test func resultTypeWithWeakTypesMatchesJAXWithoutX64() {
        for (key, value) in Self.fixture.promotion_x32.result_type {
            let parts = key.split(separator: ",").map(String.init)
            let (a, b) = (parts[0], parts[1])
            let da = DType(rawValue: a.replacingOccurrences(of: "*", with: ""))!
            let db = DType(rawValue: b.replacingOccurrences(of: "*", with: ""))!
            guard case .name(let name) = value[0], case .weak(let weak) = value[1] else { Issue.record("bad entry"); continue }
            let r = promoteTypes(da, weak: a.hasSuffix("*"), db, weak: b.hasSuffix("*"))
            #expect(r.dtype.rawValue == name && r.weak == weak, "\(key): got \(r), JAX \(name) weak \(weak)")
        }
    }

    // MARK: - Conversions

    @Test(arguments: DType.allCases)
    func conversionsMatchXLA(from source: DType) throws {
        let c = Self.fixture.conversions[source.rawValue]!
        let x = Self.array(c.values, source)
        // XLA's CPU code treats subnormal inputs as zero (DAZ); Flock keeps
        // them. For those inputs JAX's result must be that of a signed zero.
        let flushedTexts = c.values.map { t in
            let v = Double(t)!
            return source.isFloatingPoint && v != 0 && Self.isSubnormal(v, source) ? (v < 0 ? "-0.0" : "0.0") : t
        }
        let flushed = Self.array(flushedTexts, source)
        for target in DType.allCases {
            // Through the primitive's eval rule (every pair, whatever the x64 mode).
            let convert = Primitive.convert(target, weakType: false)
            let aval = [AbstractValue(shape: x.shape, dtype: target)]
            let y = try convert.evaluate([x], outAvals: aval)[0]
            let yFlushed = try convert.evaluate([flushed], outAvals: aval)[0]
            let want = c.to[target.rawValue]!
            let bad = want.indices.filter { i in
                !Self.matches(y, i, want[i]) && !(flushedTexts[i] != c.values[i] && Self.matches(yFlushed, i, want[i]))
            }
            #expect(bad.isEmpty, "\(source) → \(target): \(bad.map { "\(c.values[$0]) → \(y.double(at: $0)), JAX \(want[$0])" })")
        }
    }

    // MARK: - 16-bit floats

    static func evaluate(_ name: String, _ t: [String: Tensor], _ dtype: DType) -> Tensor? {
        let (a, b, c, p, big) = (t["a"]!, t["b"]!, t["c"]!, t["p"]!, t["big"]!)
        let idx = Tensor([3, 0, 36, 5, 5] as [Int32])
        switch name {
        case "a+b": return a + b
        case "a+b+c": return a + b + c
        case "a*b-c": return a * b - c
        case "a/p": return a / p
        case "big*big": return big * big
        case "big+big": return big + big
        case "a-b": return a - b
        case "max(a,b)": return maximum(a, b)
        case "min(a,b)": return minimum(a, b)
        case "-a": return -a
        case "abs(a)": return abs(a)
        case "floor(a)": return floor(a)
        case "sqrt(p)": return sqrt(p)
        case "a*0.1": return a * 0.1
        case "a+1": return a + 1
        case "exp(a)": return exp(a)
        case "log(p)": return log(p)
        case "tanh(a)": return tanh(a)
        case "sin(a)": return sin(a)
        case "p**b": return pow(p, b)
        case "a<b": return (a .< b).converted(to: dtype)
        case "where(a>0,a,c)": return select(a .> 0, a, c)
        case "clip(a,-1,1)": return clip(a, min: Tensor(-1, dtype: dtype), max: Tensor(1, dtype: dtype))
        case "sum(a)": return a.sum()
        case "sum(big)": return big.sum()
        case "mean(a)": return a.mean()
        case "max(a)": return a.max()
        case "prod(p[:8])": return p[0..<8].prod()
        case "dot(a6x6,b6x6)": return matmul(a[0..<36].reshaped([6, 6]), b[0..<36].reshaped([6, 6]))
        case "sort(a)": return sort(a)
        case "a[idx]": return take(a, idx, mode: .clip)
        case "a.at[idx].add(b5)": return a.at(idx).add(b[0..<5])
        case "a.at[idx].set(b5)": return a.at(Tensor([1, 2, 4] as [Int32])).set(b[0..<3])
        case "conv1d":
            return convolution(a[0..<36].reshaped([1, 2, 18]), b[0..<12].reshaped([2, 2, 3]), strides: [1], padding: .valid)
        case "cumsum(a[:6])": return a[0..<6].cumsum()
        case "astype(float32)": return a.converted(to: .float32).converted(to: dtype)
        default: return nil
        }
    }

    static var floatCases: [Int] { Array(fixture.float16_ops.indices) }

    @Test(arguments: floatCases)
    func sixteenBitFloatArithmeticMatchesXLA(_ k: Int) throws {
        let c = Self.fixture.float16_ops[k]
        let dtype = DType(rawValue: c.dtype)!
        let inputs = c.inputs.mapValues { Tensor(concrete: Self.array($0, dtype)) }
        guard let eager = Self.evaluate(c.name, inputs, dtype) else {
            Issue.record("no Flock expression for \(c.name)")
            return
        }
        let names = inputs.keys.sorted()
        let jitted = jit { (xs: [Tensor]) -> Tensor in
            Self.evaluate(c.name, Dictionary(uniqueKeysWithValues: zip(names, xs)), dtype)!
        }(names.map { inputs[$0]! })
        for (label, y) in [("eager", eager), ("jit", jitted)] {
            let got = try y.concreteArray(for: "test")
            #expect(got.dtype == dtype, "\(c.name) \(label): dtype \(got.dtype)")
            #expect(got.shape == c.shape, "\(c.name) \(label): shape \(got.shape)")
            let bad = Self.mismatches(got, c.result, ulps: c.exact ? 0 : 1)
            #expect(bad.isEmpty, "\(dtype) \(c.name) \(label): \(bad)")
        }
        // jit equals eager bit for bit.
        #expect(try eager.concreteArray(for: "t").bytes.elementsEqual(jitted.concreteArray(for: "t").bytes), "\(c.name)")
    }

    @Test func bfloat16RoundsPerOperation() {
        // 1 + 2^-8 is a tie in bfloat16; (1 + 2^-8) + 2^-8 computed once in
        // float32 would round to 1 + 2^-7, per operation it stays 1.
        let one = Tensor(concrete: Self.array(["1.0"], .bfloat16))
        let tiny = Tensor(concrete: Self.array(["0.00390625"], .bfloat16))
        #expect((one + tiny + tiny).item() == 1.0)
        #expect((one.converted(to: .float32) + tiny.converted(to: .float32) * 2).converted(to: .bfloat16).item() == 1.0078125)
    }

    // MARK: - Integers

    static func integerResult(_ op: String, _ x: Tensor, _ y: Tensor) -> Tensor {
        switch op {
        case "add": bind1(.binary(.add), x, y)
        case "sub": bind1(.binary(.sub), x, y)
        case "mul": bind1(.binary(.mul), x, y)
        case "div": bind1(.binary(.div), x, y)
        case "rem": bind1(.binary(.rem), x, y)
        case "max": bind1(.binary(.max), x, y)
        case "min": bind1(.binary(.min), x, y)
        case "shift_left": shiftLeft(x, y)
        case "shift_right_logical": shiftRightLogical(x, y)
        case "and": bind1(.binary(.and), x, y)
        case "or": bind1(.binary(.or), x, y)
        case "xor": bind1(.binary(.xor), x, y)
        case "pow": bind1(.binary(.pow), x, Tensor(3, dtype: x.dtype).broadcast(to: x.shape))
        case "eq": x .== y
        case "lt": x .< y
        case "neg": -x
        case "abs": abs(x)
        case "sign": sign(x)
        case "not": bind1(.unary(.not), x)
        case "sum": x.sum()
        case "max_reduce": x.max()
        case "x+1": x + 1
        case "x*3": x * 3
        default: Tensor(poisoned: FlockError("no op \(op)"))
        }
    }

    static func integerChecks(x64: Bool) -> [String] {
        var problems: [String] = []
        for c in fixture.integer_ops where c.x64 == x64 {
            let dtype = DType(rawValue: c.dtype)!
            let x = Tensor(concrete: array(c.x, dtype)), y = Tensor(concrete: array(c.y, dtype))
            for (op, want) in c.results.sorted(by: { $0.key < $1.key }) {
                let eager = integerResult(op, x, y)
                let jitted = jit { (xs: [Tensor]) in integerResult(op, xs[0], xs[1]) }([x, y])
                for (label, r) in [("eager", eager), ("jit", jitted)] {
                    guard let got = try? r.concreteArray(for: "test") else { problems.append("\(dtype) \(op) \(label): no value"); continue }
                    let bad = mismatches(got, want)
                    if !bad.isEmpty { problems.append("\(dtype) \(op) \(label) x=\(c.x) y=\(c.y): \(bad)") }
                }
            }
        }
        return problems
    }

    @Test func integerWraparoundMatchesXLA() {
        let problems = Self.integerChecks(x64: false)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    // MARK: - Python literals (Swift literals: weakly typed)

    /// Flock's spelling of each literal case of the fixture.
    static func literal(_ name: String) -> Tensor? {
        switch name {
        case "5": 5 as Tensor
        case "-7": -7 as Tensor
        case "0.1": 0.1 as Tensor
        case "5*3": (5 as Tensor) * 3
        case "5+0.5": (5 as Tensor) + 0.5
        case "7/2": (7 as Tensor) / 2
        case "0.1*3": (0.1 as Tensor) * 3
        case "true+1": Tensor(true) + 1
        case "i32+5": Tensor([0, 1, 2] as [Int32]) + 5
        case "u32+5": Tensor([0, 1, 2] as [UInt32]) + 5
        case "f32*0.1": Tensor([0, 1, 2] as [Float]) * 0.1
        case "i8*3": Tensor(concrete: array(["0", "1", "2"], .int8)) * 3
        case "2**40": Tensor(integerLiteral: 1 << 40)
        case "2**40*3": Tensor(integerLiteral: 1 << 40) * 3
        case "-2**62": Tensor(integerLiteral: -(1 << 62))
        case "i64+2**40": Tensor([0, 1, 2] as [Int64]) + (1 << 40)
        case "f64*0.1": Tensor([0, 1, 2] as [Double]) * 0.1
        default: nil
        }
    }

    /// The literal cases of one x64 mode that differ from JAX's dtype, weak type or values.
    static func literalChecks(x64: Bool) -> [String] {
        var problems: [String] = []
        let cases = fixture.literals.filter { $0.x64 == x64 }
        if cases.count < 12 { problems.append("only \(cases.count) literal cases for x64 = \(x64)") }
        for c in cases {
            guard let t = literal(c.name), let a = try? t.concreteArray(for: "test") else {
                problems.append("\(c.name): no Flock spelling or no value"); continue
            }
            if t.dtype.rawValue != c.dtype || t.weakType != c.weak {
                problems.append("\(c.name): Flock \(t.dtype) weak \(t.weakType), JAX \(c.dtype) weak \(c.weak)")
            }
            let bad = t.dtype.rawValue == c.dtype ? mismatches(a, c.values) : []
            if !bad.isEmpty { problems.append("\(c.name): \(bad)") }
        }
        return problems
    }

    @Test func literalsMatchJAXWithoutX64() {
        guard !Configuration.enableX64 else { return }
        let problems = Self.literalChecks(x64: false)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    // MARK: - Printing

    @Test func printsLikeJAX() {
        for c in Self.fixture.printing {
            let t = Tensor(concrete: Self.array(c.values, DType(rawValue: c.dtype)!))
            #expect(t.description == c.repr)
        }
    }

    // MARK: - Bad input

    @Test func unsupportedDTypesAreCatchableErrors() {
        let i8 = Tensor(concrete: Self.array(["1", "2", "3"], .int8))
        let bf = Tensor(concrete: Self.array(["1.0", "2.0", "3.0"], .bfloat16))
        expectFlockError("bfloat16") { try catchingErrors { shiftLeft(bf, bf) } }
        expectFlockError("cannot reinterpret int8 as float32") { try catchingErrors { i8.bitcast(to: .float32) } }
    }

    // MARK: - Canonicalisation without x64

    @Test func int64RequestsBecomeInt32WithJAXsWarning() {
        guard !Configuration.enableX64 else { return }
        let z = zeros([2], dtype: .int64)
        #expect(z.dtype == .int32)
        #expect(lastDTypeWarningText?.contains("Explicitly requested dtype int64 requested in zeros is not available, and will be truncated to dtype int32.") == true)
        let u = Tensor([1, 2] as [Float]).converted(to: .uint64)
        #expect(u.dtype == .uint32)
        #expect(Tensor([Int64(1) << 40, -3] as [Int64]).dtype == .int32)  // jnp.asarray of an int64 array: wraps
        #expect(Tensor([Int64(5), -3] as [Int64]).toArray(Int32.self) == [5, -3])
    }
}

/// x64 mode is process-wide, so its half of the fixtures runs in a child
/// process of this test binary with `FLOCK_ENABLE_X64=1` (``DTypeX64Child``).
@Suite struct DTypeX64Tests {
    @Test func x64HalfMatchesJAXInAChildProcess() throws {
        let child = try runTestBinaryAsChild(
            filter: "DTypeX64Child", environment: ["FLOCK_ENABLE_X64": "1", "FLOCK_TEST_X64_CHILD": "1"])
        #expect(child.reason == .exit && child.status == 0, "child stderr: \(child.standardError.suffix(4000))")
        #expect(child.standardError.contains("Suite DTypeX64Child passed"), "child stderr: \(child.standardError.suffix(4000))")
    }
}

/// Runs only as the child of ``DTypeX64Tests`` (with x64 on).
@Suite struct DTypeX64Child {
    static var active: Bool { ProcessInfo.processInfo.environment["FLOCK_TEST_X64_CHILD"] == "1" }

    @Test func promotionMatchesJAXWithX64() {
        guard Self.active else { return }
        #expect(Configuration.enableX64)
        let p = DTypeFixtureTests.fixture.promotion_x64
        for (key, want) in p.promote_types {
            let names = key.split(separator: ",").map { DType(rawValue: String($0))! }
            #expect(promoteTypes(names[0], names[1]).rawValue == want, "\(key)")
        }
        for (key, value) in p.result_type {
            let parts = key.split(separator: ",").map(String.init)
            let da = DType(rawValue: parts[0].replacingOccurrences(of: "*", with: ""))!
            let db = DType(rawValue: parts[1].replacingOccurrences(of: "*", with: ""))!
            guard case .name(let name) = value[0], case .weak(let weak) = value[1] else { Issue.record("bad entry"); continue }
            let r = promoteTypes(da, weak: parts[0].hasSuffix("*"), db, weak: parts[1].hasSuffix("*"))
            #expect(r.dtype.rawValue == name && r.weak == weak, "\(key): got \(r), JAX \(name) weak \(weak)")
        }
    }

    @Test func literalsMatchJAXWithX64() {
        guard Self.active else { return }
        let problems = DTypeFixtureTests.literalChecks(x64: true)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test func sixtyFourBitIntegersMatchXLA() {
        guard Self.active else { return }
        let problems = DTypeFixtureTests.integerChecks(x64: true)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test func int64ArraysAreReal() throws {
        guard Self.active else { return }
        #expect(zeros([2], dtype: .int64).dtype == .int64)
        #expect(Tensor([1, 2] as [Float]).converted(to: .uint64).dtype == .uint64)
        let big = Tensor([Int64(1) << 40, -3] as [Int64])
        #expect(big.dtype == .int64)
        #expect((big * 2).toArray(Int64.self) == [Int64(1) << 41, -6])
        #expect((big + 0.5).dtype == .float64)  // a weak float meeting int64: the default float is float64
    }
}
