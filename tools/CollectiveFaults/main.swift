// Injects inconsistent collectives and checks that every device reports them.
//
//   ./launch -n 2 collective-faults                      (2 ranks, shared memory)
//   FLOCK_SHARED_COLLECTIVE_BYTES=0 ./launch -n 2 collective-faults   (2 ranks, MPI messages)
//   ./launch -n 1 --local-devices 2 collective-faults    (2 local devices, one process)
//
// Each case runs on every device inside `catchingErrors`; the last device
// misbehaves (skips a collective, calls an extra one, passes a different
// parameter). Every device must get a Flock error whose message contains the
// case's expected words, and afterwards a psum over all devices must give the
// right answer (the devices are in step again). Rank 0 prints one markdown row
// per case: devices that detected it, whether that was before any data was
// combined, and the slowest device's time to detection.
//
// `--uncaught CASE` runs one case outside `catchingErrors`: every rank must
// then exit with status 1 and `error: <message>` (scripts/run-tests checks it).
// `--hang` makes the last device call no collective at all: the others wait
// until the collective watchdog (FLOCK_COLLECTIVE_TIMEOUT) ends the job.
import ArgumentParser
import Flock

#if canImport(Glibc)
import Glibc
#endif

/// One injected mismatch.
struct FaultCase: Sendable {
    let name: String
    /// The collective and the parameter that differ (for the table).
    let collective: String
    let parameter: String
    /// Words every device's message must contain.
    let expected: String
    /// Whether the check must catch it before any data is combined (false for
    /// a skipped loop iteration: the calls pair up alike until the loop ends).
    let beforeData: Bool
    /// Runs the case on a device; `odd` is the misbehaving one, `d` the device
    /// count. Returns the message of an error the case caught itself, if any.
    let body: @Sendable (_ odd: Bool, _ d: Int) -> String?
}

/// A d × d float32 matrix, distinct values.
func square(_ d: Int) -> Tensor { Tensor((0..<(d * d)).map { Float($0) }, shape: [d, d]) }

/// Forces a result (eager collectives run at once; this reads the value so that nothing is left lazy).
func use(_ t: Tensor) { _ = t.toArray(Float.self) }

let cases: [FaultCase] = [
    FaultCase(name: "missing call", collective: "psum", parameter: "(call skipped)", expected: "different collectives", beforeData: true) { odd, _ in
        if !odd { use(psum(Tensor([Float(10)]), axisName: "i")) }
        use(psum(Tensor([Float(20)]), axisName: "i"))
        return nil
    },
    FaultCase(name: "extra call", collective: "psum", parameter: "(extra call)", expected: "different collectives", beforeData: true) { odd, _ in
        if odd { use(psum(Tensor([Float(10)]), axisName: "i")) }
        use(psum(Tensor([Float(20)]), axisName: "i"))
        return nil
    },
    FaultCase(name: "missing loop iteration", collective: "psum", parameter: "(one iteration skipped)", expected: "different collectives",
              beforeData: false) { odd, _ in
        for _ in 0..<(odd ? 2 : 3) { use(psum(Tensor([Float(1)]), axisName: "i")) }
        use(pmax(Tensor([Float(2)]), axisName: "i"))
        return nil
    },
    FaultCase(name: "missing call, other collective", collective: "allGather", parameter: "(psum skipped)", expected: "different collectives",
              beforeData: true) { odd, d in
        if !odd { use(psum(square(d), axisName: "i")) }
        use(allGather(square(d), axisName: "i"))
        return nil
    },
    FaultCase(name: "operand shape", collective: "psum", parameter: "shape", expected: "different shapes", beforeData: true) { odd, d in
        use(psum(odd ? Tensor([Float](repeating: 1, count: d + 1)) : Tensor([Float](repeating: 1, count: d)), axisName: "i"))
        return nil
    },
    FaultCase(name: "operand dtype", collective: "psum", parameter: "dtype", expected: "different dtypes", beforeData: true) { odd, d in
        let x = square(d)
        use(psum(odd ? x.converted(to: .int32) : x, axisName: "i").converted(to: .float32))
        return nil
    },
    FaultCase(name: "reduction", collective: "psum/pmax", parameter: "reduction", expected: "different operations", beforeData: true) { odd, d in
        let x = square(d)
        use(odd ? pmax(x, axisName: "i") : psum(x, axisName: "i"))
        return nil
    },
    FaultCase(name: "axis names", collective: "psum", parameter: "axisName", expected: "axis names differs", beforeData: true) { odd, d in
        use(psum(square(d), axisName: odd ? "j" : "i"))
        return nil
    },
    FaultCase(name: "allGather axis", collective: "allGather", parameter: "axis", expected: "axis differs", beforeData: true) { odd, d in
        use(allGather(square(d), axisName: "i", axis: odd ? 1 : 0))
        return nil
    },
    FaultCase(name: "allGather tiled", collective: "allGather", parameter: "tiled", expected: "tiled differs", beforeData: true) { odd, d in
        use(allGather(square(d), axisName: "i", tiled: odd))
        return nil
    },
    FaultCase(name: "psumScatter scatterDimension", collective: "psumScatter", parameter: "scatterDimension",
              expected: "scatterDimension differs", beforeData: true) { odd, d in
        use(psumScatter(square(d), axisName: "i", scatterDimension: odd ? 1 : 0))
        return nil
    },
    FaultCase(name: "psumScatter tiled", collective: "psumScatter", parameter: "tiled", expected: "tiled differs", beforeData: true) { odd, d in
        use(psumScatter(square(d), axisName: "i", tiled: odd))
        return nil
    },
    FaultCase(name: "allToAll splitAxis", collective: "allToAll", parameter: "splitAxis", expected: "splitAxis differs", beforeData: true) { odd, d in
        use(allToAll(square(d), axisName: "i", splitAxis: odd ? 1 : 0, concatAxis: 0))
        return nil
    },
    FaultCase(name: "allToAll concatAxis", collective: "allToAll", parameter: "concatAxis", expected: "concatAxis differs", beforeData: true) { odd, d in
        use(allToAll(square(d), axisName: "i", splitAxis: 0, concatAxis: odd ? 1 : 0))
        return nil
    },
    FaultCase(name: "allToAll tiled", collective: "allToAll", parameter: "tiled", expected: "tiled differs", beforeData: true) { odd, d in
        use(allToAll(square(d), axisName: "i", splitAxis: 0, concatAxis: 1, tiled: odd))
        return nil
    },
    FaultCase(name: "ppermute pairs", collective: "ppermute", parameter: "perm", expected: "perm differs", beforeData: true) { odd, d in
        let ring = (0..<d).map { (source: $0, destination: ($0 + 1) % d) }
        use(ppermute(square(d), axisName: "i", perm: odd ? Array(ring.dropLast()) : ring))
        return nil
    },
    FaultCase(name: "ppermute direction", collective: "ppermute", parameter: "perm", expected: "perm differs", beforeData: true) { odd, d in
        let ring = (0..<d).map { (source: $0, destination: ($0 + 1) % d) }
        use(ppermute(square(d), axisName: "i", perm: odd ? ring.map { ($0.destination, $0.source) } : ring))
        return nil
    },
    FaultCase(name: "pbroadcast source", collective: "pbroadcast", parameter: "source", expected: "source differs", beforeData: true) { odd, d in
        use(pbroadcast(square(d), axisName: "i", source: odd ? 1 : 0))
        return nil
    },
    FaultCase(name: "jit: psumScatter scatterDimension", collective: "psumScatter (jit)", parameter: "scatterDimension",
              expected: "scatterDimension differs", beforeData: true) { odd, d in
        let f = jit { (x: Tensor) in psumScatter(x * 2, axisName: "i", scatterDimension: odd ? 1 : 0) }
        use(f(square(d)))
        return nil
    },
    FaultCase(name: "jit: missing psum", collective: "psum (jit)", parameter: "(call skipped)", expected: "different collectives",
              beforeData: true) { odd, d in
        let f = jit { (x: Tensor) -> Tensor in
            let y = odd ? x : psum(x, axisName: "i")
            return psum(y * 2, axisName: "i")
        }
        use(f(square(d)))
        return nil
    },
    FaultCase(name: "jit: combined psums in another order", collective: "psum (jit, combined)", parameter: "(order of two psums)",
              expected: "jitted programs whose collectives differ", beforeData: true) { odd, _ in
        // Both orders become one all-reduce of f32[5] (the all-reduce combiner): only the plan's
        // collective schedule tells them apart.
        let step = jit { (xs: [Tensor]) -> [Tensor] in
            let (x, y) = (xs[0] * 2, xs[1] * 2)
            return odd ? [psum(y, axisName: "i"), psum(x, axisName: "i")] : [psum(x, axisName: "i"), psum(y, axisName: "i")]
        }
        for t in step([Tensor([Float(1), 2]), Tensor([Float(3), 4, 5])]) { use(t) }
        return nil
    },
    FaultCase(name: "jit: loop traced with one iteration fewer", collective: "psum (jit)", parameter: "(one iteration skipped)",
              expected: "different collectives", beforeData: true) { odd, d in
        let f = jit { (x: Tensor) -> Tensor in
            var y = x
            for _ in 0..<(odd ? 2 : 3) { y = psum(y * 0.5, axisName: "i") }
            return y
        }
        use(f(square(d)))
        return nil
    },
    FaultCase(name: "caught error", collective: "psum", parameter: "(error caught on one device)", expected: "caught errors",
              beforeData: true) { odd, d in
        // The odd device hits an error before its psum and catches it: it skipped that psum.
        var inner: String? = nil
        do {
            try catchingErrors {
                if odd { use(square(d) + Tensor([Float](repeating: 1, count: d + 1))) }
                use(psum(square(d), axisName: "i"))
            }
        } catch { inner = (error as? FlockError)?.message }
        use(psum(square(d), axisName: "i"))
        return inner
    },
]

/// Milliseconds since an arbitrary start.
func milliseconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
}

@main
struct CollectiveFaults: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collective-faults",
        abstract: "Injects inconsistent collectives on one device and checks that every device reports them.")

    @Option(help: "Run only the cases whose name contains this text.")
    var only: String?

    @Option(help: "Run this one case outside catchingErrors: every rank must exit with status 1.")
    var uncaught: String?

    @Flag(help: "The last device calls no collective at all (the watchdog must end the job).")
    var hang = false

    @Flag(help: "Print each device's message.")
    var verbose = false

    func run() throws {
        try Distributed.initialize()
        let devices = Distributed.deviceCount
        guard devices >= 2 else { throw ValidationError("needs at least 2 devices (./launch -n 2, or --local-devices 2)") }
        let selected = cases.filter { c in only.map { c.name.contains($0) } ?? true }
        if let uncaught {
            guard let c = cases.first(where: { $0.name == uncaught }) else { throw ValidationError("no case named '\(uncaught)'") }
            _ = Distributed.onEachLocalDevice(axisName: "i") { _ in
                bindJ { _ = c.body(axisIndex("i").item(Int32.self) == Int32(devices - 1), devices) }
            }
            return
        }
        if hang {
            _ = Distributed.onEachLocalDevice(axisName: "i") { _ in
                if axisIndex("i").item(Int32.self) != Int32(devices - 1) { use(psum(Tensor([Float(1)]), axisName: "i")) }
            }
            return
        }
        let verbose = self.verbose
        let rows = Distributed.onEachLocalDevice(axisName: "i") { local -> [String] in
            let me = Int(axisIndex("i").item(Int32.self))
            let odd = me == devices - 1
            var rows: [String] = []
            for c in selected {
                use(psum(Tensor([Float(0)]), axisName: "i"))  // start together
                let start = milliseconds()
                var message = "", inner: String? = nil
                do { try catchingErrors { bindJ { inner = c.body(odd, devices) } } } catch let e as FlockError { message = e.message } catch {
                    message = "\(error)"
                }
                // An error the case caught itself: the report may be there (the device
                // whose collective failed inside the inner scope) or in the outer scope.
                if let inner, !message.contains(c.expected) { message = inner + (message.isEmpty ? "" : " / then: " + message) }
                let elapsed = milliseconds() - start
                if verbose { print("device \(me), \(c.name): \(message.isEmpty ? "no error" : message)") }
                let detected: Float = message.contains(c.expected) ? 1 : 0
                // In step again: a psum over every device succeeds, at once or after
                // further collectives that fail on every device (a device that left its
                // scope early reaches its next collective before the others).
                var failedAfter = 0
                while failedAfter < 3 {
                    let total = try? catchingErrors { psum(Tensor([Float(1)]), axisName: "i").item(Float.self) }
                    if total == Float(devices) { break }
                    failedAfter += 1
                }
                let stats = psum(Tensor([detected, failedAfter < 3 ? 1 : 0]), axisName: "i").toArray(Float.self)
                let slowest = pmax(Tensor([Float(elapsed)]), axisName: "i").item(Float.self)
                let retries = pmax(Tensor([Float(failedAfter)]), axisName: "i").item(Float.self)
                rows.append("| \(c.name) | \(c.collective) | \(c.parameter) | \(Int(stats[0]))/\(devices) | "
                    + "\(c.beforeData ? "yes" : "no, at the next different collective") | \(Int(stats[1]))/\(devices)"
                    + "\(retries > 0 ? " (after \(Int(retries)) more failed)" : "") | \((slowest * 100).rounded() / 100) |")
            }
            return rows
        }
        if Distributed.processIndex == 0 {
            print("| case | collective | differing | devices reporting it | before data is combined | in step after | time to detection (ms) |")
            print("|---|---|---|---|---|---|---|")
            for r in rows[0] { print(r) }
            let all = "\(devices)/\(devices)"
            let columns = rows[0].map { $0.split(separator: "|").map { String($0.filter { $0 != " " }) } }
            let detected = columns.filter { $0[3] == all }.count
            let inStep = columns.filter { $0[5].hasPrefix(all) }.count
            print("\ndetected on every device: \(detected)/\(selected.count); devices in step afterwards: \(inStep)/\(selected.count)")
            if detected != selected.count || inStep != selected.count { throw ExitCode(1) }
        }
    }
}

/// Runs `body` with the axis "j" bound to the same devices as "i" (for the axis-name case).
func bindJ(_ body: () -> Void) {
    withAxis("j", communicator: activeAxis(named: "i")!.communicator!, body)
}
