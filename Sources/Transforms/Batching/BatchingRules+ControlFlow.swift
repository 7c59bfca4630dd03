/// Batching rules of the higher-order primitives: call, cond, while, scan,
/// custom derivatives and checkpoint.
///
/// Each inner jaxpr is batched by tracing `vmap` of `evalJaxpr` into a new
/// jaxpr (``BatchingRules/traceBatched(_:_:force:)``). Inside these rules every
/// batched operand has its batch dimension first, and every batched result of a
/// traced jaxpr does too, so a jaxpr's batching is described by one flag per
/// input and output.
extension BatchingRules {
    /// The abstract input of a jaxpr to batch: the aval of the (whole-batch)
    /// value, batched at 0 or unbatched.
    struct InputSpec {
        var aval: AbstractValue
        var batched: Bool
    }

    /// The spec of `x`, whose batch dimension (if any) is first.
    func spec(_ x: BatchedValue) -> InputSpec {
        precondition(x.dim == nil || x.dim == 0, "batching rules pass jaxprs their batched operands at dimension 0")
        return InputSpec(aval: x.value.aval, batched: x.dim != nil)
    }

    /// The spec of `x` if `batched` forces it batched at 0 (broadcast) when it is not.
    func spec(_ x: BatchedValue, forcing batched: Bool) -> InputSpec {
        if x.dim != nil || !batched { return spec(x) }
        var aval = x.value.aval
        aval.shape.insert(axisSize, at: 0)
        return InputSpec(aval: aval, batched: true)
    }

    /// `x` with its batch dimension first, broadcast there when `batched` and it is not.
    func instantiate(_ x: BatchedValue, batched: Bool) -> BatchedValue {
        batched || x.dim != nil ? BatchedValue(moveToFront(x), 0) : x
    }

    /// Runs `f` under a new batch interpreter (same axis) over the current one.
    func runBatched(_ args: [BatchedValue], _ f: ([Tensor]) -> [Tensor]) -> [BatchedValue] {
        batchedCall(args, axisSize: axisSize, axisName: axisName, f)
    }

    /// `jaxpr` batched for inputs `inputs`, as a closed jaxpr whose captured
    /// constants (`consts`) are leading inputs. A result is batched (at 0) when
    /// it depends on a batched input or `force` asks for it; `outBatched` says which.
    func traceBatched(_ jaxpr: Jaxpr, _ inputs: [InputSpec], force: [Bool]) -> (jaxpr: Jaxpr, consts: [Tensor], outBatched: [Bool]) {
        var outBatched: [Bool] = []
        let (traced, consts) = traceClosed(inputs.map(\.aval)) { args in
            let outs = runBatched(zip(args, inputs).map { BatchedValue($0, $1.batched ? 0 : nil) }) { evalJaxpr(jaxpr, $0) }
            outBatched = zip(outs, force).map { $0.dim != nil || $1 }
            return zip(outs, outBatched).map { $1 ? moveToFront($0) : $0.value }
        }
        return (traced, consts, outBatched)
    }

    func call(_ jaxpr: Jaxpr, kind: CallKind, _ xs: [BatchedValue]) -> [BatchedValue] {
        let args = xs.map(batchedAtFront)
        let t = traceBatched(jaxpr, args.map(spec), force: jaxpr.outputs.map { _ in false })
        var kind = kind
        // A sharding constraint does not split the batch dimension (in front).
        if case .shardingConstraint(let dims) = kind, args.first?.dim != nil { kind = .shardingConstraint([[]] + dims) }
        let outs = lax.call(t.jaxpr, kind: kind, t.consts + args.map(\.value))
        return zip(outs, t.outBatched).map { BatchedValue($0, $1 ? 0 : nil) }
    }

    func checkpoint(_ jaxpr: Jaxpr, _ xs: [BatchedValue]) -> [BatchedValue] {
        let args = xs.map(batchedAtFront)
        let t = traceBatched(jaxpr, args.map(spec), force: jaxpr.outputs.map { _ in false })
        let outs = lax.checkpoint(t.jaxpr, t.consts + args.map(\.value))
        return zip(outs, t.outBatched).map { BatchedValue($0, $1 ? 0 : nil) }
    }

    // MARK: cond

    /// An unbatched index keeps the `cond`, with branches batched alike (a
    /// result is batched if any branch batches it). A batched index runs every
    /// branch on every example and selects, as JAX does.
    func cond(_ branches: [Jaxpr], index: BatchedValue, _ xs: [BatchedValue]) -> [BatchedValue] {
        let args = xs.map(batchedAtFront)
        if index.dim != nil {
            let last = Tensor(Int32(branches.count - 1))
            let which = lax.clamp(Tensor(Int32(0)), moveToFront(index), last)
            let results = branches.map { b in runBatched(args) { evalJaxpr(b, $0) }.map(moveToFront) }
            var outs = results[0]
            for k in 1..<branches.count {
                let taken = lax.eq(which, Tensor(Int32(k)))
                outs = zip(outs, results[k]).map { current, candidate in
                    lax.select(broadcastPerExample(taken, to: current.shape, at: 0), candidate, current)
                }
            }
            return outs.map { BatchedValue($0, 0) }
        }
        let specs = args.map(spec)
        var outBatched = branches[0].outputs.map { _ in false }
        for b in branches {
            outBatched = zip(outBatched, traceBatched(b, specs, force: outBatched).outBatched).map { $0 || $1 }
        }
        let traced = branches.map { traceBatched($0, specs, force: outBatched) }
        // Every branch takes the constants of all branches (and ignores the others').
        let (joined, consts) = unifyClosures(traced.map { ($0.jaxpr, $0.consts) })
        let outs = lax.cond(index.value, branches: joined, consts + args.map(\.value))
        return zip(outs, outBatched).map { BatchedValue($0, $1 ? 0 : nil) }
    }

    // MARK: while

    /// The carry's batched-ness is a fixed point (a carry the body makes batched
    /// must enter batched). With a batched predicate the loop runs while any
    /// example's predicate holds, and examples that are done keep their carry.
    func whileLoop(cond: Jaxpr, body: Jaxpr, condConstCount nc: Int, bodyConstCount nb: Int, _ xs: [BatchedValue]) -> [BatchedValue] {
        let args = xs.map(batchedAtFront)
        let condConsts = Array(args.prefix(nc)), bodyConsts = Array(args[nc..<(nc + nb)])
        let carry = Array(args.dropFirst(nc + nb))
        var carryBatched = carry.map { $0.dim != nil }
        while true {
            let specs = bodyConsts.map(spec) + zip(carry, carryBatched).map { spec($0, forcing: $1) }
            let out = traceBatched(body, specs, force: carryBatched).outBatched
            if out == carryBatched { break }
            carryBatched = zip(carryBatched, out).map { $0 || $1 }
        }
        let condSpecs = condConsts.map(spec) + zip(carry, carryBatched).map { spec($0, forcing: $1) }
        let predicateBatched = traceBatched(cond, condSpecs, force: [false]).outBatched[0]
        if predicateBatched { carryBatched = carry.map { _ in true } }
        let initial = zip(carry, carryBatched).map { instantiate($0, batched: $1) }

        if !predicateBatched {
            let c = traceBatched(cond, condConsts.map(spec) + initial.map(spec), force: [false])
            let b = traceBatched(body, bodyConsts.map(spec) + initial.map(spec), force: carryBatched)
            let outs = lax.whileLoop(
                cond: c.jaxpr, body: b.jaxpr, condConstCount: c.consts.count + nc, bodyConstCount: b.consts.count + nb,
                c.consts + condConsts.map(\.value) + b.consts + bodyConsts.map(\.value) + initial.map(\.value))
            return zip(outs, carryBatched).map { BatchedValue($0, $1 ? 0 : nil) }
        }

        let condInputs = condConsts.map(spec), bodyInputs = bodyConsts.map(spec), carryInputs = initial.map(spec)
        func values(_ tensors: ArraySlice<Tensor>, _ specs: [InputSpec]) -> [BatchedValue] {
            zip(tensors, specs).map { BatchedValue($0, $1.batched ? 0 : nil) }
        }
        /// The per-example predicate, a [B] bool vector.
        func predicate(_ consts: [BatchedValue], _ carry: [BatchedValue]) -> Tensor {
            moveToFront(runBatched(consts + carry) { evalJaxpr(cond, $0) }[0])
        }
        let anyHolds = traceClosed((condInputs + carryInputs).map(\.aval)) { a in
            let p = predicate(values(a.prefix(nc), condInputs), values(a.dropFirst(nc), carryInputs))
            return [lax.reduce(.or, p, axes: [0])]
        }
        let guardedBody = traceClosed((condInputs + bodyInputs + carryInputs).map(\.aval)) { a in
            let state = values(a.dropFirst(nc + nb), carryInputs)
            let p = predicate(values(a.prefix(nc), condInputs), state)
            let next = runBatched(values(a[nc..<(nc + nb)], bodyInputs) + state) { evalJaxpr(body, $0) }.map(moveToFront)
            return zip(next, state).map { n, old in
                lax.select(broadcastPerExample(p, to: n.shape, at: 0), n, old.value)
            }
        }
        let outs = lax.whileLoop(
            cond: anyHolds.jaxpr, body: guardedBody.jaxpr,
            condConstCount: anyHolds.constArgs.count + nc, bodyConstCount: guardedBody.constArgs.count + nc + nb,
            anyHolds.constArgs + condConsts.map(\.value) + guardedBody.constArgs + condConsts.map(\.value)
                + bodyConsts.map(\.value) + initial.map(\.value))
        return outs.map { BatchedValue($0, 0) }
    }

    // MARK: scan

    /// Scanned inputs keep the scan axis first, so their batch dimension moves
    /// to 1 and their slices are batched at 0; stacked outputs come back batched
    /// at 1. The carry's batched-ness is a fixed point, as for `whileLoop`.
    func scan(body: Jaxpr, length: Int, reverse: Bool, constCount nc: Int, carryCount nk: Int, _ xs: [BatchedValue]) -> [BatchedValue] {
        let consts = xs.prefix(nc).map(batchedAtFront)
        let carry = xs[nc..<(nc + nk)].map(batchedAtFront)
        let scanned = xs.dropFirst(nc + nk).map { $0.dim == nil ? $0 : BatchedValue(moveBatchAxis($0, to: 1), 1) }
        let sliceSpecs = scanned.map { x in
            InputSpec(aval: AbstractValue(shape: Array(x.value.shape.dropFirst()), dtype: x.value.dtype, weakType: x.value.weakType),
                      batched: x.dim != nil)
        }
        let ysCount = body.outputs.count - nk
        var carryBatched = carry.map { $0.dim != nil }
        var t: (jaxpr: Jaxpr, consts: [Tensor], outBatched: [Bool])
        while true {
            let specs = consts.map(spec) + zip(carry, carryBatched).map { spec($0, forcing: $1) } + sliceSpecs
            t = traceBatched(body, specs, force: carryBatched + [Bool](repeating: false, count: ysCount))
            let out = Array(t.outBatched.prefix(nk))
            if out == carryBatched { break }
            carryBatched = zip(carryBatched, out).map { $0 || $1 }
        }
        let initial = zip(carry, carryBatched).map { instantiate($0, batched: $1) }
        let outs = lax.scan(
            body: t.jaxpr, length: length, reverse: reverse, constCount: t.consts.count + nc, carryCount: nk,
            t.consts + consts.map(\.value) + initial.map(\.value) + scanned.map(\.value))
        return zip(outs, t.outBatched).enumerated().map { (i, o) in
            BatchedValue(o.0, o.1 ? (i < nk ? 0 : 1) : nil)
        }
    }

    // MARK: custom derivatives

    /// The primitive is kept with its function batched; the user's rule is
    /// batched the same way (`vmap` of the rule), so a later `jvp` of the
    /// batched program still uses it. All results are batched at 0.
    func customJVP(_ jaxpr: Jaxpr, rule: CustomRule, _ xs: [BatchedValue]) -> [BatchedValue] {
        let args = xs.map(batchedAtFront)
        let inBatched = args.map { $0.dim != nil }
        let t = traceBatched(jaxpr, args.map(spec), force: jaxpr.outputs.map { _ in true })
        let constCount = t.consts.count, n = args.count
        let batchedRule = CustomRule(jvp: { primals, tangents in
            let values = zip(Array(primals.dropFirst(constCount)) + tangents.dropFirst(constCount), inBatched + inBatched)
                .map { BatchedValue($0, $1 ? 0 : nil) }
            var outCount = 0
            let outs = runBatched(values) { a in
                let (o, to) = rule.jvp!(Array(a.prefix(n)), Array(a.dropFirst(n)))
                outCount = o.count
                return o + to
            }.map(moveToFront)
            return (Array(outs.prefix(outCount)), Array(outs.dropFirst(outCount)))
        }, constCount: constCount + rule.constCount)
        let outs = lax.customJVP(t.jaxpr, rule: batchedRule, t.consts + args.map(\.value))
        return outs.map { BatchedValue($0, 0) }
    }

    /// As ``customJVP(_:rule:_:)``, with the user's forward and backward rules batched.
    func customVJP(_ jaxpr: Jaxpr, rule: CustomRule, _ xs: [BatchedValue]) -> [BatchedValue] {
        let args = xs.map(batchedAtFront)
        let t = traceBatched(jaxpr, args.map(spec), force: jaxpr.outputs.map { _ in true })
        let batchedRule = batchedVJPRule(rule, inBatched: args.map { $0.dim != nil }, constAvals: t.consts.map(\.aval))
        let outs = lax.customVJP(t.jaxpr, rule: batchedRule, t.consts + args.map(\.value))
        return outs.map { BatchedValue($0, 0) }
    }

    /// The linear part of a custom-VJP function (inside `linearize`): residuals
    /// and tangents all batched at 0, the backward rule batched to match.
    func customVJPLinear(rule: CustomRule, residualCount: Int, outAvals: [AbstractValue], _ xs: [BatchedValue]) -> [BatchedValue] {
        let args = xs.map(moveToFront)
        let batchedRule = batchedVJPRule(rule, inBatched: args.dropFirst(residualCount).map { _ in true }, constAvals: [])
        let batchedAvals = outAvals.map { a in
            AbstractValue(shape: [axisSize] + a.shape, dtype: a.dtype, weakType: a.weakType)
        }
        let outs = lax.customVJPLinear(rule: batchedRule, residualCount: residualCount, outAvals: batchedAvals, args)
        return outs.map { BatchedValue($0, 0) }
    }

    /// `rule` batched for a function whose leading `constAvals` inputs are
    /// closure constants (ignored) and whose other inputs are batched at 0 or
    /// unbatched (`inBatched`). Outputs, residuals and output cotangents are
    /// batched at 0; the cotangent of an unbatched input sums over the batch,
    /// since every example used it.
    func batchedVJPRule(_ rule: CustomRule, inBatched: [Bool], constAvals: [AbstractValue]) -> CustomRule {
        CustomRule(
            forward: { primals in
                let values = zip(primals.dropFirst(constAvals.count), inBatched).map { BatchedValue($0, $1 ? 0 : nil) }
                var outCount = 0
                let outs = runBatched(values) { a in
                    let (o, residuals) = rule.forward!(a)
                    outCount = o.count
                    return o + residuals
                }.map(moveToFront)
                return (Array(outs.prefix(outCount)), Array(outs.dropFirst(outCount)))
            },
            backward: { residuals, cotangents in
                let values = (residuals + cotangents).map { BatchedValue($0, 0) }
                let cts = runBatched(values) { a in
                    rule.backward!(Array(a.prefix(residuals.count)), Array(a.dropFirst(residuals.count)))
                }
                let inputCts = zip(cts, inBatched).map { ct, batched in
                    batched ? moveToFront(ct) : lax.reduceSum(moveToFront(ct), axes: [0])
                }
                let constCts = constAvals.map {
                    zeros($0.shape, dtype: $0.dtype)
                }
                return constCts + inputCts
            },
            constCount: constAvals.count + rule.constCount)
    }
}

/// Runs `f` on `args` under a new batch interpreter over the current one, with
/// the axis bound to its name; returns the results with their batch dimensions.
func batchedCall(_ args: [BatchedValue], axisSize: Int, axisName: String?, _ f: ([Tensor]) -> [Tensor]) -> [BatchedValue] {
    let interpreter = BatchInterpreter(parent: InterpreterContext.current, axisSize: axisSize, axisName: axisName)
    let inputs = args.map(interpreter.wrap)
    let outs = withAxisBound(interpreter) { withInterpreter(interpreter) { f(inputs) } }
    return outs.map(interpreter.lift)
}
