import Testing
@testable import FlockCore

/// Identities that need no external oracle: round trips, algebraic laws,
/// agreement between two routes to the same value.
@Suite struct IdentityTests {
    let x = arange(24).reshaped([2, 3, 4]).converted(to: .float32) * 0.5 - 3

    @Test func transposeTwiceIsIdentity() {
        let p = [2, 0, 1]
        let inverse = [1, 2, 0]
        #expect(x.transposed(p).transposed(inverse).toArray(Float.self) == x.toArray(Float.self))
        #expect(x.transposed(p).shape == [4, 2, 3])
    }

    @Test func splitThenConcatenateRoundTrips() {
        for axis in -3..<3 {
            let parts = split(x, sections: x.shape[(axis + 3) % 3] == 4 ? 2 : 1, axis: axis)
            #expect(concatenate(parts, axis: axis).toArray(Float.self) == x.toArray(Float.self))
        }
    }

    @Test func flipTwiceIsIdentityAndNegativeStepMatchesFlip() {
        #expect(x.flipped([1]).flipped([1]).toArray(Float.self) == x.toArray(Float.self))
        #expect(x[.all, .stride(by: -1)].toArray(Float.self) == x.flipped([1]).toArray(Float.self))
    }

    @Test func argsortSortsAndSortIsIdempotent() {
        let v = Tensor([3, -1, 2, 2, .nan, -7, 0.5] as [Float])
        let order = argsort(v).toArray(Int32.self)
        let values = v.toArray(Float.self)
        let gathered = order.map { values[Int($0)] }
        let sorted = sort(v).toArray(Float.self)
        #expect(gathered.prefix(6) == sorted.prefix(6))
        #expect(sorted.last!.isNaN)
        #expect(sort(sort(v)).toArray(Float.self).prefix(6) == sorted.prefix(6))
        // Stable: equal keys keep their order.
        #expect(order.firstIndex(of: 2)! < order.firstIndex(of: 3)!)
    }

    @Test func integerArrayIndexingMatchesTake() {
        let idx = Tensor([2, 0, -1] as [Int32])
        #expect(x[.all, idx].toArray(Float.self) == take(x, idx, axis: 1).toArray(Float.self))
        #expect(x[.all, idx].shape == [2, 3, 4])
        // A separated pair of index arrays moves the batch dimension to the front.
        #expect(x[Tensor([1, 0] as [Int32]), .all, Tensor([3, 1] as [Int32])].shape == [2, 3])
    }

    @Test func meanVarianceIdentity() {
        // var(x) = mean(x²) − mean(x)²
        let v = x.variance().item()
        let m = x.mean().item()
        let m2 = (x * x).mean().item()
        #expect(Swift.abs(v - (m2 - m * m)) < 1e-4)
    }

    @Test func matmulEqualsSumOfProducts() {
        let a = arange(6).reshaped([2, 3]).converted(to: .float32)
        let b = arange(12).reshaped([3, 4]).converted(to: .float32)
        let viaBroadcast = (a.expandingDims(2) * b.expandingDims(0)).sum(axes: [1])
        #expect(matmul(a, b).toArray(Float.self) == viaBroadcast.toArray(Float.self))
        // Transposed operands reach BLAS through flags, not copies; same values.
        #expect(matmul(a.T.T, b).toArray(Float.self) == matmul(b.T, a.T).T.toArray(Float.self))
    }

    @Test func weakTypesFollowTheOtherOperand() {
        let f = Tensor([1, 2] as [Float])
        #expect((f * 2).dtype == .float32 && !(f * 2).weakType)
        #expect((Tensor([1, 2] as [Int32]) * 2).dtype == .int32)
        let mixed = Tensor([1, 2] as [Int32]) * 2.5
        #expect(mixed.dtype == .float32 && mixed.weakType)
        #expect((Tensor([1.0] as [Double]) + 1.5).dtype == .float64)
        #expect((Tensor([true]) + 1).dtype == .int32)
        #expect(promoteTypes(.int32, weak: false, .float32, weak: false) == (.float32, false))
        #expect(promoteTypes(.uint32, weak: false, .int32, weak: false).dtype == .int32)
        #expect(promoteTypes(.float32, weak: false, .float64, weak: false).dtype == .float64)
    }

    @Test func bufferPoolReusesLargeBuffers() {
        // An unusual size, so that tests running in parallel do not take it first.
        let bytes = 37 << 20
        func address() -> UnsafeMutableRawPointer { Buffer.allocate(byteCount: bytes).pointer }
        let first = address()  // the buffer is released when `address` returns
        #expect(address() == first)
    }
}

@Suite struct IndexedUpdateTests {
    let x = arange(12).reshaped([3, 4]).converted(to: .float32)

    @Test func setReplacesOnlyTheSelection() {
        let y = x.at(1, 1...).set(Tensor(Float(-1)))
        #expect(y.toArray(Float.self) == [0, 1, 2, 3, 4, -1, -1, -1, 8, 9, 10, 11])
        #expect(x.toArray(Float.self)[5] == 5)  // x is unchanged
        #expect(y.at(1, 1...).get().toArray(Float.self) == [-1, -1, -1])
    }

    @Test func addAccumulatesRepeatedIndices() {
        let y = x.at(Tensor([0, 0, 2] as [Int32])).add(Tensor(Float(1)))
        #expect(y[0].toArray(Float.self) == [2, 3, 4, 5])
        #expect(y[2].toArray(Float.self) == [9, 10, 11, 12])
        #expect(y[1].toArray(Float.self) == [4, 5, 6, 7])
    }

    @Test func stridedAndNegativeSelections() {
        let y = x.at(.all, .stride(by: -2)).set(Tensor(Float(0)))
        #expect(y.toArray(Float.self) == [0, 0, 2, 0, 4, 0, 6, 0, 8, 0, 10, 0])
    }
}
