/// One collective that jit over sharded arrays inserted into the per-device
/// program (see ``ShardedLoweredFunction/partitionReport``).
public struct InsertedCollective: Hashable, Sendable, CustomStringConvertible {
    /// JAX's name of the collective: `all_gather`, `all_to_all`, `psum`, `pmax` or `pmin`.
    public let name: String
    /// The mesh axes it runs over.
    public let axes: [String]
    /// Shape and dtype of one device's operand.
    public let operand: AbstractValue
    /// The traced primitive it serves (`dot_general`, `reduce_sum`, …), or
    /// `output` for a requested output sharding.
    public let consumer: String
    /// Why it is there.
    public let reason: String

    /// Size of one device's operand in bytes.
    public var bytes: Int { operand.count * operand.dtype.byteSize }

    /// One line: name, axes, operand, bytes, consumer and reason.
    public var description: String {
        "\(name) over \(axes) of \(operand) (\(bytes) B per device) for \(consumer): \(reason)"
    }
}

/// The per-device program of a function jitted over sharded arrays: the traced
/// global program's equations on local blocks, with resharding steps and
/// collectives where the propagated layouts need them.
struct PartitionedProgram {
    enum Operand {
        case slot(Int)
        /// A literal or captured constant: the same full value on every device.
        case constant(Tensor)
    }
    enum Step {
        /// `outputs = primitive(inputs)` on local blocks.
        case apply(Primitive, inputs: [Operand], outputs: [Int])
        /// The local block of a value of global `shape` laid out by `from`, laid out by `to` instead.
        case reshard(Operand, output: Int, from: [[String]], to: [[String]], shape: [Int])
        /// `cond`, `while` or `scan` with partitioned bodies.
        case control(ControlStep, inputs: [Operand], outputs: [Int])
    }

    let inputSlots: [Int]
    let steps: [Step]
    let outputs: [Operand]
    /// The results' layouts (one axis list per dimension).
    let outSpecs: [[[String]]]
    let collectives: [InsertedCollective]
    /// The choices between gathering and reducing, in words.
    let decisions: [String]

    /// Runs the program on one device's blocks (under shardMap, so the mesh
    /// axis names are bound to the device's communicators).
    func run(_ inputs: [Tensor], mesh: Mesh) -> [Tensor] {
        var env: [Int: Tensor] = [:]
        for (slot, x) in zip(inputSlots, inputs) { env[slot] = x }
        func read(_ o: Operand) -> Tensor {
            switch o {
            case .slot(let s): env[s]!
            case .constant(let t): t
            }
        }
        for step in steps {
            switch step {
            case .apply(let p, let ins, let outs):
                for (s, y) in zip(outs, bind(p, ins.map(read))) { env[s] = y }
            case .reshard(let x, let out, let from, let to, let shape):
                env[out] = Resharding.body(from: from, to: to, shape: shape, mesh: mesh)(read(x))
            case .control(let c, let ins, let outs):
                for (s, y) in zip(outs, bind(c.primitive(mesh: mesh), ins.map(read))) { env[s] = y }
            }
        }
        return outputs.map(read)
    }
}
