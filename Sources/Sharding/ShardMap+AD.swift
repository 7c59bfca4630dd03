import Synchronization

// Differentiating *around* shardMap (JAX's shard_map transpose).
//
// The global function maps arguments laid out by `inSpecs` to results laid out
// by `outSpecs`. Its pullback is again a per-device program: each device
// pulls its block of the results' cotangents back through its own function
// (collectives transpose as usual: psum to psum, allGather to psumScatter, …).
// Two corrections make the blocks add up to the global cotangent, as in JAX:
// a result replicated over mesh axes has its cotangent divided by their size
// (each copy gets its share), and an argument replicated over mesh axes gets
// the sum over them of the devices' cotangents (a psum).

extension ShardMapFunction {
    /// The results and a pullback from their cotangents (laid out as the
    /// results) to the arguments' cotangents (laid out by `inSpecs`)
    /// (`jax.vjp` of a shard_map). Collective, as is the pullback.
    ///
    /// ```swift
    /// let (outs, pullback) = try f.vjp([x])
    /// let cotangents = try pullback([ct])       // [dx], laid out like x
    /// ```
    public func vjp(_ args: [ShardedArray]) throws -> (outputs: [ShardedArray], pullback: ([ShardedArray]) throws -> [ShardedArray]) {
        // The pullback recomputes from the arguments: they must survive the forward call.
        let outputs = try (jitted.donateArgnums.isEmpty ? self : withoutDonation())(args)
        let outSpecs = outputs.map(\.spec)
        let inputs = args
        return (outputs, { cotangents in
            guard cotangents.count == outputs.count else {
                throw FlockError("shardMap vjp: got \(cotangents.count) cotangents for \(outputs.count) results")
            }
            for (j, (ct, out)) in zip(cotangents, outputs).enumerated() where ct.shape != out.shape || ct.dtype != out.dtype {
                throw FlockError("shardMap vjp: cotangent \(j) is \(ct.aval) but result \(j) is \(out.aval)")
            }
            return try self.backward(outSpecs: outSpecs, valueAndGrad: false)(inputs + cotangents)
        })
    }

    /// For a function whose first result is a scalar: that value and its
    /// gradient with respect to every argument (laid out by `inSpecs`) — the
    /// gradient of the global function, as `grad` of the same computation on
    /// whole arrays would give. One per-device program computes both. Collective.
    ///
    /// ```swift
    /// let loss = shardMap({ a in [pmean(lossOf(a[0], a[1]), axisName: "data")] }, mesh: mesh,
    ///                     inSpecs: [.replicated, PartitionSpec("data")], outSpecs: [.replicated])
    /// let (value, grads) = try loss.valueAndGrad([params, batch])
    /// ```
    public func valueAndGrad(_ args: [ShardedArray]) throws -> (value: ShardedArray, grads: [ShardedArray]) {
        let outs = try backward(outSpecs: nil, valueAndGrad: true)(args)
        return (outs[0], Array(outs.dropFirst()))
    }

    /// This function without donated arguments.
    private func withoutDonation() -> ShardMapFunction {
        ShardMapFunction(f, mesh: mesh, inSpecs: inSpecs, outSpecs: outSpecsRule, checkRep: checkRep, name: name)
    }

    /// The per-device pullback program: arguments (and, for a plain pullback,
    /// the results' cotangents) → (value and) arguments' cotangents.
    private func backward(outSpecs given: [PartitionSpec]?, valueAndGrad: Bool) -> ShardMapFunction {
        let key = BackwardKey(outSpecs: given ?? [], valueAndGrad: valueAndGrad)
        if let g = backwards.withLock({ $0[key] }) { return g }
        let f = self.f, mesh = self.mesh, inSpecs = self.inSpecs, n = inSpecs.count
        let outSpecs = given ?? self.outSpecs
        // Mesh axes along which a spec's values are replicated, and their total size.
        func unmentioned(_ spec: PartitionSpec) -> [String] { mesh.axisNames.filter { !spec.usedAxes.contains($0) } }
        func copies(_ spec: PartitionSpec) -> Double { Double(unmentioned(spec).map { try! mesh.axisSize($0) }.reduce(1, *)) }
        let body = { (xs: [Tensor]) -> [Tensor] in
            let primals = Array(xs.prefix(n))
            let (outs, pullback) = vjpFlat(f, primals)
            let cts: [Tensor]
            if valueAndGrad {
                guard let first = outs.first, first.rank == 0 else {
                    raise(FlockError("shardMap valueAndGrad: the first result must be a scalar, got \(outs.first.map { "\($0.aval)" } ?? "no result")"))
                    return []
                }
                let specs = outSpecs.isEmpty ? [PartitionSpec.replicated] : outSpecs
                cts = [onesLike(first) / copies(specs[0])] + outs.dropFirst().map { zerosLike($0) }
            } else {
                cts = zip(xs.dropFirst(n), outSpecs).map { ct, spec in copies(spec) == 1 ? ct : ct / copies(spec) }
            }
            let grads = zip(pullback(cts), inSpecs).map { g, spec in
                unmentioned(spec).isEmpty ? g : psum(g, axisNames: unmentioned(spec))
            }
            return (valueAndGrad ? [outs[0]] : []) + grads
        }
        let g = shardMap(body, mesh: mesh, inSpecs: inSpecs + (valueAndGrad ? [] : outSpecs),
                         outSpecs: (valueAndGrad ? [outSpecs.first ?? .replicated] : []) + inSpecs,
                         checkRep: checkRep, name: valueAndGrad ? "shard_map_value_and_grad" : "shard_map_vjp")
        backwards.withLock { $0[key] = g }
        return g
    }
}

struct BackwardKey: Hashable {
    let outSpecs: [PartitionSpec]
    let valueAndGrad: Bool
}
