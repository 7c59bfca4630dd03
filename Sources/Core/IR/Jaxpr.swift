/// The staged program representation (JAX's "jaxpr"): plain data.
///
/// A jaxpr has typed input variables, constant variables (bound to concrete
/// values captured while tracing), a list of equations — each one primitive
/// applied to atoms (variables or literals) and defining new variables — and
/// output atoms. It lives in Core because higher-order primitives (`cond`,
/// `whileLoop`, `scan`, `call`) carry jaxprs as parameters; tracing, printing,
/// checking, optimising and compiling them live in FlockTransforms.
public final class Jaxpr: Hashable, Sendable, CustomStringConvertible {
    /// The variables bound to the arguments, in order.
    public let inputs: [Var]
    /// The variables bound to `consts`, values captured while tracing.
    public let constVars: [Var]
    /// Concrete values of `constVars`, in order.
    public let consts: [Tensor]
    /// The equations in evaluation order; each uses only inputs, constants and earlier outputs.
    public let equations: [Equation]
    /// The results: variables defined above, or literals.
    public let outputs: [Atom]

    /// A jaxpr from its parts; `constVars` and `consts` must have equal counts.
    public init(inputs: [Var], constVars: [Var], consts: [Tensor], equations: [Equation], outputs: [Atom]) {
        precondition(constVars.count == consts.count, "Jaxpr: \(constVars.count) const vars for \(consts.count) consts")
        self.inputs = inputs
        self.constVars = constVars
        self.consts = consts
        self.equations = equations
        self.outputs = outputs
    }

    /// The shapes and dtypes of the inputs.
    public var inputAvals: [AbstractValue] { inputs.map(\.aval) }
    /// The shapes and dtypes of the outputs.
    public var outputAvals: [AbstractValue] { outputs.map(\.aval) }

    // Identity semantics: two jaxprs are the same parameter only if they are the same object.
    /// Identity: two jaxprs are equal when they are the same object.
    public static func == (a: Jaxpr, b: Jaxpr) -> Bool { a === b }
    /// Hashes the object's identity (as `==` compares it).
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }

    /// The jaxpr in JAX's text form (`{ lambda ; a:f32[3]. let ... in (b) }`).
    public var description: String { JaxprPrinter.print(self) }
}

/// A variable of a jaxpr: a unique id and its abstract value.
public struct Var: Hashable, Sendable {
    /// The identity of the variable, unique within a trace; printing renames ids to `a`, `b`, ….
    public let id: Int
    /// The shape and dtype of the variable's value.
    public let aval: AbstractValue
    /// A variable with the given id and abstract value.
    public init(id: Int, aval: AbstractValue) {
        self.id = id
        self.aval = aval
    }
}

/// An operand of an equation: a variable or a literal constant.
public enum Atom: Hashable, Sendable {
    /// A variable defined by an input, a constant or an earlier equation.
    case variable(Var)
    /// A constant written into the program.
    case literal(LiteralValue)

    /// The shape and dtype of the operand.
    public var aval: AbstractValue {
        switch self {
        case .variable(let v): v.aval
        case .literal(let l): l.tensor.aval
        }
    }
}

/// A small concrete constant inlined into a jaxpr (compared by value).
public struct LiteralValue: Hashable, Sendable {
    /// The concrete value.
    public let tensor: Tensor
    /// Wraps a concrete tensor as a literal.
    public init(_ tensor: Tensor) { self.tensor = tensor }
    /// Equal when dtype, shape and bytes are equal.
    public static func == (a: LiteralValue, b: LiteralValue) -> Bool {
        a.tensor.aval == b.tensor.aval && a.tensor.isConcrete && b.tensor.isConcrete
            && a.tensor.rawBytes == b.tensor.rawBytes
    }
    /// Hashes dtype, shape and bytes (as `==` compares them).
    public func hash(into h: inout Hasher) {
        h.combine(tensor.aval)
        h.combine(tensor.rawBytes)
    }
}

/// One step of a jaxpr: `outputs = primitive(inputs)`.
public struct Equation: Hashable, Sendable {
    /// The operation applied, with its static parameters.
    public let primitive: Primitive
    /// The operands, in the primitive's order.
    public let inputs: [Atom]
    /// The variables the equation defines, one per result.
    public let outputs: [Var]
    /// An equation applying `primitive` to `inputs` and defining `outputs`.
    public init(primitive: Primitive, inputs: [Atom], outputs: [Var]) {
        self.primitive = primitive
        self.inputs = inputs
        self.outputs = outputs
    }
}

extension Tensor {
    /// Raw bytes of a concrete value (empty for tracers); used to compare literals.
    var rawBytes: [UInt8] {
        guard case .concrete(let a) = storage else { return [] }
        return Array(a.bytes)
    }
}

/// Evaluates `jaxpr` on `args` by binding each equation under the *current*
/// interpreter — so a staged program can itself be differentiated, batched
/// or staged again.
public func evalJaxpr(_ jaxpr: Jaxpr, _ args: [Tensor]) -> [Tensor] {
    var env: [Int: Tensor] = [:]
    env.reserveCapacity(jaxpr.equations.count + args.count)
    for (v, x) in zip(jaxpr.constVars, jaxpr.consts) { env[v.id] = x }
    for (v, x) in zip(jaxpr.inputs, args) { env[v.id] = x }
    func read(_ a: Atom) -> Tensor {
        switch a {
        case .variable(let v): env[v.id]!
        case .literal(let l): l.tensor
        }
    }
    for eqn in jaxpr.equations {
        let outs = bind(eqn.primitive, eqn.inputs.map(read))
        for (v, x) in zip(eqn.outputs, outs) { env[v.id] = x }
    }
    return jaxpr.outputs.map(read)
}

/// Prints jaxprs as JAX does: `{ lambda a:f32[]; b:f32[3]. let c:f32[3] = mul b a in (c) }`.
public enum JaxprPrinter {
    /// The jaxpr as JAX prints it, variables named `a`, `b`, … in order of definition.
    public static func print(_ jaxpr: Jaxpr) -> String {
        var names: [Int: String] = [:]
        var counter = 0
        func name(_ v: Var) -> String {
            if let n = names[v.id] { return n }
            var n = ""
            var k = counter
            repeat {
                n = String(UnicodeScalar(UInt8(97 + k % 26))) + n
                k = k / 26 - 1
            } while k >= 0
            counter += 1
            names[v.id] = n
            return n
        }
        func decl(_ v: Var) -> String { "\(name(v)):\(v.aval)" }
        func atom(_ a: Atom) -> String {
            switch a {
            case .variable(let v): return name(v)
            case .literal(let l):
                if let a = try? l.tensor.concreteArray(for: "print"), a.count == 1 {
                    let v = a.double(at: 0)
                    let s = a.dtype.isFloatingPoint ? String(v) : String(Int(v))
                    return "\(s):\(l.tensor.aval)"
                }
                return "<literal \(l.tensor.aval)>"
            }
        }
        let consts = jaxpr.constVars.map(decl).joined(separator: " ")
        let ins = jaxpr.inputs.map(decl).joined(separator: " ")
        var lines = ["{ lambda \(consts); \(ins). let"]
        for e in jaxpr.equations {
            let outs = e.outputs.map(decl).joined(separator: " ")
            let params = parameterString(e.primitive)
            lines.append("    \(outs) = \(e.primitive.name)\(params) \(e.inputs.map(atom).joined(separator: " "))")
            // A call's body, indented below it (as JAX prints `jaxpr={ ... }`).
            if case .call(let body, _) = e.primitive {
                lines += print(body).split(separator: "\n").map { "        " + $0 }
            }
        }
        lines.append("  in (\(jaxpr.outputs.map(atom).joined(separator: ", "))) }")
        return lines.joined(separator: "\n")
    }

    static func windowParameterString(_ w: WindowParameters) -> String {
        func tuple(_ v: [Int]) -> String { "(" + v.map(String.init).joined(separator: ", ") + (v.count == 1 ? ",)" : ")") }
        return "[base_dilation=\(tuple(w.baseDilation)) padding=(\(w.padding.map(tuple).joined(separator: ", ")))"
            + " window_dilation=\(tuple(w.windowDilation)) window_dimensions=\(tuple(w.windowDimensions))"
            + " window_strides=\(tuple(w.windowStrides))]"
    }

    static func parameterString(_ p: Primitive) -> String {
        func names(_ axes: [String]) -> String { "(" + axes.map { "'\($0)'" }.joined(separator: ", ") + (axes.count == 1 ? ",)" : ")") }
        switch p {
        case .reduce(_, let axes): return "[axes=(\(axes.map(String.init).joined(separator: ", ")))]"
        case .broadcastInDim(let shape, let dims): return "[broadcast_dimensions=\(dims) shape=\(shape)]"
        case .reshape(let s): return "[new_sizes=\(s)]"
        case .transpose(let p): return "[permutation=\(p)]"
        case .convert(let d, let w): return "[new_dtype=\(d) weak_type=\(w ? "True" : "False")]"
        case .dotGeneral(let dn): return "[dimension_numbers=((\(dn.lhsContracting), \(dn.rhsContracting)), (\(dn.lhsBatch), \(dn.rhsBatch)))]"
        case .argReduce(_, let axis), .concatenate(let axis): return "[axis=\(axis)]"
        case .iota(let d, let s, let dim): return "[dimension=\(dim) dtype=\(d) shape=\(s)]"
        case .call(_, let kind): return "[name=\(kind)]"
        case .gather(_, let sizes, let mode, let fill):
            return "[mode=\(mode.rawValue) slice_sizes=\(sizes)\(fill.map { " fill_value=\($0)" } ?? "")]"
        case .scatter(_, _, let mode): return "[mode=\(mode.rawValue)]"
        case .reduceWindow(_, let w): return windowParameterString(w)
        case .selectAndScatterAdd(let s, let w), .selectAndGatherAdd(let s, let w):
            return "[select_prim=\(s.rawValue) " + windowParameterString(w).dropFirst()
        case .psum(let axes), .pmax(let axes), .pmin(let axes), .axisIndex(let axes):
            return "[axes=\(names(axes))]"
        case .allGather(let axes, let axis, let tiled):
            return "[all_gather_dimension=\(axis) axis_name=\(names(axes)) tiled=\(tiled ? "True" : "False")]"
        case .psumScatter(let axes, let d, let tiled):
            return "[axis_name=\(names(axes)) scatter_dimension=\(d) tiled=\(tiled ? "True" : "False")]"
        case .ppermute(let axes, let pairs):
            return "[axis_name=\(names(axes)) perm=(\(pairs.map { "(\($0.source), \($0.destination))" }.joined(separator: ", ")))]"
        case .allToAll(let axes, let split, let concat, let tiled):
            return "[axis_name=\(names(axes)) concat_axis=\(concat) split_axis=\(split) tiled=\(tiled ? "True" : "False")]"
        case .pbroadcast(let axes, let source):
            return "[axis_name=\(names(axes)) source=\(source)]"
        default: return ""
        }
    }
}
