import Flock

let x = Tensor([1, 2, 3] as [Float])
print(x * 9 + 2)
print(matmul(Tensor([[1, 2], [3, 4]] as [[Float]]), Tensor([[5, 6], [7, 8]] as [[Float]])))
print(tanh(linspace(-2, 2, count: 5)))
print(arange(10).reshaped([2, 5]))
print(Tensor([true, false]))
print(Tensor([1.5, 22.25, -3] as [Float]))
print(Tensor([1e-5, 1, 1000] as [Float]))
print(Tensor(Float(2)) * 2.5, 2.0 as Tensor)
let m = arange(12).reshaped([3, 4])
print(m[1], m[.all, 1..<3], m[.stride(by: -1)], m[Tensor([2, 0] as [Int32])])
print(m.sum(axes: [0]), m.mean(), softmax(Tensor([1, 2, 3] as [Float])))
do {
    _ = try catchingErrors { matmul(ones([4, 3]), ones([5, 2])) }
} catch { print("caught:", error) }
