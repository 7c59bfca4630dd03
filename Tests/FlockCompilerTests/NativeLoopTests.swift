import Testing
import FlockTestSupport
@testable import FlockCore
@testable import FlockTransforms
@testable import FlockCompiler

/// The x86-64 encoder against clang's bytes, and native fused loops against
/// the block-kernel interpreter bit for bit: every supported operation on
/// special values (NaN, ±inf, ±0, denormals, tiny and huge), scalars on
/// either side, tails, chunks over threads, random programs, a loop that
/// falls back, and GELU (which must run native where AVX2 is available).
@Suite struct NativeLoopTests {
    typealias A = X86Assembler

    /// Expected bytes assembled by `clang -c` (Intel syntax) and printed by
    /// `objdump -d`, one instruction per case.
    @Test func encodingsMatchClang() {
        func bytes(_ build: (inout A) -> Void) -> [UInt8] {
            var a = A()
            build(&a)
            return a.finish()
        }
        let mem = { (base: A.GPR) in A.Memory(base: base, index: .rax, scale: 4) }
        let cases: [(String, [UInt8], [UInt8])] = [
            ("vaddps ymm1,ymm2,ymm3", bytes { $0.packed(.add, A.YMM(1), A.YMM(2), .register(A.YMM(3))) }, [0xc5, 0xec, 0x58, 0xcb]),
            ("vmulps ymm9,ymm10,[r11+rax*4]", bytes { $0.packed(.mul, A.YMM(9), A.YMM(10), .memory(mem(.r11))) },
             [0xc4, 0x41, 0x2c, 0x59, 0x0c, 0x83]),
            ("vsubps ymm0,ymm15,[rsp+0x40]",
             bytes { $0.packed(.sub, A.YMM(0), A.YMM(15), .memory(A.Memory(base: .rsp, displacement: 64))) },
             [0xc5, 0x84, 0x5c, 0x44, 0x24, 0x40]),
            ("vdivps ymm3,ymm4,[r8+0x120]",
             bytes { $0.packed(.div, A.YMM(3), A.YMM(4), .memory(A.Memory(base: .r8, displacement: 288))) },
             [0xc4, 0xc1, 0x5c, 0x5e, 0x98, 0x20, 0x01, 0x00, 0x00]),
            ("vmaxps ymm5,ymm6,ymm7", bytes { $0.packed(.max, A.YMM(5), A.YMM(6), .register(A.YMM(7))) }, [0xc5, 0xcc, 0x5f, 0xef]),
            ("vandnps ymm1,ymm2,ymm12", bytes { $0.packed(.andNot, A.YMM(1), A.YMM(2), .register(A.YMM(12))) },
             [0xc4, 0xc1, 0x6c, 0x55, 0xcc]),
            ("vxorps ymm8,ymm8,[r13+rax*4+0x0]", bytes { $0.packed(.xor, A.YMM(8), A.YMM(8), .memory(mem(.r13))) },
             [0xc4, 0x41, 0x3c, 0x57, 0x44, 0x85, 0x00]),
            ("vcmpgt_oqps ymm1,ymm2,ymm3", bytes { $0.vcmpps(A.YMM(1), A.YMM(2), .register(A.YMM(3)), 0x1e) },
             [0xc5, 0xec, 0xc2, 0xcb, 0x1e]),
            ("vblendvps ymm1,ymm2,[rbx+rax*4],ymm14", bytes { $0.vblendvps(A.YMM(1), A.YMM(2), .memory(mem(.rbx)), A.YMM(14)) },
             [0xc4, 0xe3, 0x6d, 0x4a, 0x0c, 0x83, 0xe0]),
            ("vpcmpgtd ymm4,ymm11,ymm5", bytes { $0.vpcmpgtd(A.YMM(4), A.YMM(11), .register(A.YMM(5))) }, [0xc5, 0xa5, 0x66, 0xe5]),
            ("vsqrtps ymm2,[r12+rax*4]", bytes { $0.vsqrtps(A.YMM(2), .memory(mem(.r12))) }, [0xc4, 0xc1, 0x7c, 0x51, 0x14, 0x84]),
            ("vrsqrtps ymm1,ymm2", bytes { $0.vrsqrtps(A.YMM(1), .register(A.YMM(2))) }, [0xc5, 0xfc, 0x52, 0xca]),
            ("vrsqrtps ymm2,[r12+rax*4]", bytes { $0.vrsqrtps(A.YMM(2), .memory(mem(.r12))) }, [0xc4, 0xc1, 0x7c, 0x52, 0x14, 0x84]),
            ("vroundps ymm7,ymm9,0x9", bytes { $0.vroundps(A.YMM(7), .register(A.YMM(9)), 9) }, [0xc4, 0xc3, 0x7d, 0x08, 0xf9, 0x09]),
            ("vmovups ymm10,[rdi+rax*4]", bytes { $0.vmovups(A.YMM(10), .memory(mem(.rdi))) }, [0xc5, 0x7c, 0x10, 0x14, 0x87]),
            ("vmovups [r15+rax*4],ymm3", bytes { $0.vmovups(mem(.r15), A.YMM(3)) }, [0xc4, 0xc1, 0x7c, 0x11, 0x1c, 0x87]),
            ("vbroadcastss ymm0,[rdx]", bytes { $0.vbroadcastss(A.YMM(0), A.Memory(base: .rdx)) }, [0xc4, 0xe2, 0x7d, 0x18, 0x02]),
            ("vzeroupper", bytes { $0.vzeroupper() }, [0xc5, 0xf8, 0x77]),
            ("vpmovzxbd ymm3,[r10+rax*1+0x8]",
             bytes { $0.vpmovzxbd(A.YMM(3), A.Memory(base: .r10, index: .rax, displacement: 8)) },
             [0xc4, 0xc2, 0x7d, 0x31, 0x5c, 0x02, 0x08]),
            ("vpmovzxbd ymm12,[rbx+rax*1]", bytes { $0.vpmovzxbd(A.YMM(12), A.Memory(base: .rbx, index: .rax)) },
             [0xc4, 0x62, 0x7d, 0x31, 0x24, 0x03]),
            ("vpslld ymm3,ymm3,0x1f", bytes { $0.vpslld(A.YMM(3), A.YMM(3), 31) }, [0xc5, 0xe5, 0x72, 0xf3, 0x1f]),
            ("vpslld ymm9,ymm12,0x1f", bytes { $0.vpslld(A.YMM(9), A.YMM(12), 31) }, [0xc4, 0xc1, 0x35, 0x72, 0xf4, 0x1f]),
            ("vextractf128 xmm2,ymm5,0x1", bytes { $0.vextractUpperHalf(A.YMM(2), A.YMM(5)) }, [0xc4, 0xe3, 0x7d, 0x19, 0xea, 0x01]),
            ("vextractf128 xmm10,ymm11,0x1", bytes { $0.vextractUpperHalf(A.YMM(10), A.YMM(11)) },
             [0xc4, 0x43, 0x7d, 0x19, 0xda, 0x01]),
            ("vpackssdw xmm2,xmm5,xmm2", bytes { $0.vpackssdw128(A.YMM(2), A.YMM(5), A.YMM(2)) }, [0xc5, 0xd1, 0x6b, 0xd2]),
            ("vpackssdw xmm10,xmm11,xmm10", bytes { $0.vpackssdw128(A.YMM(10), A.YMM(11), A.YMM(10)) },
             [0xc4, 0x41, 0x21, 0x6b, 0xd2]),
            ("vpacksswb xmm2,xmm2,xmm2", bytes { $0.vpacksswb128(A.YMM(2), A.YMM(2), A.YMM(2)) }, [0xc5, 0xe9, 0x63, 0xd2]),
            ("vpabsb xmm2,xmm2", bytes { $0.vpabsb128(A.YMM(2), A.YMM(2)) }, [0xc4, 0xe2, 0x79, 0x1c, 0xd2]),
            ("vmovq [r9+rax*1+0x10],xmm2", bytes { $0.vmovq(A.Memory(base: .r9, index: .rax, displacement: 16), A.YMM(2)) },
             [0xc4, 0xc1, 0x79, 0xd6, 0x54, 0x01, 0x10]),
            ("vmovq [rdx+rax*1],xmm13", bytes { $0.vmovq(A.Memory(base: .rdx, index: .rax), A.YMM(13)) },
             [0xc5, 0x79, 0xd6, 0x2c, 0x02]),
            ("cmp r11,0x200", bytes { $0.cmp(.r11, 512) }, [0x49, 0x81, 0xfb, 0x00, 0x02, 0x00, 0x00]),
            ("push r12", bytes { $0.push(.r12) }, [0x41, 0x54]),
            ("pop rbx", bytes { $0.pop(.rbx) }, [0x5b]),
            ("mov rbp,rsp", bytes { $0.mov(.rbp, .rsp) }, [0x48, 0x89, 0xe5]),
            ("mov r9,[rsp+0x8]", bytes { $0.mov(.r9, A.Memory(base: .rsp, displacement: 8)) }, [0x4c, 0x8b, 0x4c, 0x24, 0x08]),
            ("mov r13,[r13+0x10]", bytes { $0.mov(.r13, A.Memory(base: .r13, displacement: 16)) }, [0x4d, 0x8b, 0x6d, 0x10]),
            ("mov [rsp],rdi", bytes { $0.mov(A.Memory(base: .rsp), .rdi) }, [0x48, 0x89, 0x3c, 0x24]),
            ("and rsp,-32", bytes { $0.and(.rsp, -32) }, [0x48, 0x83, 0xe4, 0xe0]),
            ("sub rsp,0x400", bytes { $0.sub(.rsp, 1024) }, [0x48, 0x81, 0xec, 0x00, 0x04, 0x00, 0x00]),
            ("add rax,0x8", bytes { $0.add(.rax, 8) }, [0x48, 0x83, 0xc0, 0x08]),
            ("cmp rax,rcx", bytes { $0.cmp(.rax, .rcx) }, [0x48, 0x39, 0xc8]),
            ("ret", bytes { $0.ret() }, [0xc3]),
        ]
        for (name, got, expected) in cases {
            #expect(got == expected, "\(name): \(got.map { String($0, radix: 16) }) instead of \(expected.map { String($0, radix: 16) })")
        }
    }

    @Test func jumpsResolveBackwardAndForward() {
        var a = A()
        let top = a.newLabel(), done = a.newLabel()
        a.jump(if: .greaterOrEqual, to: done)  // 6 bytes
        a.bind(top)
        a.ret()
        a.jump(if: .less, to: top)  // from 7 + 6 back to 6: -7
        a.bind(done)
        #expect(a.finish() == [0x0f, 0x8d, 0x07, 0, 0, 0, 0xc3, 0x0f, 0x8c, 0xf9, 0xff, 0xff, 0xff])
    }

    // MARK: Native = interpreter

    /// Special float32 values: every pair of them appears in `pairs`.
    static let specials: [Float] = [
        0, -0.0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 0.1, 3, -7,
        .nan, -.nan, Float(nan: 0x1234, signaling: false), .infinity, -.infinity,
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, 1e-30, -3e-39,
        3.9e-4, -4.1e-4, 0.0004, 7.905311, -7.905312, 9, 20, 1e30, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
    ]

    /// Two arrays holding every pair of specials, then `extra` random values
    /// (so the length is no multiple of 8).
    static func pairs(extra: Int = 37, seed: UInt64 = 1) -> (Tensor, Tensor) {
        var rng = SplitMix64(seed: seed)
        var a: [Float] = [], b: [Float] = []
        for x in specials { for y in specials { a.append(x); b.append(y) } }
        for _ in 0..<extra { a.append(rng.float() * 3); b.append(rng.float() * 3) }
        return (Tensor(a), Tensor(b))
    }

    /// `f` compiled with and without native loops, run on `args`: outputs
    /// bit for bit equal, and the number of native loops of the first plan.
    @discardableResult
    static func expectNativeMatchesInterpreter(
        _ what: String, _ args: [Tensor], _ f: @escaping ([Tensor]) -> [Tensor],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Int {
        let optimised = optimize(makeJaxpr(f)(args))
        let native = compilePlan(optimised), interpreted = compilePlan(optimised, native: false)
        #expect(interpreted.nativeLoopCount == 0)
        let concrete = try args.map { try $0.concreteArray(for: "test") }
        let x = try native.run(concrete), y = try interpreted.run(concrete)
        for (k, (p, q)) in zip(x, y).enumerated() {
            let u = Tensor(concrete: p, weakType: false), v = Tensor(concrete: q, weakType: false)
            #expect(u.aval == v.aval, sourceLocation: sourceLocation)
            let bu = u.toArray(Float.self).map(\.bitPattern), bv = v.toArray(Float.self).map(\.bitPattern)
            if let i = bu.indices.first(where: { bu[$0] != bv[$0] }) {
                let inputs = args.map { $0.count == 1 ? $0.item(Float.self) : $0.toArray(Float.self)[i] }
                Issue.record("\(what) output \(k) element \(i) of inputs \(inputs): native \(String(bu[i], radix: 16)), interpreter \(String(bv[i], radix: 16))",
                             sourceLocation: sourceLocation)
            }
        }
        return native.nativeLoopCount
    }

    static let unaryOps: [(String, @Sendable (Tensor) -> Tensor)] = [
        ("neg", { -$0 }), ("abs", { abs($0) }), ("tanh", { tanh($0) }), ("sqrt", { sqrt($0) }), ("rsqrt", { rsqrt($0) }),
        ("floor", { floor($0) }), ("ceil", { ceil($0) }), ("round", { round($0) }), ("sign", { sign($0) }),
    ]

    @Test(arguments: unaryOps.indices)
    func unaryOperationsMatch(_ k: Int) throws {
        let (name, f) = Self.unaryOps[k]
        let (a, _) = Self.pairs()
        let n = try Self.expectNativeMatchesInterpreter(name, [a]) { [f($0[0])] }
        #expect(n == (NativeLoop.isEnabled ? 1 : 0), "\(name) should run native")
    }

    static let binaryOps: [(String, @Sendable (Tensor, Tensor) -> Tensor)] = [
        ("add", { $0 + $1 }), ("sub", { $0 - $1 }), ("mul", { $0 * $1 }), ("div", { $0 / $1 }),
        ("max", { maximum($0, $1) }), ("min", { minimum($0, $1) }),
        // clamp's operand (the middle one) must have the result's shape.
        ("clamp", { bind1(.clamp, -1.5, $0 + $1, $1 * 2) }), ("clamp by arrays", { bind1(.clamp, $1 - 1, $0 + $1, $0) }),
        ("select gt", { `where`($0 .> $1, $0, $1) }), ("select ge", { `where`($0 .>= $1, $1, $0) }),
        ("select lt", { `where`($0 .< $1, $0, 2) }), ("select le", { `where`($0 .<= $1, -3, $1) }),
        ("select eq", { `where`($0 .== $1, $0, $1 * 2) }), ("select ne", { `where`($0 .!= $1, $0 - $1, $1) }),
        ("mask logic", { `where`((($0 .> 0) .& ($1 .< 1)) .| .!($0 .== $1) .^ ($1 .> 2), $0, $1) }),
        ("mask convert", { ($0 .> $1).converted(to: .float32) + $1 }),
    ]

    /// Both operands arrays, then a scalar on the right, then on the left
    /// (work on the scalar alone may be a loop of its own, and a bool made
    /// from a scalar makes the main loop fall back: only the results are checked).
    @Test(arguments: binaryOps.indices)
    func binaryOperationsMatch(_ k: Int) throws {
        let (name, f) = Self.binaryOps[k]
        let (a, b) = Self.pairs()
        let expected = NativeLoop.isEnabled ? 1 : 0
        #expect(try Self.expectNativeMatchesInterpreter(name, [a, b]) { [f($0[0], $0[1])] } == expected, "\(name)")
        for s in Self.specials {
            let scalar = Tensor(s)
            try Self.expectNativeMatchesInterpreter("\(name) (x, \(s))", [a, scalar]) { [f($0[0], $0[1])] }
            try Self.expectNativeMatchesInterpreter("\(name) (\(s), x)", [scalar, a]) { [f($0[0], $0[1])] }
        }
    }

    /// Comparisons written as bools (relu's mask for its backward pass) and
    /// selects on bool arrays, with a row broadcast as in a dense layer.
    @Test func boolOutputsAndPredicatesMatch() throws {
        let (a, b) = Self.pairs()
        let expected = NativeLoop.isEnabled ? 1 : 0
        let compares: [@Sendable (Tensor, Tensor) -> Tensor] = [{ $0 .== $1 }, { $0 .!= $1 }, { $0 .< $1 }, { $0 .<= $1 }, { $0 .> $1 }, { $0 .>= $1 }]
        for (k, c) in compares.enumerated() {
            #expect(try Self.expectNativeMatchesInterpreter("bool compare \(k)", [a, b]) { v in [c(v[0], v[1])] } == expected)
        }
        // The bytes themselves are 0 or 1 (a bool of any other byte would still print as true).
        let plan = compilePlan(optimize(makeJaxpr { v in [v[0] .<= v[1]] }([a, b])))
        let out = try plan.run([a, b].map { try $0.concreteArray(for: "test") })[0]
        let bytes = UnsafeBufferPointer(start: out.buffer.pointer.assumingMemoryBound(to: UInt8.self), count: out.count)
        #expect(bytes.allSatisfy { $0 <= 1 } && bytes.contains(1) && bytes.contains(0))
        let mask = a .> b
        #expect(try Self.expectNativeMatchesInterpreter("bool select", [mask, a, b]) { v in [`where`(v[0], v[1], v[2] * 2)] } == expected)
        #expect(try Self.expectNativeMatchesInterpreter("bool select scalar branch", [mask, a]) { v in [`where`(v[0], Tensor(Float(0)), v[1])] } == expected)
        var rng = SplitMix64(seed: 3)
        let x = Tensor((0..<(67 * 512)).map { _ in rng.float() }, shape: [67, 512])
        let bias = Tensor((0..<512).map { _ in rng.float() }, shape: [512])
        let relu = try Self.expectNativeMatchesInterpreter("dense relu", [x, bias]) { v in
            let z = v[0] + v[1].broadcast(to: [67, 512])
            return [z .> 0, maximum(z, 0)]
        }
        #expect(relu == expected)
    }

    /// Lengths around multiples of 8 (tails of 0-7 elements) and one long
    /// enough to be split over threads, with several outputs.
    @Test(arguments: [1, 7, 8, 9, 15, 16, 17, 1023, 1025, 1_000_003])
    func tailsAndChunksMatch(_ n: Int) throws {
        var rng = SplitMix64(seed: UInt64(n))
        let x = Tensor((0..<n).map { _ in rng.float() * 5 }), y = Tensor((0..<n).map { _ in rng.float() * 5 })
        let loops = try Self.expectNativeMatchesInterpreter("length \(n)", [x, y, Tensor(Float(0.25))]) { v in
            let t = tanh(v[0] * v[2] + v[1])
            return [t, maximum(t, v[1]) - v[0] / (abs(v[1]) + 1)]
        }
        #expect(loops == (NativeLoop.isEnabled && n >= 8 ? 1 : 0))  // shorter loops are never native
    }

    /// Random chains of supported operations over two arrays and a scalar:
    /// each fuses into one native loop whose outputs equal the interpreter's.
    @Test(arguments: 0..<30)
    func randomProgramsMatch(_ seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 77)
        let n = 8 * 37 + seed % 8
        let args = [Tensor((0..<n).map { _ in rng.float() * 3 }), Tensor((0..<n).map { _ in rng.float() * 3 }), Tensor(rng.float())]
        // Long enough programs to need more than 16 registers now and then.
        let choices = (0..<(10 + seed * 2)).map { _ in (Int(rng.next() % 14), Int(rng.next() % 1000), Int(rng.next() % 1000)) }
        let program = { (v: [Tensor]) -> [Tensor] in
            var values = v
            for (op, i, j) in choices {
                let x = values[i % values.count], y = values[j % values.count]
                let r: Tensor
                switch op {
                case 0: r = x + y
                case 1: r = x - y
                case 2: r = x * y
                case 3: r = x / (abs(y) + 1)
                case 4: r = maximum(x, y)
                case 5: r = minimum(x, y)
                case 6: r = tanh(x)
                case 7: r = -x
                case 8: r = `where`(x .> y, x, y * 0.5)
                case 9: r = sqrt(abs(x))
                case 10: r = x * 0.75 + 1
                case 11: r = floor(x) - round(y)
                case 12: r = clip(x, min: Tensor(Float(-1)), max: Tensor(Float(1)))
                default: r = x * x * x
                }
                values.append(r)
            }
            // Keep every value alive so register pressure grows with the program.
            return [values.suffix(from: 3).reduce(Tensor(Float(0))) { $0 + $1 * 0.125 }, values.last!]
        }
        let loops = try Self.expectNativeMatchesInterpreter("seed \(seed)", args, program)
        #expect(loops >= (NativeLoop.isEnabled ? 1 : 0))
    }

    /// The native loops of a plan (top level).
    static func nativeLoops(_ plan: Plan) -> [NativeLoop] {
        plan.instructions.compactMap { if case .fused(let loop) = $0.kind { return loop.native } else { return nil } }
    }

    /// 24 values alive at once need more than 16 registers: some are spilled to the stack.
    @Test func registerPressureSpills() throws {
        var rng = SplitMix64(seed: 9)
        let args = (0..<2).map { _ in Tensor((0..<1003).map { _ in rng.float() * 4 }) }
        let f = { (v: [Tensor]) -> [Tensor] in
            let parts = (1...24).map { k in v[0] * Tensor(Float(k) * 0.37) + v[1] }
            return [parts.dropFirst().reduce(parts[0]) { $0 * 0.5 + $1 }]
        }
        try Self.expectNativeMatchesInterpreter("24 live values", args, f)
        let loops = Self.nativeLoops(compilePlan(optimize(makeJaxpr(f)(args))))
        if NativeLoop.isEnabled {
            #expect(loops.count == 1 && loops[0].spills && loops[0].elementsPerIteration == 8)
        }
    }

    /// Broadcast rows read in place: rows of whole groups of 8 run native
    /// (an unroll dividing the row, chunks started on whole iterations, the
    /// row index wrapping), including a matrix split over threads.
    @Test(arguments: [[37, 256], [41, 264], [9, 1024], [2003, 512]])
    func broadcastRowsMatch(_ shape: [Int]) throws {
        var rng = SplitMix64(seed: UInt64(shape[0] * shape[1]))
        let (m, n) = (shape[0], shape[1])
        let x = Tensor((0..<(m * n)).map { _ in rng.float() * 3 }, shape: [m, n])
        let row = Tensor((0..<n).map { _ in rng.float() }, shape: [n])
        let loops = try Self.expectNativeMatchesInterpreter("rows \(shape)", [x, row]) { v in
            let r = v[1].broadcast(to: [m, n])
            return [maximum(v[0] * r + 1, 0), tanh(v[0] - r)]
        }
        #expect(loops == (NativeLoop.isEnabled ? 2 : 0))  // one loop per output: each reads the row
        if NativeLoop.isEnabled, let loop = Self.nativeLoops(compilePlan(optimize(makeJaxpr { v in
            [maximum(v[0] * v[1].broadcast(to: [m, n]) + 1, 0)] }([x, row])))).first {
            #expect(loop.period == n && n % loop.elementsPerIteration == 0)
        }
    }

    /// A broadcast row of a length that is no multiple of 8 keeps the interpreter.
    @Test func loopWithBroadcastRowFallsBack() throws {
        var rng = SplitMix64(seed: 5)
        let x = Tensor((0..<(12 * 301)).map { _ in rng.float() }, shape: [12, 301])
        let row = Tensor((0..<301).map { _ in rng.float() }, shape: [301])
        let f = { (v: [Tensor]) in [tanh(v[0] * v[1].broadcast(to: [12, 301]) + 1)] }
        let loops = try Self.expectNativeMatchesInterpreter("row", [x, row], f)
        #expect(loops == 0)
        expectIdentical(jit(f)([x, row])[0], f([x, row])[0], "row broadcast")
    }

    /// Jitted GELU equals eager GELU bit for bit, and runs as one native loop where AVX2 is.
    @Test func geluRunsNativeAndEqualsEager() throws {
        let (a, _) = Self.pairs(extra: 10_000)
        let f = jit { (v: [Tensor]) in [gelu(v[0])] }
        let compiled = f.lower([a]).compile()
        #expect(compiled.nativeLoopCount == (NativeLoop.isEnabled ? 1 : 0))
        if NativeLoop.isEnabled, let loop = Self.nativeLoops(compilePlan(optimize(makeJaxpr { [gelu($0[0])] }([a])))).first {
            // Several groups of 8 side by side, no spills.
            #expect(loop.elementsPerIteration >= 16 && !loop.spills)
        }
        let got = f([a])[0].toArray(Float.self).map(\.bitPattern), want = gelu(a).toArray(Float.self).map(\.bitPattern)
        #expect(got == want)
        try Self.expectNativeMatchesInterpreter("gelu", [a]) { [gelu($0[0])] }
    }
}
