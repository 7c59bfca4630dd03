import FlockCore
/// A fused elementwise loop: a straight-line program of elementwise kernels
/// run block by block over the elements, so each input is read and each
/// output written once while intermediates stay in cache-sized registers.
///
/// Built from the body of a call that elementwise fusion outlined, or from a
/// single elementwise equation. Operands are the loop's inputs (arrays of the
/// loop's shape, one-element scalars, or broadcast rows and columns read in
/// place), registers (per-thread scratch blocks) or outputs already written in
/// the same block.
final class FusedLoop: @unchecked Sendable {
    enum Source: Hashable {
        /// An input of the loop's size, or a one-element scalar.
        case input(Int)
        /// Input `k` read at element `i mod period` (a broadcast row).
        case periodic(Int, period: Int)
        /// Input `k` read at element `i / divisor` (a broadcast column).
        case stretched(Int, divisor: Int)
        case register(Int)
        case output(Int)
    }
    enum Destination: Equatable {
        case register(Int)
        case output(Int)
    }
    /// What a step computes, recorded beside its (opaque) kernel so that
    /// ``NativeLoop`` can generate code for it.
    enum Operation: Equatable {
        /// An elementwise primitive's own kernel for operands of these types.
        case elementwise(Primitive, operandTypes: [DType])
        /// A comparison writing lane masks (``BlockKernel/compareMask(_:_:)``).
        case compareMask(CompareOp, DType)
        /// not/and/or/xor of lane masks of `width` bytes.
        case maskLogic(Primitive, width: Int)
        /// `select` with a lane-mask predicate over data of this type.
        case maskSelect(DType)
        /// A lane mask converted to 1 or 0 of this type.
        case maskConvert(DType)
        /// A copy (or a scalar filling the block) of this type.
        case copy(DType)
    }
    struct Step {
        let kernel: BlockKernel
        let operation: Operation
        let operands: [Source]
        let destination: Destination
        /// Bytes per element of the destination.
        let elementSize: Int
        /// A reduction over rows of the operand into output `destination`
        /// (see ``fuseReductions(_:)``) instead of an elementwise kernel.
        var reduction: RowReduction? = nil
    }

    /// Accumulates rows of `rowLength` elements (float32 or float64) with
    /// `op`, in the reduce kernel's order (see accumulateRowBlock).
    struct RowReduction {
        let op: ReduceOp
        let dtype: DType
        let rowLength: Int
    }

    /// Elements per block: the registers of a typical loop stay in L1 (measured:
    /// 1024 is ~15 % faster than 2048 for GELU).
    static let blockSize = 1024
    /// Bytes between consecutive registers beyond their size, and the first
    /// register's offset in its page (see `runChunk`).
    static let registerStagger = 5 * 64
    static let scratchOffset = 17 * 64
    /// Rows (reductions) and broadcast runs shorter than this many elements
    /// do not cut blocks (a block per run would cost more in dispatch than
    /// in arithmetic): see ``expansions``.
    static let narrowRow = 256

    let count: Int
    let inputTypes: [DType]
    let inputIsScalar: [Bool]
    let outputAvals: [AbstractValue]
    let steps: [Step]
    let registerCount: Int
    /// (output, input) pairs where the output may be written into the input's
    /// buffer: same element size, and no step reads the input after the
    /// step that writes the output. The executor takes, for each output, the
    /// first input whose buffer the plan owns, each input at most once.
    let reusable: [(output: Int, input: Int)]
    /// The steps flattened for the block loop: per step its destination
    /// (as a source) then its operands; the kernels; the operand counts.
    private let flatSources: [Source]
    private let flatKernels: [BlockKernel]
    private let flatArity: [Int]
    /// Periods and divisors of the broadcast operands read in place: blocks end where one starts over.
    private let runLengths: [Int]
    /// Broadcast operands with short periods or divisors (narrow rows, e.g. a
    /// softmax over 10 classes), written out block by block into extra
    /// registers instead of cutting every block at each row's end.
    private let expansions: [(source: Source, register: Int, elementSize: Int)]
    /// Registers including the expansions'.
    private let scratchRegisters: Int
    private let flatReductions: [RowReduction?]
    /// The reductions' row length (one per loop), or nil without reductions.
    private let rowLength: Int?
    /// The loop as machine code, when every step is supported (see ``NativeLoop``);
    /// it runs whole iterations (8-32 elements) of each chunk, the interpreter the rest.
    /// `compilePlan` links the plan's native loops (maps their code) together.
    private(set) var native: NativeLoop? = nil

    /// Runs the interpreter only (the native code could not be mapped).
    func discardNative() { native = nil }

    /// Compiles `body` (elementwise equations, scalar broadcasts, literals)
    /// with outputs of `shape`. Literals become extra inputs after the body's
    /// own, in the order of `literals`. With `native`, a loop that
    /// ``NativeLoop`` supports is also compiled to machine code.
    init(body: Jaxpr, literals: inout [DenseArray], native: Bool = true) {
        outputAvals = body.outputAvals
        // Elements of the loop: the elementwise shape (a reduced output is smaller).
        count = body.equations.filter { fusibleReductionRowLength($0) == nil }.map { $0.outputs[0].aval.count }.max()
            ?? outputAvals.first?.count ?? 1
        var types = body.inputs.map(\.aval.dtype)
        var scalar = body.inputs.map { $0.aval.count == 1 }
        var source: [Int: Source] = [:]
        for (k, v) in body.inputs.enumerated() { source[v.id] = .input(k) }

        // The body's outputs by variable (a variable may be output more than once; the first place is written).
        var outputOf: [Int: Int] = [:]
        for (j, a) in body.outputs.enumerated() {
            if case .variable(let v) = a, outputOf[v.id] == nil { outputOf[v.id] = j }
        }
        // Last step reading each variable, for register reuse.
        var lastRead: [Int: Int] = [:]
        for (i, e) in body.equations.enumerated() { for case .variable(let v) in e.inputs { lastRead[v.id] = i } }

        let masks = maskWidths(body, outputs: Set(outputOf.keys))

        var steps: [Step] = []
        var freeRegisters: [Int] = []
        var registers = 0
        var registerOf: [Int: Int] = [:]
        var literalIndex: [LiteralValue: Int] = [:]
        func operand(_ a: Atom) -> Source {
            switch a {
            case .variable(let v): return source[v.id]!
            case .literal(let l):
                if let k = literalIndex[l] { return .input(k) }
                let k = types.count
                types.append(l.tensor.dtype)
                scalar.append(l.tensor.count == 1)
                literals.append(try! l.tensor.concreteArray(for: "jit"))
                literalIndex[l] = k
                return .input(k)
            }
        }
        for (i, e) in body.equations.enumerated() {
            let v = e.outputs[0]
            var operands = e.inputs.map(operand)
            if let pattern = loopBroadcast(e) {
                // Read in place where used; copied out only if it is an output.
                switch (pattern, operands[0]) {
                case (.periodic(let p), .input(let k)): operands[0] = .periodic(k, period: p)
                case (.stretched(let q), .input(let k)): operands[0] = .stretched(k, divisor: q)
                default: break  // a scalar
                }
                if outputOf[v.id] == nil {
                    source[v.id] = operands[0]
                    continue
                }
            }
            let destination: Destination
            if let j = outputOf[v.id] {
                destination = .output(j)
                source[v.id] = .output(j)
            } else {
                let r = freeRegisters.popLast() ?? { registers += 1; return registers - 1 }()
                registerOf[v.id] = r
                destination = .register(r)
                source[v.id] = .register(r)
            }
            if let length = fusibleReductionRowLength(e), case .reduce(let op, _) = e.primitive, case .output = destination {
                var step = Step(kernel: .copy(v.aval.dtype), operation: .copy(v.aval.dtype), operands: operands, destination: destination, elementSize: v.aval.dtype.byteSize)
                step.reduction = RowReduction(op: op, dtype: v.aval.dtype, rowLength: length)
                steps.append(step)
                for case .variable(let u) in e.inputs where lastRead[u.id] == i {
                    if let r = registerOf.removeValue(forKey: u.id) { freeRegisters.append(r) }
                }
                continue
            }
            let operation: Operation
            if isLoopBroadcast(e) {
                operation = .copy(v.aval.dtype)
            } else if let w = masks[v.id] {
                if case .compare(let op) = e.primitive {
                    operation = .compareMask(op, e.inputs[0].aval.dtype)
                } else {
                    operation = .maskLogic(e.primitive, width: w)
                }
            } else if case .select = e.primitive, case .variable(let p) = e.inputs[0], masks[p.id] != nil {
                operation = .maskSelect(v.aval.dtype)
            } else if case .convert(let d, _) = e.primitive, case .variable(let p) = e.inputs[0], masks[p.id] != nil {
                operation = .maskConvert(d)
            } else {
                operation = .elementwise(e.primitive, operandTypes: e.inputs.map(\.aval.dtype))
            }
            steps.append(Step(kernel: operation.kernel, operation: operation, operands: operands, destination: destination, elementSize: masks[v.id] ?? v.aval.dtype.byteSize))
            // Registers whose variable is read for the last time here are free for later steps.
            for case .variable(let u) in e.inputs where lastRead[u.id] == i {
                if let r = registerOf.removeValue(forKey: u.id) { freeRegisters.append(r) }
            }
        }
        // Outputs that are inputs or scalars (not computed by a step) are copied.
        for (j, a) in body.outputs.enumerated() {
            let s: Source
            switch a {
            case .variable(let v): s = source[v.id]!
            case .literal: s = operand(a)
            }
            if s != .output(j) {
                steps.append(Step(kernel: .copy(outputAvals[j].dtype), operation: .copy(outputAvals[j].dtype), operands: [s], destination: .output(j),
                                  elementSize: outputAvals[j].dtype.byteSize))
            }
        }

        var reusable: [(Int, Int)] = []
        for j in outputAvals.indices {
            guard let w = steps.firstIndex(where: { $0.destination == .output(j) }) else { continue }
            for k in body.inputs.indices
            where body.inputs[k].aval.count == count && outputAvals[j].count == count && !scalar[k]
                && types[k].byteSize == outputAvals[j].dtype.byteSize {
                if !steps[(w + 1)...].contains(where: { $0.operands.contains(.input(k)) }) { reusable.append((j, k)) }
            }
        }
        self.inputTypes = types
        self.inputIsScalar = scalar
        self.steps = steps
        self.registerCount = registers
        self.reusable = reusable
        var runs = Set<Int>()
        var flat: [Source] = []
        let length = steps.compactMap(\.reduction).first?.rowLength
        // Rows shorter than this are reduced several to a block, and broadcasts
        // that start over more often are expanded (every one, with such rows).
        let narrowRows = length.map { $0 < Self.narrowRow } ?? false
        var expanded: [Source: Int] = [:]
        var expansions: [(Source, Int, Int)] = []
        for step in steps {
            switch step.destination {
            case .register(let r): flat.append(.register(r))
            case .output(let j): flat.append(.output(j))
            }
            for o in step.operands {
                let run: Int, k: Int
                switch o {
                case .periodic(let i, let p): (run, k) = (p, i)
                case .stretched(let i, let q): (run, k) = (q, i)
                case .input, .register, .output:
                    flat.append(o)
                    continue
                }
                if run >= Self.narrowRow && !narrowRows {
                    runs.insert(run)
                    flat.append(o)
                    continue
                }
                let r = expanded[o] ?? {
                    let r = registers + expansions.count
                    expansions.append((o, r, types[k].byteSize))
                    expanded[o] = r
                    return r
                }()
                flat.append(.register(r))
            }
        }
        if let length, !narrowRows { runs.insert(length) }  // blocks never straddle two rows
        flatSources = flat
        flatKernels = steps.map(\.kernel)
        flatArity = steps.map(\.operands.count)
        flatReductions = steps.map(\.reduction)
        rowLength = length
        runLengths = runs.sorted()
        self.expansions = expansions.map { (source: $0.0, register: $0.1, elementSize: $0.2) }
        scratchRegisters = registers + expansions.count
        if native { self.native = NativeLoop(self) }
    }

    /// Runs the loop: `inputs` as compiled (body inputs then literals), into `outputs`.
    func run(_ inputs: [DenseArray], into outputs: [DenseArray]) {
        let n = count
        if n == 0 { return }
        let context = UncheckedBox((self, inputs, outputs))
        // A loop of k steps does about k one-operation kernels' work per element.
        let threshold = max(parallelThreshold / max(steps.count, 1), 8 * Self.blockSize)
        if let length = rowLength {
            // Chunks of whole rows: each row is accumulated by one thread, in order.
            let rows = n / length
            forEachChunk(rows, threshold: max(1, threshold / length)) { r0, r1 in
                let (loop, inputs, outputs) = context.value
                loop.runChunk(r0 * length, r1 * length, inputs, outputs)
            }
            return
        }
        if let native, native.isLinked {
            // The arrays' first elements, inputs then outputs, as the native function takes them.
            let table = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: max(1, inputs.count + outputs.count))
            defer { table.deallocate() }
            for (k, a) in inputs.enumerated() { table[k] = UnsafeRawPointer(a.buffer.pointer) }
            for (j, a) in outputs.enumerated() { table[inputs.count + j] = UnsafeRawPointer(a.buffer.pointer) }
            let pointers = UncheckedBox((native, table))
            forEachChunk(n, threshold: threshold) { lo, hi in
                let (native, table) = pointers.value
                let step = native.elementsPerIteration
                // With broadcast rows, native runs start at whole iterations (none wraps a row).
                let start = native.period == nil ? lo : (lo + step - 1) / step * step
                let end = start + max(0, hi - start) / step * step
                let (loop, inputs, outputs) = context.value
                if end > start {
                    if start > lo { loop.runChunk(lo, start, inputs, outputs) }
                    native.run(inputs: table, outputs: table + inputs.count, start, end)
                    if end < hi { loop.runChunk(end, hi, inputs, outputs) }
                } else {
                    loop.runChunk(lo, hi, inputs, outputs)
                }
            }
            return
        }
        forEachChunk(n, threshold: threshold) { lo, hi in
            let (loop, inputs, outputs) = context.value
            loop.runChunk(lo, hi, inputs, outputs)
        }
    }

    /// Where a step finds an operand (or writes its result) in a block starting
    /// at element `start`: `base + start * stride` (stride 0 for registers and scalars).
    private struct Address {
        var base: UnsafeRawPointer
        var stride: Int
        var isScalar: Bool
        /// Nonzero for a broadcast row: the element is `start mod period`.
        var period = 0
        /// Nonzero for a broadcast column: the element is `start / divisor`, a scalar in the block.
        var divisor = 0

        @inline(__always) func pointer(_ start: Int) -> UnsafeRawPointer {
            if period > 0 { return base + (start % period) * stride }
            if divisor > 0 { return base + (start / divisor) * stride }
            return base + start * stride
        }
    }

    private func runChunk(_ lo: Int, _ hi: Int, _ inputs: [DenseArray], _ outputs: [DenseArray]) {
        let block = Self.blockSize
        // Registers are staggered by a few cache lines, and start away from
        // the page offset where the arrays' blocks start: blocks whose
        // addresses agree in their low 12 bits make loads wait on unrelated
        // stores (4K aliasing), which cost GELU 2-3x.
        let registerBytes = block * 8 + Self.registerStagger
        let allocation = scratchRegisters > 0
            ? UnsafeMutableRawPointer.allocate(byteCount: scratchRegisters * registerBytes + 4096, alignment: 4096) : nil
        defer { allocation?.deallocate() }
        let scratch = allocation.map { $0 + Self.scratchOffset }
        // State of the reductions (see accumulateRowBlock), carried from block to block of a row.
        let partials = UnsafeMutableRawPointer.allocate(byteCount: max(1, steps.count) * rowReductionStateBytes, alignment: 16)
        defer { partials.deallocate() }
        // Resolve every operand once per chunk; blocks then only add offsets.
        func address(_ s: Source) -> Address {
            switch s {
            case .input(let i):
                let base = UnsafeRawPointer(inputs[i].buffer.pointer)
                return inputIsScalar[i]
                    ? Address(base: base, stride: 0, isScalar: true)
                    : Address(base: base, stride: inputTypes[i].byteSize, isScalar: false)
            case .periodic(let i, let p):
                return Address(base: UnsafeRawPointer(inputs[i].buffer.pointer), stride: inputTypes[i].byteSize, isScalar: false, period: p)
            case .stretched(let i, let q):
                return Address(base: UnsafeRawPointer(inputs[i].buffer.pointer), stride: inputTypes[i].byteSize, isScalar: true, divisor: q)
            case .register(let r): return Address(base: UnsafeRawPointer(scratch! + r * registerBytes), stride: 0, isScalar: false)
            case .output(let j):
                return Address(base: UnsafeRawPointer(outputs[j].buffer.pointer), stride: outputAvals[j].dtype.byteSize, isScalar: false)
            }
        }
        withUnsafeTemporaryAllocation(of: Address.self, capacity: flatSources.count) { addr in
            withUnsafeTemporaryAllocation(of: BlockOperand.self, capacity: 3) { operands in
                for (k, s) in flatSources.enumerated() { addr.initializeElement(at: k, to: address(s)) }
                let ops = operands.baseAddress!
                // A chunk that shares the loop with other threads calls its own
                // copies of the kernels: no reference count shared between threads
                // (see BlockKernel.privateCopy). A loop run whole needs none.
                let local = lo == 0 && hi == count ? flatKernels : flatKernels.map { $0.privateCopy() }
                local.withUnsafeBufferPointer { kernels in
                    flatArity.withUnsafeBufferPointer { arity in
                        var start = lo
                        while start < hi {
                            var m = min(block, hi - start)
                            for r in runLengths { m = min(m, r - start % r) }
                            if let length = rowLength, length < Self.narrowRow {
                                m = max(length, m - m % length)  // whole rows (chunks are whole rows)
                            }
                            for e in expansions {
                                expand(e.source, e.elementSize, into: scratch! + e.register * registerBytes, start: start, count: m,
                                       inputs)
                            }
                            var a = 0
                            for s in 0..<kernels.count {
                                if let red = flatReductions[s] {
                                    let row = start / red.rowLength
                                    let out = UnsafeMutableRawPointer(mutating: addr[a].base) + row * red.dtype.byteSize
                                    if red.rowLength < Self.narrowRow {
                                        // Several whole rows: each accumulated as the reduce kernel does.
                                        let rowBytes = red.rowLength * red.dtype.byteSize
                                        let first = addr[a + 1].pointer(start)
                                        for j in 0..<(m / red.rowLength) {
                                            accumulateRowBlock(red.op, red.dtype, first + j * rowBytes, count: red.rowLength,
                                                               offset: 0, rowLength: red.rowLength, partials: partials + s * rowReductionStateBytes,
                                                               into: out + j * red.dtype.byteSize)
                                        }
                                    } else {
                                        // Elements `start mod rowLength` onwards of a row; the result at the row's index.
                                        accumulateRowBlock(red.op, red.dtype, addr[a + 1].pointer(start), count: m,
                                                           offset: start % red.rowLength, rowLength: red.rowLength,
                                                           partials: partials + s * rowReductionStateBytes, into: out)
                                    }
                                    a += 2
                                    continue
                                }
                                let destination = UnsafeMutableRawPointer(mutating: addr[a].pointer(start))
                                for k in 0..<arity[s] {
                                    let o = addr[a + 1 + k]
                                    ops[k] = BlockOperand(pointer: o.pointer(start), isScalar: o.isScalar)
                                }
                                a += 1 + arity[s]
                                kernels[s](ops, destination, count: m)
                            }
                            start += m
                        }
                    }
                }
            }
        }
    }
}

/// Writes elements `start ..< start + count` of a broadcast operand (input `k`
/// read at `i mod period` or `i / divisor`) contiguously into `register`.
private func expand(
    _ source: FusedLoop.Source, _ size: Int, into register: UnsafeMutableRawPointer, start: Int, count: Int,
    _ inputs: [DenseArray]
) {
    func fill<T>(_: T.Type) {
        let out = register.assumingMemoryBound(to: T.self)
        switch source {
        case .periodic(let k, let p):
            let x = UnsafeRawPointer(inputs[k].buffer.pointer).assumingMemoryBound(to: T.self)
            var i = 0, j = start % p
            while i < count {
                let run = min(p - j, count - i)
                (out + i).update(from: x + j, count: run)
                i += run
                j = 0
            }
        case .stretched(let k, let q):
            let x = UnsafeRawPointer(inputs[k].buffer.pointer).assumingMemoryBound(to: T.self)
            var i = 0, e = start
            while i < count {
                let run = min(q - e % q, count - i)
                (out + i).update(repeating: x[e / q], count: run)
                i += run
                e += run
            }
        case .input, .register, .output: preconditionFailure("expand: not a broadcast operand")
        }
    }
    switch size {
    case 1: fill(UInt8.self)
    case 2: fill(UInt16.self)
    case 4: fill(UInt32.self)
    default: fill(UInt64.self)
    }
}

extension FusedLoop.Operation {
    /// The block kernel that computes the operation.
    var kernel: BlockKernel {
        switch self {
        case .elementwise(let p, let types): BlockKernel(p, operandTypes: types)!
        case .compareMask(let op, let dtype): .compareMask(op, dtype)!
        case .maskLogic(let p, let width): .maskLogic(p, width: width)!
        case .maskSelect(let dtype): .maskSelect(dtype)
        case .maskConvert(let dtype): .maskConvert(to: dtype)!
        case .copy(let dtype): .copy(dtype)
        }
    }
}

/// The predicates a loop keeps as lane masks (all bits set or clear, as wide
/// as the data they select) instead of bools, by variable: comparisons of 4-
/// or 8-byte operands and logical operations on such masks, when they are not
/// outputs and every use is a `select` predicate over data of that width, a
/// conversion to a number type of that width (giving 1 or 0) or another mask
/// operation. Masks blend without the per-byte widening that
/// 1-byte bools need.
private func maskWidths(_ body: Jaxpr, outputs: Set<Int>) -> [Int: Int] {
    var width: [Int: Int] = [:]
    for e in body.equations where e.outputs[0].aval.dtype == .bool && !outputs.contains(e.outputs[0].id) {
        let v = e.outputs[0].id
        switch e.primitive {
        case .compare:
            let w = e.inputs[0].aval.dtype.byteSize
            if w == 4 || w == 8 { width[v] = w }
        case .unary(.not), .binary(.and), .binary(.or), .binary(.xor):
            let ws = e.inputs.map { a -> Int? in
                if case .variable(let u) = a { return width[u.id] }
                return nil
            }
            if let w = ws[0], ws.allSatisfy({ $0 == w }) { width[v] = w }
        default: break
        }
    }
    // Drop masks with a use that needs a bool, until nothing changes.
    var changed = true
    while changed {
        changed = false
        for e in body.equations {
            for (k, a) in e.inputs.enumerated() {
                guard case .variable(let u) = a, let w = width[u.id] else { continue }
                let ok: Bool
                switch e.primitive {
                case .select: ok = k == 0 && e.outputs[0].aval.dtype.byteSize == w
                case .convert(let d, _): ok = d != .bool && d.byteSize == w
                case .unary(.not), .binary(.and), .binary(.or), .binary(.xor): ok = width[e.outputs[0].id] == w
                default: ok = false
                }
                if !ok {
                    width[u.id] = nil
                    changed = true
                }
            }
        }
    }
    return width
}

/// Carries values the executor has made safe to share across its worker threads.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
