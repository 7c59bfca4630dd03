import FlockCore
/// Elementwise fusion: groups chains and DAGs of elementwise equations of one
/// result shape (unary, binary, compare, select, clamp, convert, and
/// broadcasts of rank-0 values, rows or columns, which the loop reads in
/// place) and outlines each group worth a loop of its own (two operations, or
/// one reading a broadcast) into a `call` of kind ``CallKind/fusedElementwise``. The
/// compiler turns such a call into a single loop that reads each input and
/// writes each output once, keeping intermediates in cache-sized blocks.
///
/// A consumer joins the groups of its producers when that keeps the graph of
/// groups acyclic: no path may leave a group and come back into it, also
/// through other groups (else the group could not run as one step). Groups
/// then take the place of their members in a topological order that
/// otherwise keeps the original order.
package func fuseElementwise(_ jaxpr: Jaxpr) -> Jaxpr {
    let eqs = duplicatingLoopBroadcasts(jaxpr)
    var producer: [Int: Int] = [:]
    for (i, e) in eqs.enumerated() { for v in e.outputs { producer[v.id] = i } }

    var groups = UnionFind(count: eqs.count)
    var fusible = [Bool](repeating: false, count: eqs.count)
    // Equations of each group, by current root (a missing root is a group of one).
    var groupMembers: [Int: [Int]] = [:]

    /// Whether the equations of the units `merged` (roots; `i` among them)
    /// can run as one unit: no path may leave the merged unit and come back
    /// into it. Each group being convex on its own is not enough — two groups
    /// each feeding the other through outside equations (A → x → B and
    /// B → y → A) are each convex, yet neither can run before the other —
    /// so the search walks the graph of units (every group a single node),
    /// back from the inputs of the merged unit that come from outside it.
    /// The search costs up to the number of equations before `i`, so the
    /// pass is quadratic at worst (visits are marked by stamp, not hashed).
    var visitStamp = [Int](repeating: -1, count: eqs.count)
    var stamp = 0
    func staysAcyclic(_ merged: Set<Int>) -> Bool {
        stamp += 1
        var stack: [Int] = []
        func pushProducers(of unit: Int) -> Bool {
            for m in groupMembers[unit] ?? [unit] {
                for case .variable(let v) in eqs[m].inputs {
                    guard let p = producer[v.id] else { continue }
                    let u = groups.find(p)
                    if merged.contains(u) {
                        if !merged.contains(unit) { return false }  // left the merged unit and came back
                        continue
                    }
                    if visitStamp[u] != stamp { visitStamp[u] = stamp; stack.append(u) }
                }
            }
            return true
        }
        for r in merged where !pushProducers(of: r) { return false }
        while let u = stack.popLast() {
            if !pushProducers(of: u) { return false }
        }
        return true
    }

    for (i, e) in eqs.enumerated() {
        let shape = e.outputs.first?.aval.shape ?? []
        fusible[i] = isFusible(e)
        guard fusible[i] else { continue }
        // Try to merge the groups of fusible producers of the same shape into one with e.
        var members: Set<Int> = [i]  // roots (and e itself) in the merged group
        var candidates: [Int] = []
        for case .variable(let v) in e.inputs {
            if let p = producer[v.id], fusible[p], eqs[p].outputs[0].aval.shape == shape {
                let r = groups.find(p)
                if !candidates.contains(r) { candidates.append(r) }
            }
        }
        for r in candidates {
            let trial = members.union([r])
            if staysAcyclic(trial) { members = trial }
        }
        // Merge.
        var all: [Int] = []
        for r in members { all += groupMembers.removeValue(forKey: r) ?? [r] }
        for r in members where r != i { groups.union(r, i) }
        groupMembers[groups.find(i)] = all.sorted()
    }

    // Group members by root.
    var members: [Int: [Int]] = [:]
    for i in eqs.indices where fusible[i] { members[groups.find(i), default: []].append(i) }
    var unitOf = Array(eqs.indices)
    var outlined = Set<Int>()
    // Worth a loop of its own: two operations, or one reading a broadcast in place.
    for (root, ms) in members {
        let operations = ms.filter { !isLoopBroadcast(eqs[$0]) }.count
        guard operations >= 2 || (operations == 1 && ms.count > 1) else { continue }
        outlined.insert(root)
        for m in ms { unitOf[m] = root }
    }
    if outlined.isEmpty { return jaxpr }

    // Variables read outside their unit (by another unit or as outputs of the jaxpr).
    var readOutside = Set<Int>()
    for case .variable(let v) in jaxpr.outputs { readOutside.insert(v.id) }
    for (i, e) in eqs.enumerated() {
        for case .variable(let v) in e.inputs {
            if let p = producer[v.id], unitOf[p] != unitOf[i] { readOutside.insert(v.id) }
        }
    }

    // Topological order of units (Kahn), preferring the earliest original position.
    var unitMembers: [Int: [Int]] = [:]
    for i in eqs.indices { unitMembers[unitOf[i], default: []].append(i) }
    var successors: [Int: Set<Int>] = [:]
    var pending: [Int: Int] = [:]
    for (u, ms) in unitMembers {
        var preds = Set<Int>()
        for m in ms {
            for case .variable(let v) in eqs[m].inputs {
                if let p = producer[v.id], unitOf[p] != u { preds.insert(unitOf[p]) }
            }
        }
        pending[u] = preds.count
        for p in preds { successors[p, default: []].insert(u) }
    }
    var ready = MinHeap<Int>()
    for (u, n) in pending where n == 0 { ready.push(unitMembers[u]![0], u) }
    var out: [Equation] = []
    while let u = ready.pop() {
        if outlined.contains(u) {
            out.append(outline(unitMembers[u]!.map { eqs[$0] }, readOutside))
        } else {
            out.append(eqs[u])
        }
        for s in successors[u] ?? [] {
            pending[s]! -= 1
            if pending[s]! == 0 { ready.push(unitMembers[s]![0], s) }
        }
    }
    precondition(out.count == Set(unitOf).count, "fuseElementwise: fusion groups formed a cycle")
    return jaxpr.rebuilt(equations: out, outputs: jaxpr.outputs)
}

/// Gives each elementwise consumer of a broadcast a fused loop can read (see
/// ``loopBroadcast(_:)``) its own copy of the broadcast, right before it, so
/// the broadcast joins the consumer's group and is never materialised (CSE
/// may have merged the broadcasts of several groups, which would otherwise
/// make one group write it out for the others).
/// Copies nothing else reads are dropped, as is an original left unread.
private func duplicatingLoopBroadcasts(_ jaxpr: Jaxpr) -> [Equation] {
    let eqs = jaxpr.equations
    var supply = VarSupply(above: jaxpr)
    var broadcasts: [Int: Equation] = [:]
    for e in eqs where isLoopBroadcast(e) { broadcasts[e.outputs[0].id] = e }
    guard !broadcasts.isEmpty else { return eqs }
    var stillRead = Set<Int>()
    for case .variable(let v) in jaxpr.outputs { stillRead.insert(v.id) }
    var out: [Equation] = []
    for e in eqs {
        guard isFusible(e), !isLoopBroadcast(e) else {
            for case .variable(let v) in e.inputs { stillRead.insert(v.id) }
            out.append(e)
            continue
        }
        var inputs = e.inputs
        for (k, a) in inputs.enumerated() {
            guard case .variable(let v) = a, let b = broadcasts[v.id] else { continue }
            let copy = supply.fresh(v.aval)
            out.append(Equation(primitive: b.primitive, inputs: b.inputs, outputs: [copy]))
            inputs[k] = .variable(copy)
        }
        out.append(Equation(primitive: e.primitive, inputs: inputs, outputs: e.outputs))
    }
    return out.filter { e in !isLoopBroadcast(e) || broadcasts[e.outputs[0].id] == nil || stillRead.contains(e.outputs[0].id) }
}

/// Whether `e` can be part of a fused loop: elementwise with operands of the
/// result's shape or rank 0, or a broadcast of a rank-0 value.
func isFusible(_ e: Equation) -> Bool {
    guard e.outputs.count == 1 else { return false }
    let shape = e.outputs[0].aval.shape
    guard !shape.isEmpty, !involvesWidenedTypes(e) else { return false }
    if isLoopBroadcast(e) { return true }
    return e.primitive.isElementwise && e.inputs.allSatisfy { $0.aval.rank == 0 || $0.aval.shape == shape }
}

func isLoopBroadcast(_ e: Equation) -> Bool { loopBroadcast(e) != nil }

/// How a fused loop reads the operand of a broadcast, element `i` of the result.
enum LoopBroadcast: Equatable {
    /// One value for every element.
    case scalar
    /// Element `i mod period` (the operand fills the trailing dimensions: a bias row).
    case periodic(Int)
    /// Element `i / divisor` (the operand fills the leading dimensions: a column).
    case stretched(Int)
}

/// The pattern of a `broadcastInDim` a fused loop can read without
/// materialising it, or nil. Long runs are read in place; short ones (narrow
/// rows) are written out block by block (see `FusedLoop.narrowRow`).
func loopBroadcast(_ e: Equation) -> LoopBroadcast? {
    guard case .broadcastInDim(let shape, let dims) = e.primitive else { return nil }
    let operand = e.inputs[0].aval
    if operand.count == 1 { return .scalar }
    let covered = dims.enumerated().filter { operand.shape[$0.offset] > 1 }.map(\.element)
    let r = shape.count
    if covered == Array((r - covered.count)..<r) {
        return .periodic(operand.count)
    }
    if covered == Array(0..<covered.count) {
        let divisor = shape.dropFirst(covered.count).reduce(1, *)
        return .stretched(divisor)
    }
    return nil
}

/// One call equation running `members` (in order); its inputs are the
/// variables they read from outside, its outputs those read outside.
func outline(_ members: [Equation], _ readOutside: Set<Int>) -> Equation {
    var defined = Set<Int>()
    for e in members { for v in e.outputs { defined.insert(v.id) } }
    var inputs: [Var] = []
    var seen = Set<Int>()
    for e in members {
        for case .variable(let v) in e.inputs where !defined.contains(v.id) && seen.insert(v.id).inserted {
            inputs.append(v)
        }
    }
    let outputs = members.flatMap(\.outputs).filter { readOutside.contains($0.id) }
    let body = Jaxpr(inputs: inputs, constVars: [], consts: [], equations: members, outputs: outputs.map { .variable($0) })
    return Equation(primitive: .call(body, kind: .fusedElementwise), inputs: inputs.map { .variable($0) }, outputs: outputs)
}

/// Disjoint sets over `0..<count` with path halving.
struct UnionFind {
    private var parent: [Int]
    init(count: Int) { parent = Array(0..<count) }
    mutating func find(_ x: Int) -> Int {
        var x = x
        while parent[x] != x {
            parent[x] = parent[parent[x]]
            x = parent[x]
        }
        return x
    }
    /// Joins the sets of `a` and `b`; the smaller root becomes the root.
    mutating func union(_ a: Int, _ b: Int) {
        let (ra, rb) = (find(a), find(b))
        if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
    }
}

/// A binary min-heap of values ordered by integer priorities.
struct MinHeap<Value> {
    private var items: [(priority: Int, value: Value)] = []
    mutating func push(_ priority: Int, _ value: Value) {
        items.append((priority, value))
        var i = items.count - 1
        while i > 0, items[(i - 1) / 2].priority > items[i].priority {
            items.swapAt(i, (i - 1) / 2)
            i = (i - 1) / 2
        }
    }
    mutating func pop() -> Value? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count, items[l].priority < items[m].priority { m = l }
            if r < items.count, items[r].priority < items[m].priority { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top.value
    }
}

/// Whether an equation reads or writes an 8/16-bit dtype: such equations are
/// never fused and run through the eval rule, which computes them in their
/// compute types and rounds after each primitive (so jit equals eager).
func involvesWidenedTypes(_ e: Equation) -> Bool {
    e.inputs.contains { $0.aval.dtype.isWidened } || e.outputs.contains { $0.aval.dtype.isWidened }
}

extension Primitive {
    /// Whether the primitive runs a jaxpr of its own (compiled to a sub-plan).
    var wrapsJaxpr: Bool {
        switch self {
        case .call, .customJVP, .customVJP, .checkpoint, .cond, .whileLoop, .scan: true
        default: false
        }
    }
}
