import Flock

// grad, vmap, control flow, pytrees, custom rules; jit's static and donated arguments.
extension BadInput {
    static let transforms: [BadInput] = [
        BadInput("grad", "grad of a function with a vector output", "grad: gradient only defined for scalar-output functions. Output had shape: [3]") {
            _ = grad { (x: Tensor) in x * 2 }(iota([3]))
        },
        BadInput("grad", "grad with respect to an integer argument", "requires real-valued inputs") {
            _ = grad { (x: Tensor) in x.converted(to: .float32).sum() }(Tensor([1, 2] as [Int32]))
        },
        BadInput("grad", "grad of an integer output", "differentiation requires a real-valued floating-point output") {
            _ = grad { (x: Tensor) in x.sum().converted(to: .int32) }(iota([2]))
        },
        BadInput("grad", "valueAndGrad of a vector output", "gradient only defined for scalar-output functions") {
            _ = valueAndGrad { (x: Tensor) in x }(iota([2]))
        },
        BadInput("grad", "jvp with tangents of another shape", "jvp: primal and tangent arguments must have the same shape and dtype") {
            _ = jvpFlat({ $0 }, [iota([2])], [iota([3])])
        },
        BadInput("grad", "jvp with a different number of tangents", "jvp: 1 primals but 2 tangents") {
            _ = jvpFlat({ $0 }, [iota([2])], [iota([2]), iota([2])])
        },
        BadInput("grad", "jvp with tangents of another tree structure", "jvp: primal and tangent arguments must have the same tree structure") {
            _ = jvp({ (p: [String: Tensor]) in p }, primals: ["a": iota([2])], tangents: ["b": iota([2])])
        },
        BadInput("grad", "vjp pullback with a cotangent of another shape", "vjp: the pullback's cotangent 0 has shape [4], but output 0 has shape [3]") {
            let (_, pullback) = vjpFlat({ [$0[0] * 2] }, [iota([3])])
            _ = pullback([iota([4])])
        },
        BadInput("grad", "reverse mode through a while loop", "Reverse-mode differentiation does not work for whileLoop") {
            _ = grad { (x: Tensor) in
                whileLoop(condition: { (c: Tensor) in c.sum() .< 10 }, body: { $0 * 2 }, initial: x).sum()
            }(iota([2]) + 1)
        },
        BadInput("grad", "a custom JVP rule returning a tangent of the wrong shape", "custom_jvp: the rule's tangent output 0 has shape [2] and dtype float32, expected [3] and float32 (the primal output's)") {
            let f = customJVP({ $0 * 2 }) { x, t in (x * 2, t.sum(axes: [0], keepDims: false).broadcast(to: [2])) }
            _ = grad { (x: Tensor) in f(x).sum() }(iota([3]))
        },
        BadInput("grad", "a custom JVP rule returning a primal of the wrong shape", "custom_jvp: the rule's primal output 0 has shape [1] and dtype float32, expected [3]") {
            let f = customJVP({ $0 * 2 }) { x, t in (x.sum(axes: [0], keepDims: true), t * 2) }
            _ = jvp({ (x: Tensor) in f(x) }, primals: iota([3]), tangents: iota([3]))
        },
        BadInput("grad", "a custom JVP rule returning too many tangents", "custom_jvp: the rule returned 1 primal and 2 tangent outputs, expected 1 of each") {
            let f = customJVPFlat({ [$0[0] * 2] }) { x, t in ([x[0] * 2], [t[0] * 2, t[0]]) }
            _ = grad { (x: Tensor) in f([x])[0].sum() }(iota([3]))
        },
        BadInput("grad", "forward mode through a custom VJP", "custom_vjp: can't apply forward-mode differentiation (jvp)") {
            let f = customVJP({ $0 * 2 }, forward: { ($0 * 2, []) }, backward: { _, g in g * 2 })
            _ = jvp({ (x: Tensor) in f(x) }, primals: iota([2]), tangents: iota([2]))
        },
        BadInput("grad", "checkGrads on an integer argument", "checkGrads: argument 0 is int32 [2]; finite differences need floating-point arguments") {
            try checkGrads({ [$0[0].converted(to: .float32) * 2] }, [Tensor([1, 2] as [Int32])])
        },
        BadInput("grad", "checkGrads of a wrong derivative", "checkGrads") {
            let f = customJVP({ $0 * 2 }) { x, t in (x * 2, t * 3) }
            try checkGrads({ [f($0[0])] }, [iota([2])], modes: [.forward])
        },
        BadInput("vmap", "inAxes with more entries than arguments", "vmap: inAxes has 2 entries but the function was called with 1 arguments") {
            _ = vmapFlat({ $0 }, inAxes: [0, 0], outAxes: [0])([iota([2])])
        },
        BadInput("vmap", "an in axis out of range", "vmap") { _ = vmap({ $0 * 2 }, inAxes: 2)(iota([2, 3])) },
        BadInput("vmap", "mapped axes of different sizes", "vmap got inconsistent sizes for array axes to be mapped") {
            _ = vmap({ $0 + $1 })(iota([2]), iota([3]))
        },
        BadInput("vmap", "no mapped argument and no axisSize", "vmap") { _ = vmap({ $0 * 2 }, inAxes: nil)(iota([2])) },
        BadInput("vmap", "a negative axisSize", "vmap: axisSize must be non-negative, got -1") {
            _ = vmap({ $0 * 2 }, inAxes: nil, axisSize: -1)(iota([2]))
        },
        BadInput("vmap", "an out axis out of range", "vmap: outAxes 3 for result 0 is out of bounds") { _ = vmap({ $0 * 2 }, outAxes: 3)(iota([2])) },
        BadInput("vmap", "outAxes with more entries than results", "vmap: outAxes has 2 entries but the function returned 1 results") {
            _ = vmapFlat({ $0 }, inAxes: [0], outAxes: [0, 0])([iota([2])])
        },
        BadInput("vmap", "a mapped result with outAxes nil", "vmap has mapped output but outAxes is nil") {
            _ = vmap({ $0 * 2 }, outAxes: nil)(iota([2]))
        },
        BadInput("vmap", "pytree inAxes with a wrong number of leaves", "vmap: inAxes has 1 entries but the argument has 2 leaves") {
            _ = vmap({ (p: [Tensor]) in p[0] + p[1] }, inAxes: [0])([iota([2]), iota([2])])
        },
        BadInput("collectives", "psum over an axis name no vmap binds", "psum: unbound axis name 'j'") {
            _ = vmap({ psum($0, axisName: "j") }, axisName: "i")(iota([2]))
        },
        BadInput("collectives", "psum outside any mapped axis", "psum: unbound axis name 'i'") { _ = psum(iota([2]), axisName: "i") },
        BadInput("collectives", "allGather along an axis out of range", "all_gather") {
            _ = vmap({ allGather($0, axisName: "i", axis: 3) }, axisName: "i")(iota([2, 2]))
        },
        BadInput("collectives", "psumScatter of a dimension the axis size does not divide", "reduce_scatter") {
            _ = vmap({ psumScatter($0, axisName: "i", scatterDimension: 0, tiled: true) }, axisName: "i")(iota([2, 3]))
        },
        BadInput("collectives", "allToAll with a split axis out of range", "all_to_all") {
            _ = vmap({ allToAll($0, axisName: "i", splitAxis: 4, concatAxis: 0) }, axisName: "i")(iota([2, 2]))
        },
        BadInput("collectives", "ppermute with a repeated destination", "ppermute") {
            _ = vmap({ ppermute($0, axisName: "i", perm: [(source: 0, destination: 1), (source: 1, destination: 1)]) }, axisName: "i")(iota([2]))
        },
        BadInput("collectives", "ppermute to a device outside the axis", "ppermute") {
            _ = vmap({ ppermute($0, axisName: "i", perm: [(source: 0, destination: 5)]) }, axisName: "i")(iota([2]))
        },
        BadInput("collectives", "pbroadcast from a source outside the axis", "pbroadcast") {
            _ = vmap({ pbroadcast($0, axisName: "i", source: 7) }, axisName: "i")(iota([2]))
        },
        BadInput("collectives", "axisIndex of an unbound name", "axis_index: unbound axis name 'k'") {
            _ = vmap({ $0 + axisIndex("k").converted(to: .float32) }, axisName: "i")(iota([2]))
        },
        BadInput("collectives", "psum over an axis bound to a communicator of the user's own type", "psum over 'r': the axis is bound by withAxis to a communicator of type OwnCommunicator, which Flock cannot call") {
            _ = withAxis("r", communicator: OwnCommunicator()) { psum(iota([2]), axisName: "r") }
        },
        BadInput("collectives", "jitted psum over an axis bound to a communicator of the user's own type", "psum over 'r': the axis is bound by withAxis to a communicator of type OwnCommunicator") {
            _ = withAxis("r", communicator: OwnCommunicator()) { jit { (x: Tensor) in psum(x, axisName: "r") }(iota([2])) }
        },
        BadInput("collectives", "allGather over an axis bound to a communicator of the user's own type", "all_gather over 'r': the axis is bound by withAxis to a communicator of type OwnCommunicator") {
            _ = withAxis("r", communicator: OwnCommunicator()) { allGather(iota([2]), axisName: "r") }
        },
        BadInput("collectives", "barrier on a communicator of the user's own type", "barrier: called on a communicator of type OwnCommunicator, which Flock cannot call") {
            try OwnCommunicator().barrier()
        },
        BadInput("collectives", "psum over a repeated axis name", "axis names repeat") {
            _ = vmap({ psum($0, axisNames: ["i", "i"]) }, axisName: "i")(iota([2]))
        },
        BadInput("control flow", "cond with a vector predicate", "cond: predicate must be a scalar, got shape [2]") {
            _ = cond(Tensor([true, false]), { (x: Tensor) in x }, { $0 * 2 }, iota([2]))
        },
        BadInput("control flow", "cond branches returning different shapes", "cond: branches must return the same types") {
            _ = cond(Tensor(true), { (x: Tensor) in x }, { $0.sum() }, iota([2]))
        },
        BadInput("control flow", "switchCase with a float index", "switch: index must be an integer scalar") {
            _ = switchCase(Tensor(Float(0)), [{ (x: Tensor) in x }, { $0 * 2 }], iota([2]))
        },
        BadInput("control flow", "switchCase with no branch", "switch: needs at least one branch") {
            _ = switchCase(Tensor(Int32(0)), [] as [(Tensor) -> Tensor], iota([2]))
        },
        BadInput("control flow", "whileLoop body changing the carry's shape", "whileLoop: body must return the carry type") {
            _ = whileLoop(condition: { (c: Tensor) in c.sum() .< 10 }, body: { concatenate([$0, $0]) }, initial: iota([2]))
        },
        BadInput("control flow", "whileLoop condition returning a vector", "whileLoop: condition must return a bool scalar") {
            _ = whileLoop(condition: { (c: Tensor) in c .< 10 }, body: { $0 + 1 }, initial: iota([2]))
        },
        BadInput("control flow", "scan over inputs of different lengths", "scan: scanned inputs must share a leading axis; got shapes [[3], [4]]") {
            _ = scan({ (c: Tensor, x: [Tensor]) in (c + x[0] + x[1], c) }, initial: Tensor(Float(0)), xs: [iota([3]), iota([4])])
        },
        BadInput("control flow", "scan with no inputs and no length", "scan: length must be given when there are no scanned inputs") {
            _ = scan({ (c: Tensor, _: [Tensor]) in (c + 1, c) }, initial: Tensor(Float(0)), xs: [Tensor]())
        },
        BadInput("control flow", "scan body changing the carry's dtype", "scan: body must return the carry type") {
            _ = scan({ (c: Tensor, x: Tensor) in (c.converted(to: .float64) + 1, c) }, initial: Tensor(Float(0)), xs: iota([3]))
        },
        BadInput("pytrees", "treeMap over trees of different structures", "tree_map: pytree structures differ") {
            _ = treeMap(["a": iota([2])], ["b": iota([2])]) { $0 + $1 }
        },
        BadInput("pytrees", "treeUnflatten with too few leaves", "tree_unflatten: the structure has 2 leaves, got 1") {
            _ = treeUnflatten(like: [iota([2]), iota([2])], [iota([2])])
        },
        BadInput("pytrees", "vjp cotangent of another structure", "vjp: cotangent structure must match the output's") {
            let (_, pullback) = vjp({ (p: [Tensor]) in p }, [iota([2])])
            _ = pullback([iota([2]), iota([2])])
        },
    ]

    static let jitCases: [BadInput] = [
        BadInput("static arguments", "staticArgnums out of range", "jit(f): staticArgnums 3 is out of range for a call with 2 arguments") {
            _ = jit(name: "f", staticArgnums: [3]) { $0 }([iota([2]), iota([2])])
        },
        BadInput("static arguments", "a negative staticArgnums", "jit(f): staticArgnums -1 is out of range") {
            _ = jit(name: "f", staticArgnums: [-1]) { $0 }([iota([2])])
        },
        BadInput("static arguments", "a traced value as a static argument", "jit(inner): static argument 0 must be a concrete value") {
            let inner = jit(name: "inner", staticArgnums: [0]) { $0 }
            _ = grad { (x: Tensor) in inner([x])[0].sum() }(iota([2]))
        },
        BadInput("static arguments", "an argument both static and donated", "jit(f): argument 0 cannot be both static and donated") {
            _ = jit(name: "f", staticArgnums: [0], donateArgnums: [0]) { $0 }([iota([2])])
        },
        BadInput("donation", "donateArgnums out of range", "jit(f): donateArgnums 2 is out of range for a call with 1 arguments") {
            _ = jit(name: "f", donateArgnums: [2]) { $0 }([iota([2])])
        },
        BadInput("donation", "donateArgnums out of range for a pytree function", "jit(g): donateArgnums 2 is out of range for a function of 2 arguments") {
            _ = jit(name: "g", donateArgnums: [2]) { (a: Tensor, b: Tensor) in a + b }(iota([2]), iota([2]))
        },
        BadInput("donation", "reading a donated array", "this array was donated to a jitted function") {
            let x = iota([3]) + 0
            _ = jit(name: "f", donateArgnums: [0]) { [$0[0] * 2] }([x])
            _ = x + 1
        },
        BadInput("jit", "a compiled function called with another shape", "jit(f): compiled for [f32[2]], called with [f32[3]]") {
            let c = jit(name: "f") { [$0[0] * 2] }.lower([iota([2])]).compile()
            _ = c([iota([3])])
        },
        BadInput("jit", "lowering from shapes with static arguments", "jit(f): lowering from abstract values needs the static arguments' values") {
            _ = jit(name: "f", staticArgnums: [0]) { $0 }.lower([AbstractValue(shape: [2], dtype: .float32)])
        },
        BadInput("jit", "a shape error inside a jitted function", "matmul: contracting dimensions differ") {
            _ = jit { (x: Tensor) in matmul(x, x) }(iota([2, 3]))
        },
        BadInput("jit", "a traced value escaping its jit", "a traced value escaped its transform") {
            nonisolated(unsafe) var leaked: Tensor? = nil
            _ = jit { (x: Tensor) in leaked = x; return x }(iota([2]))
            _ = leaked! + 1
        },
    ]
}

/// A communicator a user wrote: it has a size and a rank, but no transport
/// (Flock's are the only ones collectives can call).
private final class OwnCommunicator: Communicator {
    let size = 2
    let rank = 0
}
