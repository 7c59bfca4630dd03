/// Which named axes a value of a per-device program varies along (JAX's
/// `check_rep` inference, over a jaxpr).
///
/// Inputs vary along the mesh axes their specs name. Most primitives vary
/// along the union of their operands' axes; collectives change the set:
///
/// | primitive | result varies along |
/// |---|---|
/// | `psum`, `pmax`, `pmin`, `allGather`, `pbroadcast` over A | operand − A (every member gets the same) |
/// | `psumScatter`, `allToAll`, `ppermute` over A | operand ∪ A (members get different parts) |
/// | `axisIndex` over A | A |
///
/// Higher-order primitives are analysed through their jaxprs (loops to a fixed
/// point); a branch index or loop predicate that varies makes every result vary.
enum ReplicationAnalysis {
    typealias Axes = Set<String>

    static func varyingAxes(_ jaxpr: Jaxpr, inputs: [Axes]) -> [Axes] {
        var env: [Int: Axes] = [:]
        for (v, a) in zip(jaxpr.inputs, inputs) { env[v.id] = a }
        func read(_ atom: Atom) -> Axes {
            if case .variable(let v) = atom { return env[v.id] ?? [] }
            return []
        }
        for e in jaxpr.equations {
            let outs = equation(e.primitive, e.inputs.map(read), outputCount: e.outputs.count)
            for (v, a) in zip(e.outputs, outs) { env[v.id] = a }
        }
        return jaxpr.outputs.map(read)
    }

    private static func equation(_ p: Primitive, _ ins: [Axes], outputCount: Int) -> [Axes] {
        let union = ins.reduce(into: Axes()) { $0.formUnion($1) }
        func all(_ a: Axes) -> [Axes] { Array(repeating: a, count: outputCount) }
        switch p {
        case .psum(let axes), .pmax(let axes), .pmin(let axes), .allGather(let axes, _, _), .pbroadcast(let axes, _):
            return all(union.subtracting(axes))
        case .psumScatter(let axes, _, _), .allToAll(let axes, _, _, _), .ppermute(let axes, _):
            return all(union.union(axes))
        case .axisIndex(let axes):
            return all(Set(axes))
        case .call(let j, _), .customJVP(let j, _), .customVJP(let j, _), .checkpoint(let j):
            return varyingAxes(j, inputs: ins)
        case .cond(let branches):
            let operands = Array(ins.dropFirst())
            var out = all(ins.first ?? [])
            for b in branches {
                for (k, a) in varyingAxes(b, inputs: operands).enumerated() { out[k].formUnion(a) }
            }
            return out
        case .whileLoop(let cond, let body, let condConsts, let bodyConsts):
            let cc = Array(ins.prefix(condConsts)), bc = Array(ins.dropFirst(condConsts).prefix(bodyConsts))
            var carry = Array(ins.dropFirst(condConsts + bodyConsts))
            while true {
                let predicate = varyingAxes(cond, inputs: cc + carry).first ?? []
                let next = zip(carry, varyingAxes(body, inputs: bc + carry)).map { $0.union($1).union(predicate) }
                if next == carry { return carry }
                carry = next
            }
        case .scan(let body, _, _, let constCount, let carryCount):
            let consts = Array(ins.prefix(constCount)), xs = Array(ins.dropFirst(constCount + carryCount))
            var carry = Array(ins.dropFirst(constCount).prefix(carryCount))
            while true {
                let outs = varyingAxes(body, inputs: consts + carry + xs)
                let next = zip(carry, outs.prefix(carryCount)).map { $0.union($1) }
                if next == carry { return carry + outs.dropFirst(carryCount) }
                carry = next
            }
        case .unary, .binary, .compare, .select, .clamp, .fma, .convert, .bitcast, .reduce, .argReduce,
            .broadcastInDim, .reshape, .transpose, .reverse, .slice, .dynamicSlice, .dynamicUpdateSlice,
            .gather, .scatter, .concatenate, .pad, .iota, .dotGeneral, .convolution, .cumsum, .sort,
            .reduceWindow, .selectAndScatterAdd, .selectAndGatherAdd,
            .threefry2x32, .stopGradient, .debugCallback, .customVJPLinear:
            return all(union)
        }
    }
}
