/// A (source, destination) pair of `ppermute`'s permutation: member `source`
/// sends its operand to member `destination`.
public struct PermutationPair: Hashable, Sendable {
    /// The member that sends.
    public var source: Int
    /// The member that receives.
    public var destination: Int

    /// The pair sending from `source` to `destination`.
    public init(_ source: Int, _ destination: Int) {
        self.source = source
        self.destination = destination
    }
}
