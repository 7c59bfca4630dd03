// Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as
// easy as 1, 2, 3", SC 2011), the hash behind JAX's default PRNG. Rotation
// constants and the key-schedule parity constant are from the paper.

@inline(__always)
private func rotl(_ v: UInt32, _ r: UInt32) -> UInt32 { (v << r) | (v >> (32 - r)) }

@inline(__always)
private func rounds(_ a: inout UInt32, _ b: inout UInt32, _ r0: UInt32, _ r1: UInt32, _ r2: UInt32, _ r3: UInt32) {
    a = a &+ b; b = rotl(b, r0) ^ a
    a = a &+ b; b = rotl(b, r1) ^ a
    a = a &+ b; b = rotl(b, r2) ^ a
    a = a &+ b; b = rotl(b, r3) ^ a
}

/// Hashes one counter pair `(x0, x1)` under the key `(k0, k1)`.
@inline(__always)
func threefry2x32(_ k0: UInt32, _ k1: UInt32, _ x0: UInt32, _ x1: UInt32) -> (UInt32, UInt32) {
    let k2 = k0 ^ k1 ^ 0x1BD1_1BDA
    var a = x0 &+ k0
    var b = x1 &+ k1
    rounds(&a, &b, 13, 15, 26, 6)
    a = a &+ k1; b = b &+ k2 &+ 1
    rounds(&a, &b, 17, 29, 16, 24)
    a = a &+ k2; b = b &+ k0 &+ 2
    rounds(&a, &b, 13, 15, 26, 6)
    a = a &+ k0; b = b &+ k1 &+ 3
    rounds(&a, &b, 17, 29, 16, 24)
    a = a &+ k1; b = b &+ k2 &+ 4
    rounds(&a, &b, 13, 15, 26, 6)
    a = a &+ k2; b = b &+ k0 &+ 5
    return (a, b)
}

func evalThreefry(_ k0: DenseArray, _ k1: DenseArray, _ x0: DenseArray, _ x1: DenseArray) -> [DenseArray] {
    let shape = x0.shape
    let o0 = DenseArray(uninitializedShape: shape, dtype: .uint32)
    let o1 = DenseArray(uninitializedShape: shape, dtype: .uint32)
    let pk0 = k0.pointer(UInt32.self), pk1 = k1.pointer(UInt32.self)
    let px0 = x0.pointer(UInt32.self), px1 = x1.pointer(UInt32.self)
    let d0 = o0.mutablePointer(UInt32.self), d1 = o1.mutablePointer(UInt32.self)
    let k0Scalar = k0.count == 1, k1Scalar = k1.count == 1, x1Scalar = x1.count == 1
    for i in 0..<o0.count {
        let (a, b) = threefry2x32(
            pk0[k0Scalar ? 0 : i], pk1[k1Scalar ? 0 : i], px0[i], px1[x1Scalar ? 0 : i])
        d0[i] = a
        d1[i] = b
    }
    return [o0, o1]
}
