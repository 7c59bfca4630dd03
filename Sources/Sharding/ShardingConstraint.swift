/// `x`, required to be laid out by `spec` inside a function jitted over
/// sharded arrays (`jax.lax.with_sharding_constraint`).
///
/// The value is unchanged; ``jit(inShardings:outShardings:_:)`` reshards it
/// to `spec` (over the mesh of the function's arguments) and propagates that
/// layout from there on. Outside such a function it is the identity. It
/// survives `grad` (the tangent is constrained alike) and `vmap` (the batch
/// dimension stays whole).
///
/// ```swift
/// let f = jit(inShardings: nil) { a in
///     let h = withShardingConstraint(tanh(a[0]), PartitionSpec(nil, "data"))   // columns over "data"
///     return [h * 2]
/// }
/// ```
///
/// - Parameters:
///   - x: the value.
///   - spec: how its dimensions are split over the mesh axes; an axis the mesh
///     does not have is an error when the function is called.
public func withShardingConstraint(_ x: Tensor, _ spec: PartitionSpec) -> Tensor {
    let identity = traceToJaxpr([x.aval]) { $0 }
    return bind1(.call(identity, kind: .shardingConstraint(spec.dimensions)), x)
}
