import Testing
@testable import FlockCore
@Test func smoke() { #expect(Tensor([1, 2] as [Float]).shape == [2]) }
