#if canImport(Runtime)
import Runtime
#endif
import Synchronization

// NaN and Inf debugging: JAX's `jax_debug_nans` and `jax_debug_infs`.
//
// With ``Configuration/debugNans`` (or ``Configuration/debugInfs``) on, every
// primitive the eval interpreter runs has its outputs scanned; the first one
// that *produces* a NaN (an Inf) — its output holds one and none of its inputs
// did — is reported as a FlockError naming the primitive, the shapes and
// dtypes, the user's source line (from a backtrace, where debug information
// has it) and the transforms it ran under. A NaN that comes in (an argument,
// a captured constant) is not reported where it merely passes through.
//
// Under `jit` only the compiled plan's outputs are scanned; on a NaN the
// function is run again op by op, unfused, under the eval interpreter, whose
// check then names the producing primitive (JAX's "de-optimized" re-run).
//
// When both switches are off the cost is one relaxed atomic load per
// primitive (``isOn``) and per transform entered.

/// NaN/Inf checks of evaluated primitives (``Configuration/debugNans``, ``Configuration/debugInfs``).
package enum DebugNumerics {
    /// Whether a check is on for the current task. With both settings off and
    /// no scoped override anywhere this is two relaxed loads.
    @inline(__always) package static var isOn: Bool {
        if Configuration.debugNansSetting.bits | Configuration.debugInfsSetting.bits == 0,
            scopedOverrides.load(ordering: .relaxed) == 0
        {
            return false
        }
        let kinds = Kinds.current
        return kinds.nans || kinds.infs
    }

    /// The transforms and jitted functions being evaluated, outermost first (only recorded while a check is on).
    @TaskLocal package static var scopes: [String] = []

    /// Runs `body` with `name` (e.g. `vmap`, `jit(step)`) recorded as an enclosing transform when a check is on.
    @inline(__always)
    package static func within<R>(_ name: @autoclosure () -> String, _ body: () throws -> R) rethrows -> R {
        guard isOn else { return try body() }
        return try $scopes.withValue(scopes + [name()], operation: body)
    }

    /// Settings for the current task only (``Configuration/withDebugNans(_:_:)``); nil fields follow the global ones.
    @TaskLocal static var override = Override()
    struct Override: Sendable {
        var nans: Bool?
        var infs: Bool?
    }
    /// How many overrides are active in any task: while none is, ``isOn`` reads no task-local value.
    static let scopedOverrides = Atomic<Int>(0)

    static func withOverride<R>(_ o: Override, _ body: () throws -> R) rethrows -> R {
        scopedOverrides.add(1, ordering: .relaxed)
        defer { scopedOverrides.subtract(1, ordering: .relaxed) }
        return try $override.withValue(o, operation: body)
    }

    /// What the checks look for: NaN, Inf or both.
    package struct Kinds: Sendable {
        package let nans: Bool
        package let infs: Bool
        /// The settings in force for the current task.
        package static var current: Kinds {
            let o = override
            return Kinds(nans: o.nans ?? Configuration.debugNans, infs: o.infs ?? Configuration.debugInfs)
        }
    }

    /// A value the checks look for, found in an array.
    package struct Finding: Sendable {
        /// `NaN` or `Inf`.
        package let kind: String
        /// Row-major index of the first such element.
        package let index: Int
    }

    /// The first NaN (when `nans`) or infinity (when `infs`) of a floating-point array.
    package static func firstInvalid(_ a: DenseArray, _ kinds: Kinds) -> Finding? {
        func scan<T: BinaryFloatingPoint>(_: T.Type) -> Finding? {
            let p = a.pointer(T.self)
            for i in 0..<a.count {
                let x = p[i]
                if kinds.nans && x.isNaN { return Finding(kind: "NaN", index: i) }
                if kinds.infs && x.isInfinite { return Finding(kind: "Inf", index: i) }
            }
            return nil
        }
        switch a.dtype {
        case .float32: return scan(Float.self)
        case .float64: return scan(Double.self)
        case .float16: return scan(Float16.self)
        case .bfloat16: return nil  // not produced by kernels: outputs are checked in float32 first
        case .bool, .int32, .uint32, .int64, .uint64, .int8, .uint8, .int16, .uint16: return nil
        }
    }

    /// Whether any of `arrays` holds a value of `kind` (`NaN` or `Inf`).
    package static func contains(_ kind: String, in arrays: [DenseArray]) -> Bool {
        let kinds = Kinds(nans: kind == "NaN", infs: kind == "Inf")
        return arrays.contains { firstInvalid($0, kinds) != nil }
    }

    /// Throws when an output of `primitive` holds a NaN (Inf) that none of its inputs held.
    package static func check(_ primitive: Primitive, inputs: [DenseArray], outputs: [DenseArray]) throws {
        let kinds = Kinds.current
        for (j, y) in outputs.enumerated() {
            guard let found = firstInvalid(y, kinds), !contains(found.kind, in: inputs) else { continue }
            throw FlockError(
                "\(primitive.name): produced \(found.kind) in output \(j) \(describe(y)) at index "
                    + "\(multiIndex(found.index, y.shape)) from inputs [\(inputs.map(describe).joined(separator: ", "))]; "
                    + context(switchFor: found.kind))
        }
    }

    /// Where and under what the report happens: the user's source line, the
    /// enclosing transforms, and the switch that asked for it.
    package static func context(switchFor kind: String) -> String {
        var parts: [String] = []
        if let at = userSourceLocation() { parts.append("at \(at)") }
        let scopes = scopes
        parts.append(scopes.isEmpty ? "eager" : "inside \(scopes.joined(separator: " > "))")
        let setting = kind == "NaN" ? "debugNans (FLOCK_DEBUG_NANS)" : "debugInfs (FLOCK_DEBUG_INFS)"
        parts.append("reported because \(setting) is on")
        return parts.joined(separator: "; ")
    }

    static func describe(_ a: DenseArray) -> String { "\(AbstractValue(shape: a.shape, dtype: a.dtype))" }

    /// `[i, j, …]` for a row-major flat index.
    static func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for d in shape.indices.reversed() where shape[d] > 0 {
            index[d] = rest % shape[d]
            rest /= shape[d]
        }
        return index
    }


    /// `File.swift:line` of the innermost caller outside Flock's sources, from
    /// a symbolicated backtrace; nil when no frame has debug information (a
    /// build without `-g`) or the runtime cannot take a backtrace.
    ///
    /// Operations do not carry `#fileID`/`#line` (every operator and every
    /// internal call would pay for two more arguments); the backtrace is taken
    /// only on the error path.
    package static func userSourceLocation() -> String? {
        #if canImport(Runtime)
        // Source locations cost (DWARF line tables: ~0.5 s for 24 frames of a
        // test binary) where symbol names do not: the names pick the frames
        // outside Flock's modules, and only those are looked up, one by one.
        // Every capture is made from this function, so offsets agree.
        guard let names = try? Backtrace.capture(limit: 96, top: 0).symbolicated(options: [.useSymbolCache]) else { return nil }
        for (offset, frame) in names.frames.enumerated() {
            guard let raw = frame.symbol?.rawName, let module = swiftModule(raw), !libraryModules.contains(module) else { continue }
            guard let one = try? Backtrace.capture(limit: 2, offset: offset, top: 0),
                let located = one.symbolicated(options: [.showSourceLocations, .useSymbolCache]),
                let location = located.frames.first(where: { _ in true })?.symbol?.sourceLocation,
                location.path.hasPrefix("/"), !location.path.contains("/swift-generated-sources/")
            else { continue }
            let file = location.path.split(separator: "/").last.map(String.init) ?? location.path
            if file.hasPrefix("<") { continue }  // <compiler-generated> thunks
            return "\(file):\(location.line)"
        }
        return nil
        #else
        return nil
        #endif
    }

    /// Flock's library modules: their frames are not the user's.
    private static let libraryModules: Set<Substring> = [
        "Flock", "FlockCore", "FlockIO", "FlockCompiler", "FlockTransforms", "FlockCollectives", "FlockSharding",
        "FlockNN", "FlockOptim",
    ]

    /// The module of a mangled Swift symbol (`$s9FlockCore3log…` → `FlockCore`);
    /// nil for the standard library (`$sS…`) and for symbols that are not Swift's.
    static func swiftModule(_ mangled: String) -> Substring? {
        guard mangled.hasPrefix("$s") else { return nil }
        let rest = mangled.dropFirst(2)
        let digits = rest.prefix(while: \.isNumber)
        guard let length = Int(digits), length > 0 else { return nil }
        let name = rest.dropFirst(digits.count).prefix(length)
        return name.count == length ? name : nil
    }
}

extension Configuration {
    /// Runs `body` with ``debugNans`` set to `on` for the current task and the
    /// tasks it starts only (the `jax.debug_nans` context manager); other
    /// threads and tasks keep the global setting.
    ///
    /// ```swift
    /// let y = try Configuration.withDebugNans {
    ///     try catchingErrors { step(params, batch) }  // throws at the first NaN produced
    /// }
    /// ```
    public static func withDebugNans<R>(_ on: Bool = true, _ body: () throws -> R) rethrows -> R {
        var o = DebugNumerics.override
        o.nans = on
        return try DebugNumerics.withOverride(o, body)
    }

    /// Runs `body` with ``debugInfs`` set to `on` for the current task only
    /// (the `jax.debug_infs` context manager); see ``withDebugNans(_:_:)``.
    public static func withDebugInfs<R>(_ on: Bool = true, _ body: () throws -> R) rethrows -> R {
        var o = DebugNumerics.override
        o.infs = on
        return try DebugNumerics.withOverride(o, body)
    }
}
