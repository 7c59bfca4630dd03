/// Collectives over named axes, as `jax.lax` spells them.
///
/// A collective names an axis: one bound by `vmap(f, axisName:)` (single
/// process: psum is a sum over the batch axis), by ``withAxis(_:communicator:_:)``
/// or ``Distributed/onEachLocalDevice(axisName:_:)`` (MPI ranks and local
/// devices). Every member of the axis must call the same collectives in the
/// same order; an inconsistent call is an error on every member, never a hang.
/// Each collective also takes several names (`axisNames:`), whose members are
/// numbered row-major. Under `grad`, `vmap` and `jit` they transform like any
/// primitive.
///
/// Members compare every parameter of each call, and where it was made,
/// before combining any data: each function takes `file` and `line`
/// (defaults `#fileID` and `#line`; leave them) so that a member that skipped
/// a collective, or called an extra one, is reported on every member instead
/// of being paired with the others' next call. Under `jit` the place is the
/// collective's instruction in the compiled plan.

// MARK: - Reductions

/// The sum of `x` over the members of the axis (`lax.psum`); every member gets
/// it. Works leaf by leaf on a pytree (e.g. gradients).
///
/// ```swift
/// let total = vmap({ x in psum(x, axisName: "i") }, axisName: "i")(Tensor([1, 2, 3] as [Float]))
/// // [6, 6, 6]
/// ```
public func psum<T: PyTree>(_ x: T, axisName: String, file: StaticString = #fileID, line: UInt = #line) -> T { psum(x, axisNames: [axisName], file: file, line: line) }

/// ``psum(_:axisName:)`` over several axes at once.
public func psum<T: PyTree>(_ x: T, axisNames: [String], file: StaticString = #fileID, line: UInt = #line) -> T {
    atSite(file, line) { treeMap(x) { bind1(.psum(axes: axisNames), $0) } }
}

/// ``psum(_:axisName:)`` of one tensor (no pytree flattening).
public func psum(_ x: Tensor, axisName: String, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    eagerAllReduce(x, .sum, axisName: axisName, "psum", file, line) ?? atSite(file, line) { bind1(.psum(axes: [axisName]), x) }
}

/// ``psum(_:axisNames:)`` of one tensor.
public func psum(_ x: Tensor, axisNames: [String], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    atSite(file, line) { bind1(.psum(axes: axisNames), x) }
}

/// The mean of `x` over the members of the axis (`lax.pmean`): ``psum(_:axisName:)``
/// divided by the axis size (integers give float32, as in JAX).
public func pmean<T: PyTree>(_ x: T, axisName: String, file: StaticString = #fileID, line: UInt = #line) -> T { pmean(x, axisNames: [axisName], file: file, line: line) }

/// ``pmean(_:axisName:)`` over several axes at once.
public func pmean<T: PyTree>(_ x: T, axisNames: [String], file: StaticString = #fileID, line: UInt = #line) -> T {
    let n = Double(axisSize(axisNames: axisNames))
    return atSite(file, line) { treeMap(x) { n == 1 ? bind1(.psum(axes: axisNames), $0) : bind1(.psum(axes: axisNames), $0) / n } }
}

/// ``pmean(_:axisName:)`` of one tensor.
public func pmean(_ x: Tensor, axisName: String, file: StaticString = #fileID, line: UInt = #line) -> Tensor { pmean(x, axisNames: [axisName], file: file, line: line) }

/// ``pmean(_:axisNames:)`` of one tensor.
public func pmean(_ x: Tensor, axisNames: [String], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    atSite(file, line) { bind1(.psum(axes: axisNames), x) } / Double(axisSize(axisNames: axisNames))
}

/// The elementwise maximum of `x` over the members of the axis (`lax.pmax`).
/// Its derivative goes to the members holding the maximum (ties share it).
public func pmax<T: PyTree>(_ x: T, axisName: String, file: StaticString = #fileID, line: UInt = #line) -> T { pmax(x, axisNames: [axisName], file: file, line: line) }

/// ``pmax(_:axisName:)`` over several axes at once.
public func pmax<T: PyTree>(_ x: T, axisNames: [String], file: StaticString = #fileID, line: UInt = #line) -> T {
    atSite(file, line) { treeMap(x) { bind1(.pmax(axes: axisNames), $0) } }
}

/// ``pmax(_:axisName:)`` of one tensor (no pytree flattening).
public func pmax(_ x: Tensor, axisName: String, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    eagerAllReduce(x, .max, axisName: axisName, "pmax", file, line) ?? atSite(file, line) { bind1(.pmax(axes: [axisName]), x) }
}

/// ``pmax(_:axisNames:)`` of one tensor.
public func pmax(_ x: Tensor, axisNames: [String], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    atSite(file, line) { bind1(.pmax(axes: axisNames), x) }
}

/// The elementwise minimum of `x` over the members of the axis (`lax.pmin`).
public func pmin<T: PyTree>(_ x: T, axisName: String, file: StaticString = #fileID, line: UInt = #line) -> T { pmin(x, axisNames: [axisName], file: file, line: line) }

/// ``pmin(_:axisName:)`` over several axes at once.
public func pmin<T: PyTree>(_ x: T, axisNames: [String], file: StaticString = #fileID, line: UInt = #line) -> T {
    atSite(file, line) { treeMap(x) { bind1(.pmin(axes: axisNames), $0) } }
}

/// ``pmin(_:axisName:)`` of one tensor (no pytree flattening).
public func pmin(_ x: Tensor, axisName: String, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    eagerAllReduce(x, .min, axisName: axisName, "pmin", file, line) ?? atSite(file, line) { bind1(.pmin(axes: [axisName]), x) }
}

/// ``pmin(_:axisNames:)`` of one tensor.
public func pmin(_ x: Tensor, axisNames: [String], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    atSite(file, line) { bind1(.pmin(axes: axisNames), x) }
}

/// The eager fast path of an all-reduce over one name bound to a communicator:
/// what evaluating the primitive does, without the interpreter's generic
/// machinery (a 4-byte psum is latency-bound; this halves Flock's share of it).
/// Nil whenever anything is unusual — a transform is active, the name is
/// unbound or mapped by vmap, a bool operand — so that `bind` handles it and
/// reports errors as usual.
@inline(__always)
private func eagerAllReduce(
    _ x: Tensor, _ op: ReduceOp, axisName: String, _ name: String, _ file: StaticString, _ line: UInt
) -> Tensor? {
    guard InterpreterContext.current is EvalInterpreter, x.dtype != .bool, let array = try? x.concreteArray(for: name),
          // The binding itself, not `AxisFrame.transport`: a package getter is
          // not inlined across modules, and this path is latency-bound.
          case .communicator(let communicator)? = activeAxis(named: axisName)?.binding
    else { return nil }
    do {
        let call = CollectiveCall(
            allReduce: op, axis: axisName, operand: AbstractValue(shape: array.shape, dtype: array.dtype),
            site: CollectiveSite(file: file, line: line))
        let y = try Primitive.evaluateAllReduce(array, op, through: communicator, axis: axisName, call: call)
        return Tensor(concrete: y, weakType: x.weakType)
    } catch {
        raise((error as? FlockError) ?? FlockError("\(name) over '\(axisName)': \(error)"))
        return Tensor.poisoned
    }
}

/// Runs `body` (which binds a collective) with its call site set, so that
/// members can tell collectives at different places apart.
@inline(__always)
private func atSite<R>(_ file: StaticString, _ line: UInt, _ body: () -> R) -> R {
    CollectiveSite.$current.withValue(CollectiveSite(file: file, line: line), operation: body)
}

// MARK: - Data movement

/// Every member's `x`, gathered along `axis` (`lax.all_gather`): stacked as a
/// new axis of the axis size, or concatenated along the existing `axis` when
/// `tiled`.
///
/// ```swift
/// // On 4 members with x of shape [2]: allGather(x, axisName: "i") has shape [4, 2];
/// // allGather(x, axisName: "i", tiled: true) has shape [8].
/// ```
public func allGather(_ x: Tensor, axisName: String, axis: Int = 0, tiled: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    allGather(x, axisNames: [axisName], axis: axis, tiled: tiled, file: file, line: line)
}

/// ``allGather(_:axisName:axis:tiled:)`` over several axes at once.
public func allGather(_ x: Tensor, axisNames: [String], axis: Int = 0, tiled: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    atSite(file, line) { bind1(.allGather(axes: axisNames, axis: axis, tiled: tiled), x) }
}

/// The sum over members, scattered (`lax.psum_scatter`): member `i` gets block
/// `i` of `scatterDimension`, which must equal the axis size (and is removed),
/// or be divisible by it when `tiled` (and is divided).
///
/// ```swift
/// // On 2 members with x of shape [2, 3]: psumScatter(x, axisName: "i") has shape [3].
/// ```
public func psumScatter(_ x: Tensor, axisName: String, scatterDimension: Int = 0, tiled: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    psumScatter(x, axisNames: [axisName], scatterDimension: scatterDimension, tiled: tiled, file: file, line: line)
}

/// ``psumScatter(_:axisName:scatterDimension:tiled:)`` over several axes at once.
public func psumScatter(_ x: Tensor, axisNames: [String], scatterDimension: Int = 0, tiled: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    atSite(file, line) { bind1(.psumScatter(axes: axisNames, scatterDimension: scatterDimension, tiled: tiled), x) }
}

/// Sends `x` from each `source` member to its `destination` (`lax.ppermute`).
/// Each member appears at most once as a source and once as a destination;
/// members that receive nothing get zeros.
///
/// ```swift
/// // A ring shift over n members:
/// let next = ppermute(x, axisName: "i", perm: (0..<n).map { ($0, ($0 + 1) % n) })
/// ```
public func ppermute(_ x: Tensor, axisName: String, perm: [(source: Int, destination: Int)], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    ppermute(x, axisNames: [axisName], perm: perm, file: file, line: line)
}

/// ``ppermute(_:axisName:perm:)`` over several axes at once (members numbered row-major).
public func ppermute(_ x: Tensor, axisNames: [String], perm: [(source: Int, destination: Int)], file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    atSite(file, line) { bind1(.ppermute(axes: axisNames, pairs: perm.map { .init($0.source, $0.destination) }), x) }
}

/// Splits `splitAxis` into one block per member, sends block `j` to member `j`,
/// and concatenates the received blocks along `concatAxis` in member order
/// (`lax.all_to_all`). Without `tiled`, `splitAxis` must equal the axis size
/// and is replaced by a new axis at `concatAxis`.
///
/// ```swift
/// // On 2 members, x of shape [2, 3]: allToAll(x, axisName: "i", splitAxis: 0, concatAxis: 0)
/// // has shape [2, 3]; row j of member i's result is row i of member j's x.
/// ```
public func allToAll(_ x: Tensor, axisName: String, splitAxis: Int, concatAxis: Int, tiled: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    allToAll(x, axisNames: [axisName], splitAxis: splitAxis, concatAxis: concatAxis, tiled: tiled, file: file, line: line)
}

/// ``allToAll(_:axisName:splitAxis:concatAxis:tiled:)`` over several axes at once.
public func allToAll(_ x: Tensor, axisNames: [String], splitAxis: Int, concatAxis: Int, tiled: Bool = false, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    atSite(file, line) { bind1(.allToAll(axes: axisNames, splitAxis: splitAxis, concatAxis: concatAxis, tiled: tiled), x) }
}

/// Member `source`'s `x` on every member (`lax.pbroadcast`).
public func pbroadcast(_ x: Tensor, axisName: String, source: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    pbroadcast(x, axisNames: [axisName], source: source, file: file, line: line)
}

/// ``pbroadcast(_:axisName:source:)`` over several axes at once.
public func pbroadcast(_ x: Tensor, axisNames: [String], source: Int, file: StaticString = #fileID, line: UInt = #line) -> Tensor {
    atSite(file, line) { bind1(.pbroadcast(axes: axisNames, source: source), x) }
}

// MARK: - Position

/// This member's index along the axis, an int32 scalar (`lax.axis_index`).
///
/// ```swift
/// vmap({ _ in axisIndex("i") }, axisSize: 3, axisName: "i")(...)   // [0, 1, 2]
/// ```
public func axisIndex(_ axisName: String) -> Tensor { axisIndex(axisNames: [axisName]) }

/// ``axisIndex(_:)`` over several axes (row-major).
public func axisIndex(axisNames: [String]) -> Tensor { bind1(.axisIndex(axes: axisNames), []) }

/// The number of members of the axis (`lax.axis_size`), read from the axis
/// environment where it is called (a constant under `jit`). An unbound name is
/// an error (reported through `raise`; the placeholder result is 1).
public func axisSize(_ axisName: String) -> Int { axisSize(axisNames: [axisName]) }

/// ``axisSize(_:)`` of several axes: the product of their sizes.
public func axisSize(axisNames: [String]) -> Int {
    var size = 1
    for name in axisNames {
        guard let s = activeAxisSize(name) else {
            do { _ = try boundAxis(name, for: "axisSize") } catch let e as FlockError { raise(e) } catch {}
            return 1
        }
        size *= s
    }
    return size
}
