// The data-parallel step the training examples share: the state is the same on
// every device (unmapped in pmap), the batch is split over the devices, and
// the body averages the gradients with `pmean` over `dataParallelAxis`.
import Flock

/// The pmap axis name over which ``DataParallelStep`` maps the devices.
public let dataParallelAxis = "data"

/// One training step run data-parallel over every local device (and, through
/// `pmean`, every rank), as one `pmap` over the state's flat leaves.
///
/// The body sees the state and this device's slice of each input; it returns
/// the next state (which must be the same on every device: average the
/// gradients with `pmean(grads, axisName: dataParallelAxis)` before
/// the update) and scalar metrics, which are averaged over the devices here.
///
/// ```swift
/// let step = DataParallelStep(like: state, metricCount: 1) { s, inputs in
///     let (loss, grads) = valueAndGrad { (m: MLP) in loss(m, inputs[0], inputs[1]) }(s.model)
///     let (updates, opt) = optimizer.update(pmean(grads, axisName: dataParallelAxis), state: s.optimizer, params: s.model)
///     return (State(model: applyUpdates(s.model, updates), optimizer: opt, step: s.step + 1), [loss])
/// }
/// let (next, metrics) = try step(state, [x, y])   // x, y: [localDeviceCount, perDevice, …]
/// ```
public struct DataParallelStep<State: PyTree> {
    let function: PmapFunction
    let template: State
    let stateCount: Int

    /// A step for states shaped like `template`, taking `inputCount` batched inputs and returning `metricCount` metrics.
    public init(
        like template: State, inputCount: Int = 2, metricCount: Int,
        _ body: @escaping (State, [Tensor]) -> (State, [Tensor])
    ) {
        let stateCount = treeLeaves(template).count
        (self.template, self.stateCount) = (template, stateCount)
        function = pmap({ args -> [Tensor] in
            let s = treeUnflatten(like: template, Array(args[0..<stateCount]))
            let (next, metrics) = body(s, Array(args[stateCount...]))
            return treeLeaves(next) + metrics.map { pmean($0, axisName: dataParallelAxis) }
        }, axisName: dataParallelAxis, inAxes: [Int?](repeating: nil, count: stateCount) + [Int?](repeating: 0, count: inputCount),
           outAxes: [Int?](repeating: nil, count: stateCount + metricCount))
    }

    /// Runs the step on this process's devices: `inputs` have a leading local-device axis.
    public func callAsFunction(_ state: State, _ inputs: [Tensor]) throws -> (state: State, metrics: [Tensor]) {
        let outs = try function.local(treeLeaves(state) + inputs)
        return (treeUnflatten(like: state, Array(outs[0..<stateCount])), Array(outs[stateCount...]))
    }
}
