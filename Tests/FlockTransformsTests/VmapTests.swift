import Testing
import FlockTransforms

@Suite struct VmapTests {
    @Test func smoke() {
        let x = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        let y = vmap { $0.sum() }(x)
        #expect(y.toArray(Float.self) == [6, 15])
    }
}
