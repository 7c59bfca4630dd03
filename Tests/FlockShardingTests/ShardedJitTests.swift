import Testing
import FlockTestSupport
@testable import FlockSharding

extension ShardingTests {
    /// jit over sharded arrays: the partitioned program against the same
    /// function jitted on the whole arrays, and the inserted collectives
    /// against the ones the layouts call for.
    @Suite struct ShardedJit {
        /// Runs `f` jitted over `args` laid out by `specs` on `mesh`, expects
        /// the results (gathered) to equal `jit(f)` on the whole arrays, and
        /// returns the partitioned program.
        func partitioned(
            _ f: @escaping ([Tensor]) -> [Tensor], _ args: [Tensor], _ specs: [PartitionSpec], mesh: Mesh,
            outShardings: [NamedSharding?]? = nil, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
        ) throws -> ShardedLoweredFunction {
            let sharded = try zip(args, specs).map { try ShardedArray($0, sharding: NamedSharding(mesh: mesh, spec: $1)) }
            let g = jit(inShardings: nil, outShardings: outShardings, f)
            let outs = try g(sharded)
            let expected = jit(f)(args)
            let lowered = try g.lower(sharded)
            #expect(outs.count == expected.count, sourceLocation: sourceLocation)
            for (j, (o, e)) in zip(outs, expected).enumerated() {
                expectClose(try o.processAllgather(), e, rtol: 1e-12, atol: 1e-12, "\(what): result \(j)", sourceLocation: sourceLocation)
                #expect(o.sharding == lowered.outShardings[j], "\(what): result \(j)", sourceLocation: sourceLocation)
            }
            return lowered
        }

        /// "name axis,axis" for each inserted collective.
        func names(_ l: ShardedLoweredFunction) -> [String] {
            l.collectives.map { "\($0.name) \($0.axes.joined(separator: ","))" }
        }

        func layout(_ l: ShardedLoweredFunction, _ j: Int = 0) -> [[String]] {
            l.outShardings[j].spec.padded(l.jaxpr.outputAvals[j].rank)
        }

        @Test func elementwiseChainsNeedNoCommunication() throws {
            let n = deviceCount, mesh = dataMesh()
            let x = hostArray([2 * n, 2 * n], seed: 1), y = hostArray([2 * n, 2 * n], seed: 2)
            let f: ([Tensor]) -> [Tensor] = { a in [tanh(a[0] * a[1] + a[0]) - a[1], exp(a[0] * a[1]).sum(axes: [1])] }
            // The replicated operand is cut locally to the split one's layout.
            for specs in [[PartitionSpec("data", nil), .replicated], [.replicated, PartitionSpec("data", nil)]] {
                let l = try partitioned(f, [x, y], specs, mesh: mesh, "rows and replicated \(specs)")
                #expect(names(l).isEmpty, "\(l.partitionReport)")
                #expect(layout(l, 0) == [["data"], []] && layout(l, 1) == [["data"]], "\(l.partitionReport)")
            }
            // Rows against columns: the second operand moves its axis, one
            // all-to-all serving both of its uses.
            let l = try partitioned(f, [x, y], [PartitionSpec("data", nil), PartitionSpec(nil, "data")], mesh: mesh, "rows and columns")
            #expect(names(l) == ["all_to_all data"], "\(l.partitionReport)")
        }

        static let reductions: [(String, ReduceOp, [Int], [String], [[String]])] = [
            ("sum over the split rows", .sum, [0], ["psum data"], [[]]),
            ("sum over the whole columns", .sum, [1], [], [["data"]]),
            ("sum over both", .sum, [0, 1], ["psum data"], []),
            ("max over the split rows", .max, [0], ["pmax data"], [[]]),
            ("min over both", .min, [0, 1], ["pmin data"], []),
            ("prod over the split rows: gathered", .prod, [0], ["all_gather data"], [[]]),
            ("prod over the columns", .prod, [1], [], [["data"]]),
        ]

        @Test(arguments: reductions) func reductionsOverSplitAndWholeDimensions(
            _ what: String, _ op: ReduceOp, _ axes: [Int], _ collectives: [String], _ out: [[String]]
        ) throws {
            let x = hostArray([2 * deviceCount, 3], seed: 3)
            let f: ([Tensor]) -> [Tensor] = { a in
                switch op {
                case .max: [a[0].max(axes: axes)]
                case .min: [a[0].min(axes: axes)]
                case .prod: [a[0].prod(axes: axes)]
                default: [a[0].sum(axes: axes)]
                }
            }
            let l = try partitioned(f, [x], [PartitionSpec("data", nil)], mesh: dataMesh(), what)
            #expect(names(l) == collectives, "\(what): \(l.partitionReport)")
            #expect(layout(l) == out, "\(what): \(l.partitionReport)")
        }

        static let products: [(String, PartitionSpec, PartitionSpec, [String], [[String]])] = [
            ("rows", PartitionSpec("x", nil), .replicated, [], [["x"], []]),
            ("columns", .replicated, PartitionSpec(nil, "y"), [], [[], ["y"]]),
            ("rows and columns", PartitionSpec("x", nil), PartitionSpec(nil, "y"), [], [["x"], ["y"]]),
            ("contracting over y", PartitionSpec(nil, "y"), PartitionSpec("y", nil), ["psum y"], [[], []]),
            ("rows over x, contracting over y", PartitionSpec("x", "y"), PartitionSpec("y", nil), ["psum y"], [["x"], []]),
            ("contracting over x and y", PartitionSpec(nil, ["x", "y"]), PartitionSpec(["x", "y"], nil), ["psum x,y"], [[], []]),
            ("contracting split differently: both gathered", PartitionSpec(nil, "x"), PartitionSpec("y", nil),
             ["all_gather x", "all_gather y"], [[], []]),
            ("x on both free dimensions: the right one gathered", PartitionSpec("x", nil), PartitionSpec(nil, "x"),
             ["all_gather x"], [["x"], []]),
        ]

        @Test(arguments: products) func matmulSplits(
            _ what: String, _ lhs: PartitionSpec, _ rhs: PartitionSpec, _ collectives: [String], _ out: [[String]]
        ) throws {
            let a = hostArray([8, 12], seed: 10), b = hostArray([12, 8], seed: 11)
            for mesh in meshes2D() {
                let l = try partitioned({ [matmul($0[0], $0[1])] }, [a, b], [lhs, rhs], mesh: mesh, "\(what) on \(mesh)")
                #expect(names(l) == collectives, "\(what) on \(mesh): \(l.partitionReport)")
                #expect(layout(l) == out, "\(what) on \(mesh): \(l.partitionReport)")
            }
        }

        @Test func contractionSplitOnOneSideTakesTheCheaperWay() throws {
            // [8, 12] · [12, 2] with the contraction split on the left only: the
            // result (8·2 elements) is smaller than the gathered left operand
            // (8·12), so the right operand is cut and the products psummed; with
            // a wide right operand [12, 40] the gather is cheaper.
            let mesh = dataMesh(), a = hostArray([8, 12], seed: 12)
            for (cols, expected) in [(2, "psum data"), (40, "all_gather data")] {
                let b = hostArray([12, cols], seed: 13)
                let l = try partitioned({ [matmul($0[0], $0[1])] }, [a, b], [PartitionSpec(nil, "data"), .replicated], mesh: mesh,
                                        "contraction split on the left, \(cols) columns")
                #expect(names(l) == [expected], "\(l.partitionReport)")
                #expect(l.decisions.count == 1, "\(l.partitionReport)")
            }
        }

        @Test func primitivesWithoutRulesAreComputedReplicated() throws {
            let n = deviceCount, x = hostArray([2 * n, 3], seed: 4)
            let f: ([Tensor]) -> [Tensor] = { a in
                [take(a[0], Tensor([Int32(2), 0]), axis: 1) * 2,
                 reduceWindow(a[0], .max, windowDimensions: [2, 2])]
            }
            let l = try partitioned(f, [x], [PartitionSpec("data", nil)], mesh: dataMesh(), "gather and reduce_window")
            // The gather of columns keeps the rows split; reduce_window (no rule) gathers x.
            #expect(names(l) == ["all_gather data"], "\(l.partitionReport)")
            #expect(layout(l, 0) == [["data"], []] && layout(l, 1) == [[], []])
        }

        /// Functions of x [2n, 4] with rows over "data".
        static let structural: [(String, @Sendable (Tensor) -> [Tensor], [String], [[[String]]])] = [
            ("slice of columns", { [bind1(.slice(start: [0, 1], limit: [$0.shape[0], 3], strides: [1, 1]), $0)] }, [], [[["data"], []]]),
            ("strided slice of rows", { [bind1(.slice(start: [1, 0], limit: [$0.shape[0], 4], strides: [2, 1]), $0)] }, ["all_gather data"],
             [[[], []]]),
            ("pad of columns", { [pad($0, [(0, 0), (1, 2)], value: 3)] }, [], [[["data"], []]]),
            ("pad of rows", { [pad($0, [(1, 0), (0, 0)])] }, ["all_gather data"], [[[], []]]),
            ("flip of columns", { [$0.flipped([1])] }, [], [[["data"], []]]),
            ("flip of rows", { [$0.flipped([0])] }, ["all_gather data"], [[[], []]]),
            ("cumsum along columns", { [$0.cumsum(axis: 1)] }, [], [[["data"], []]]),
            ("cumsum along rows", { [$0.cumsum(axis: 0)] }, ["all_gather data"], [[[], []]]),
            ("argmax along columns", { [$0.argmax(axis: 1)] }, [], [[["data"]]]),
            ("concatenation of columns", { [concatenate([$0, $0 * 2], axis: 1)] }, [], [[["data"], []]]),
            ("concatenation of rows", { [concatenate([$0, $0 * 2], axis: 0)] }, ["all_gather data", "all_gather data"], [[[], []]]),
            ("sort along columns", { [sort($0, axis: 1)] }, [], [[["data"], []]]),
        ]

        @Test(arguments: structural) func structuralOperationsGatherOnlyTheDimensionsTheyWorkAlong(
            _ what: String, _ f: @escaping @Sendable (Tensor) -> [Tensor], _ collectives: [String], _ out: [[[String]]]
        ) throws {
            let x = hostArray([2 * deviceCount, 4], seed: 7)
            let l = try partitioned({ f($0[0]) }, [x], [PartitionSpec("data", nil)], mesh: dataMesh(), what)
            #expect(names(l) == collectives, "\(what): \(l.partitionReport)")
            #expect(l.outShardings.indices.map { layout(l, $0) } == out, "\(what): \(l.partitionReport)")
        }

        @Test func dataParallelConvolutionGradientIsPsummed() throws {
            // Images over "data", the kernel replicated: the kernel gradient (a
            // convolution over the batch) becomes a psum.
            let x = hostArray([2 * deviceCount, 2, 6, 6], seed: 40), w = hostArray([3, 2, 3, 3], seed: 41)
            let f: ([Tensor]) -> [Tensor] = { a in
                let (loss, g) = valueAndGrad { (k: Tensor) in square(tanh(convolution(a[0], k, padding: .same))).mean() }(a[1])
                return [loss, g, convolution(a[0], a[1])]
            }
            let l = try partitioned(f, [x, w], [PartitionSpec("data"), .replicated], mesh: dataMesh(), "convolution step")
            #expect(Set(names(l)) == ["psum data"], "\(l.partitionReport)")
            #expect(layout(l, 1).allSatisfy(\.isEmpty) && layout(l, 2) == [["data"], [], [], []], "\(l.partitionReport)")
        }

        /// A depthwise convolution's step with the images over "data": its
        /// kernel gradient is a batch-grouped convolution (JAX's transpose
        /// rule) whose input features are the split batch, so it is a partial
        /// sum (psum), not a gather of the activations.
        @Test func dataParallelDepthwiseKernelGradientIsPsummed() throws {
            let x = hostArray([2 * deviceCount, 3, 6, 6], seed: 42), w = hostArray([6, 1, 3, 3], seed: 43)
            let f: ([Tensor]) -> [Tensor] = { a in
                let (loss, g) = valueAndGrad { (k: Tensor) in
                    square(tanh(convolution(a[0], k, padding: .same, featureGroupCount: 3))).mean()
                }(a[1])
                return [loss, g]
            }
            let l = try partitioned(f, [x, w], [PartitionSpec("data"), .replicated], mesh: dataMesh(), "depthwise step")
            #expect(Set(names(l)) == ["psum data"], "\(l.partitionReport)")
            #expect(layout(l, 1) == [[], [], [], []], "\(l.partitionReport)")
        }

        /// The same step with the images laid out by dimension numbers: the batch
        /// keeps its axis wherever the layout puts it, and only the kernel
        /// gradient is psummed.
        @Test(arguments: [("NHWC", "HWIO", "NHWC", 0), ("CHWN", "OIHW", "HWCN", 3)])
        func dataParallelConvolutionInAnyLayout(_ lhs: String, _ rhs: String, _ out: String, _ batchDim: Int) throws {
            var shape = lhs.map { ["N": 2 * deviceCount, "C": 2, "H": 6, "W": 6][String($0)]! }
            let x = hostArray(shape, seed: 40)
            shape = rhs.map { ["O": 3, "I": 2, "H": 3, "W": 3][String($0)]! }
            let w = hostArray(shape, seed: 41)
            let dn = ConvolutionDimensionNumbers(lhs, rhs, out)
            let f: ([Tensor]) -> [Tensor] = { a in
                let (loss, g) = valueAndGrad { (k: Tensor) in
                    square(tanh(convolution(a[0], k, padding: .same, dimensionNumbers: dn))).mean()
                }(a[1])
                return [loss, g, convolution(a[0], a[1], dimensionNumbers: dn)]
            }
            var spec: [[String]] = [[], [], [], []]
            spec[batchDim] = ["data"]
            let l = try partitioned(f, [x, w], [PartitionSpec(dimensions: spec), .replicated], mesh: dataMesh(), "\(lhs) step")
            #expect(Set(names(l)) == ["psum data"], "\(l.partitionReport)")
            var expected: [[String]] = [[], [], [], []]
            expected[out.firstIndex(of: "N")!.utf16Offset(in: out)] = ["data"]
            #expect(layout(l, 1).allSatisfy(\.isEmpty) && layout(l, 2) == expected, "\(l.partitionReport)")
        }

        /// Per-device shapes (dimension 0 of the target and the split dimension of
        /// the operand are scaled by the device count), the operand's spec.
        static let reshapes: [(String, [Int], PartitionSpec, [Int], [String], [[String]])] = [
            ("rows merged with columns", [4, 6], PartitionSpec("data", nil), [24], [], [["data"]]),
            ("rows regrouped", [4, 6], PartitionSpec("data", nil), [2, 12], [], [["data"], []]),
            ("rows split in two", [4, 6], PartitionSpec("data", nil), [1, 4, 6], [], [["data"], [], []]),
            ("a size-1 dimension dropped", [4, 1, 6], PartitionSpec("data", nil, nil), [4, 6], [], [["data"], []]),
            ("a minor dimension split: gathered", [4, 6], PartitionSpec(nil, "data"), [24], ["all_gather data"], [[]]),
        ]

        @Test(arguments: reshapes) func reshapesKeepContiguousBlocks(
            _ what: String, _ perDevice: [Int], _ spec: PartitionSpec, _ target: [Int], _ collectives: [String],
            _ out: [[String]]
        ) throws {
            let n = deviceCount
            // The split dimension is n times its per-device size.
            var shape = perDevice
            let split = spec.dimensions.firstIndex { !$0.isEmpty }!
            shape[split] *= n
            let x = hostArray(shape, seed: 6)
            let l = try partitioned({ [$0[0].reshaped([target[0] * n] + target.dropFirst()) * 2] }, [x], [spec], mesh: dataMesh(), what)
            #expect(names(l) == collectives, "\(what): \(l.partitionReport)")
            #expect(layout(l) == out, "\(what): \(l.partitionReport)")
        }

        @Test func requestedOutputShardingsAndConstraints() throws {
            let n = deviceCount, mesh = dataMesh(), x = hostArray([2 * n, 2 * n], seed: 5)
            let f: ([Tensor]) -> [Tensor] = { a in [withShardingConstraint(a[0] * 2, PartitionSpec(nil, "data")) + 1] }
            let l = try partitioned(f, [x], [PartitionSpec("data", nil)], mesh: mesh, "constraint")
            #expect(names(l) == ["all_to_all data"], "\(l.partitionReport)")
            #expect(layout(l) == [[], ["data"]])
            #expect(l.collectives.first?.consumer == "sharding_constraint")
            let replicated = try NamedSharding(mesh: mesh, spec: .replicated)
            let r = try partitioned({ [$0[0] * 2] }, [x], [PartitionSpec("data", nil)], mesh: mesh, outShardings: [replicated], "out")
            #expect(names(r) == ["all_gather data"], "\(r.partitionReport)")
            #expect(layout(r) == [[], []])
            // Under vmap the constraint leaves the batch dimension whole.
            let v = try partitioned({ a in [vmap({ withShardingConstraint($0 * 2, PartitionSpec("data")) })(a[0])] }, [x], [.replicated],
                                    mesh: mesh, "constraint under vmap")
            #expect(names(v).isEmpty && layout(v) == [[], ["data"]], "\(v.partitionReport)")
            // The constraint survives grad (the JVP keeps it on the primal).
            let g = try partitioned({ a in [grad { (v: Tensor) in sin(withShardingConstraint(v * v, PartitionSpec(nil, "data"))).sum() }(a[0])] },
                                    [x], [PartitionSpec("data", nil)], mesh: mesh, "constraint under grad")
            #expect(g.collectives.filter { $0.consumer == "sharding_constraint" }.count >= 1, "\(g.partitionReport)")
        }

        @Test func dataParallelMLPGradientIsPsummed() throws {
            // Batch over "data", parameters replicated, no collective in the model:
            // the weight and bias gradients (sums over the batch) become psums.
            let n = deviceCount, mesh = dataMesh()
            let params = [hostArray([3, 8], seed: 20) * 0.5, hostArray([8], seed: 21) * 0.1, hostArray([8, 2], seed: 22) * 0.5]
            let x = hostArray([4 * n, 3], seed: 23), y = hostArray([4 * n, 2], seed: 24)
            let step: ([Tensor]) -> [Tensor] = { a in
                let (loss, g) = valueAndGrad { (p: [Tensor]) -> Tensor in
                    let h = tanh(matmul(a[3], p[0]) + p[1])
                    return square(matmul(h, p[2]) - a[4]).mean()
                }(Array(a.prefix(3)))
                return [loss] + zip(a.prefix(3), g).map { $0 - 0.1 * $1 }
            }
            let l = try partitioned(step, params + [x, y], [.replicated, .replicated, .replicated, PartitionSpec("data", nil),
                                                            PartitionSpec("data", nil)], mesh: mesh, "data-parallel step")
            #expect(Set(names(l)) == ["psum data"], "\(l.partitionReport)")
            // The loss, dW1, db1 and dW2: each a sum over the batch.
            #expect(l.collectives.count >= 4, "\(l.partitionReport)")
            #expect((0..<4).allSatisfy { layout(l, $0).allSatisfy(\.isEmpty) }, "\(l.partitionReport)")
            #expect(l.partitionReport.contains("psum over [\"data\"]"))
        }

        @Test func dataAndTensorParallelMLPGradientsAreShardedLikeTheParameters() throws {
            // Batch over x; the hidden layer over y (W1 by columns, b1, W2 by
            // rows, as Megatron's column- then row-parallel pair). The only
            // collectives: psums (the second product's partial sums over y, the
            // batch sums over x); each gradient keeps its parameter's layout.
            let step: ([Tensor]) -> [Tensor] = { a in
                let (loss, g) = valueAndGrad { (p: [Tensor]) -> Tensor in
                    square(matmul(tanh(matmul(a[3], p[0]) + p[1]), p[2]) - a[4]).mean()
                }(Array(a.prefix(3)))
                return [loss] + g
            }
            let params = [hostArray([3, 8], seed: 30) * 0.5, hostArray([8], seed: 31) * 0.1, hostArray([8, 2], seed: 32) * 0.5]
            let x = hostArray([8, 3], seed: 33), y = hostArray([8, 2], seed: 34)
            for mesh in meshes2D() {
                let l = try partitioned(step, params + [x, y], [PartitionSpec(nil, "y"), PartitionSpec("y"), PartitionSpec("y", nil),
                                                                PartitionSpec("x", nil), PartitionSpec("x", nil)],
                                        mesh: mesh, "dp × tp step on \(mesh)")
                #expect(Set(names(l)).isSubset(of: ["psum x", "psum y"]) && names(l).contains("psum y"), "\(l.partitionReport)")
                #expect((0..<4).map { layout(l, $0) } == [[], [[], ["y"]], [["y"]], [["y"], []]], "\(l.partitionReport)")
            }
        }

        @Test func fullyShardedGradientIsGatheredForwardAndReduceScattered() throws {
            // FSDP: the weight's rows and the batch over "data". The forward
            // pass gathers the weight; the weight gradient, asked for in the
            // weight's layout, is reduce-scattered instead of psummed; the loss,
            // never returned, costs no collective.
            let mesh = dataMesh(), n = deviceCount
            let w = hostArray([2 * n, 3], seed: 50), x = hostArray([4 * n, 2 * n], seed: 51), y = hostArray([4 * n, 3], seed: 52)
            let rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
            let g: ([Tensor]) -> [Tensor] = { a in [grad { (v: Tensor) in square(tanh(matmul(a[1], v)) - a[2]).mean() }(a[0])] }
            let l = try partitioned(g, [w, x, y], [PartitionSpec("data", nil), PartitionSpec("data", nil), PartitionSpec("data", nil)],
                                    mesh: mesh, outShardings: [rows], "FSDP gradient")
            #expect(names(l) == ["all_gather data", "reduce_scatter data"], "\(l.partitionReport)")
            #expect(layout(l) == [["data"], []])
        }

        /// Expects `body` to fail on every process with a message containing
        /// `parts`, and the processes to stay in step.
        func expectError(_ parts: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
            let message = errorMessage(body) ?? "no error"
            for part in parts { #expect(message.contains(part), "expected '\(part)' in: \(message)", sourceLocation: sourceLocation) }
            let total = try? ShardedArray(Tensor([1.0]), sharding: NamedSharding(mesh: dataMesh(), spec: .replicated)).sum()
            #expect(total.flatMap { try? $0.processAllgather().item(Double.self) } == 1, "processes out of step", sourceLocation: sourceLocation)
        }

        @Test func badShardingsAndConstraints() throws {
            let n = deviceCount, mesh = dataMesh()
            let x = try ShardedArray(hostArray([2 * n, 2]), sharding: NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil)))
            let other = try NamedSharding(mesh: dataMesh("other"), spec: .replicated)
            expectError(["jit: inShardings[0] lays argument 0 out on Mesh('other': \(n)) but it lives on Mesh('data': \(n))"]) {
                _ = try jit(inShardings: [other]) { $0 }([x])
            }
            expectError(["jit: outShardings[0] is on Mesh('other': \(n)) but the arguments live on Mesh('data': \(n))"]) {
                _ = try jit(inShardings: nil, outShardings: [other]) { $0 }([x])
            }
            let tooLong = try NamedSharding(mesh: mesh, spec: PartitionSpec(nil, nil, "data"))
            expectError(["jit: inShardings[0] for argument 0: PartitionSpec(None, None, 'data') has 3 entries but the array has rank 2"]) {
                _ = try jit(inShardings: [tooLong]) { $0 }([x])
            }
            expectError(["withShardingConstraint: NamedSharding: PartitionSpec(None, 'model') names axis 'model' which is not in Mesh('data': \(n))"]) {
                _ = try jit(inShardings: nil) { [withShardingConstraint($0[0], PartitionSpec(nil, "model"))] }([x])
            }
            // The mesh axes are not bound while tracing the global program.
            expectError(["psum: unbound axis name 'data'", "In jit over sharded arrays the compiler inserts the collectives"]) {
                _ = try jit(inShardings: nil) { [psum($0[0], axisName: "data")] }([x])
            }
            expectError(["jit: inShardings has 2 entries but the function was called with 1 arguments"]) {
                _ = try jit(inShardings: [nil, nil]) { $0 }([x])
            }
            // Dimensions that do not divide (only a job of several devices can split them).
            guard n > 1 else { return }
            let odd = try ShardedArray(hostArray([2 * n + 1, 2]), sharding: NamedSharding(mesh: mesh, spec: .replicated))
            let rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
            expectError(["jit: inShardings[0] for argument 0: dimension 0 of shape [\(2 * n + 1), 2]", "is not divisible by \(n)"]) {
                _ = try jit(inShardings: [rows]) { $0 }([odd])
            }
            expectError(["withShardingConstraint on a value of shape [\(2 * n + 1), 2]: dimension 0", "is not divisible by \(n)"]) {
                _ = try jit(inShardings: nil) { [withShardingConstraint($0[0], PartitionSpec("data", nil))] }([odd])
            }
        }

        /// One device's estimated peak of `2 · x` holds its block of the
        /// argument and of the result: 1/n of the replicated program's on n devices.
        @Test func perDevicePeakBytesCountsTheLocalBlocks() throws {
            let n = deviceCount, mesh = dataMesh()
            let x = hostArray([4 * n, 8], seed: 3)
            let f = jit(inShardings: nil) { a in [a[0] * 2] }
            let whole = 2 * x.shape.reduce(1, *) * x.dtype.byteSize  // the argument and the result
            for (spec, expected) in [(PartitionSpec.replicated, whole), (PartitionSpec("data", nil), whole / n)] {
                let sharded = try ShardedArray(x, sharding: NamedSharding(mesh: mesh, spec: spec))
                #expect(try f.lower([sharded]).perDevicePeakBytes() == expected, "\(spec)")
            }
        }

        /// A replicated bias broadcast to meet a batch-split activation is
        /// broadcast to each device's block (as the hand-written program
        /// does), not to the whole batch and sliced: one device's peak holds
        /// blocks only, and the values equal the unpartitioned program's.
        @Test func broadcastsMeetingSplitValuesAreBroadcastPerBlock() throws {
            let n = deviceCount, mesh = dataMesh()
            let x = hostArray([64 * n, 32], seed: 4), b = hostArray([32], seed: 5)
            let rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
            let replicated = try NamedSharding(mesh: mesh, spec: .replicated)
            // The bias through a chain of broadcasts ([32] -> [1, 32] -> [64n, 32]).
            let f = jit(inShardings: nil) { a in [tanh(a[0] + a[1].expandingDims(0).broadcast(to: a[0].shape))] }
            let args = [try ShardedArray(x, sharding: rows), try ShardedArray(b, sharding: replicated)]
            let y = try f(args)
            expectClose(try y[0].processAllgather(), tanh(x + b), rtol: 1e-6, atol: 1e-6, "tanh(x + b)")
            let block = x.shape.reduce(1, *) / n * x.dtype.byteSize, bias = 32 * b.dtype.byteSize
            // The argument's and the result's blocks, the bias, and at most
            // one more block (the broadcast bias, where it is not fused);
            // never the whole batch's broadcast (n more blocks).
            let peak = try f.lower(args).perDevicePeakBytes()
            #expect(peak <= 3 * block + bias, "peak \(peak) B, block \(block) B")
        }

        /// The article JitOverShardedArrays.md's code, run: the propagated
        /// layouts it states and the values of the unsharded program.
        @Test func articleExamplesRun() throws {
            let mesh = try Mesh.overAllDevices(shape: [deviceCount, 1], axisNames: ["data", "model"])
            let rows = try NamedSharding(mesh: mesh, spec: PartitionSpec("data", nil))
            let columns = try NamedSharding(mesh: mesh, spec: PartitionSpec(nil, "model"))
            let (a, b) = (Random.normal(Random.key(0), shape: [8, 4]), Random.normal(Random.key(1), shape: [4, 6]))
            let x = try ShardedArray(a, sharding: rows), w = try ShardedArray(b, sharding: columns)
            let f = jit(inShardings: nil) { a in [tanh(matmul(a[0], a[1]))] }
            let y = try f([x, w])
            #expect(y[0].sharding.spec.padded(2) == [["data"], ["model"]])
            expectClose(try y[0].processAllgather(), tanh(matmul(a, b)), rtol: 1e-6, atol: 1e-6, "tanh(x · w)")
            let step = jit(inShardings: nil) { a in
                let h = withShardingConstraint(tanh(matmul(a[0], a[1])), PartitionSpec("data", nil))
                return [h.sum()]
            }
            expectClose(try step([x, w])[0].processAllgather(), tanh(matmul(a, b)).sum(), rtol: 1e-5, atol: 1e-5, "constrained sum")
            let lowered = try f.lower([x, w])
            #expect(lowered.inShardings == [rows, columns] && lowered.partitionReport.contains("argument 1: "), "\(lowered.partitionReport)")
            #expect(try lowered.perDevicePeakBytes() > 0)
            let compiled = try lowered.compile()
            // The per-device plan runs on blocks: rows of x over "data", columns of w over "model".
            #expect(compiled.perDevice.plan.inputAvals.map(\.shape) == [rows.shardShape([8, 4]), columns.shardShape([4, 6])],
                    "\(compiled.perDevice.plan.inputAvals)")
            #expect("\(compiled)".hasPrefix(lowered.partitionReport) && "\(compiled)".contains("per-device plan: "), "\(compiled)")
            expectClose(try compiled([x, w])[0].processAllgather(), tanh(matmul(a, b)), rtol: 1e-6, atol: 1e-6, "compiled call")
            let replicated = try NamedSharding(mesh: mesh, spec: .replicated)
            let (c, d) = (Random.normal(Random.key(2), shape: [4, 6]), Random.normal(Random.key(3), shape: [8, 4]))
            let params = try ShardedTree(["w": c], sharding: replicated), batch = try ShardedTree(d, sharding: rows)
            let predict = jit(inShardings: nil) { (p: [String: Tensor], xs: Tensor) in tanh(matmul(xs, p["w"]!)) }
            let out = try predict(params, batch)
            #expect(out.shardings[0].spec.padded(2) == [["data"], []])
            expectClose(try out.processAllgather(), tanh(matmul(d, c)), rtol: 1e-6, atol: 1e-6, "pytree example")
        }
}
}
