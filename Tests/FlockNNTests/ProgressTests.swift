import Foundation
import Synchronization
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import FlockNN

// Oracles: hand-computed lines (examples/s = steps × examples per step /
// elapsed, ETA = elapsed / steps × remaining) under a test clock; the CSV's
// exact text; the SVG parsed by Foundation's XMLParser.

private final class Clock: Sendable {
    let now = Mutex<Double>(0)
    func set(_ t: Double) { now.withLock { $0 = t } }
    var read: @Sendable () -> Double { { self.now.withLock { $0 } } }
}

private final class Output: Sendable {
    let text = Mutex<String>("")
    var write: @Sendable (String) -> Void { { s in self.text.withLock { $0 += s } } }
    var value: String { text.withLock { $0 } }
}

/// Counts elements by name and keeps the polylines' point lists.
private final class SVGCollector: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var polylines: [String: String] = [:]
    var texts: [String] = []
    private var inText = false
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
        if name == "polyline" { polylines[attributes["id"] ?? "?"] = attributes["points"] }
        inText = name == "text"
        if inText { texts.append("") }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { if inText { texts[texts.count - 1] += string } }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) { inText = false }
}

@Suite struct ProgressTests {
    private func run(live: Bool, enabled: Bool = true) -> (ProgressReporter, String) {
        let clock = Clock(), output = Output()
        var progress = ProgressReporter(
            totalSteps: 100, examplesPerStep: 32, every: 50, isEnabled: enabled, isLive: live, write: output.write,
            clock: clock.read)
        for step in 1...100 {
            clock.set(Double(step) * 0.5)
            progress.record(step: step, loss: 1 / Double(step), accuracy: step % 2 == 0 ? Double(step) / 100 : nil)
        }
        progress.log("epoch 1: test accuracy 0.9731")
        clock.set(50)
        progress.finish()
        return (progress, output.value)
    }

    @Test func plainLinesForLogs() {
        let (_, text) = run(live: false)
        // Step 50: 25 s elapsed, 50 × 32 / 25 = 64 ex/s, ETA 25 / 50 × 50 = 25 s.
        #expect(text == """
            step   1/100  loss 1.0000  64 ex/s  ETA 0:50
            step  50/100  loss 0.0200  acc 0.5000  64 ex/s  ETA 0:25
            step 100/100  loss 0.0100  acc 1.0000  64 ex/s  ETA 0:00
            epoch 1: test accuracy 0.9731
            done: 100 steps in 0:50, 64 examples/s, final loss 0.0100

            """)
    }

    @Test func liveBarRedrawsInPlace() {
        let (_, text) = run(live: true)
        let redraw = "\r\u{1B}[2K"
        #expect(text.hasPrefix(redraw + "[····················]    1/100  loss 1.0000  64 ex/s  ETA 0:50" + redraw))
        #expect(text.contains(redraw + "[##########··········]   50/100  loss 0.0200  acc 0.5000  64 ex/s  ETA 0:25" + redraw))
        #expect(text.contains(redraw + "[####################]  100/100  loss 0.0100  acc 1.0000  64 ex/s  ETA 0:00" + redraw))
        #expect(text.contains(redraw + "epoch 1: test accuracy 0.9731\n"))
        #expect(text.hasSuffix("\ndone: 100 steps in 0:50, 64 examples/s, final loss 0.0100\n"))
        #expect(text.components(separatedBy: redraw).count == 102)  // 100 steps and the log line
    }

    @Test func otherProcessesAreSilentButRecord() {
        let (progress, text) = run(live: false, enabled: false)
        #expect(text.isEmpty)
        #expect(progress.history.count == 100)
    }

    @Test func csvHasEveryStep() {
        let (progress, _) = run(live: false)
        let lines = progress.csv().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "step,loss,accuracy,elapsed_seconds")
        #expect(lines[1] == "1,1.0,,0.5")
        #expect(lines[2] == "2,0.5,0.02,1.0")
        #expect(lines[100] == "100,0.01,1.0,50.0")
        #expect(lines.count == 102 && lines.last == "")
    }

    @Test func svgIsWellFormedWithTwoCurves() throws {
        var (progress, _) = run(live: false)
        progress.record(step: 101, loss: .nan, accuracy: nil)
        let collector = SVGCollector()
        let parser = XMLParser(data: Data(progress.svg(title: "digits <MLP> & Adam").utf8))
        parser.delegate = collector
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(collector.counts["svg"] == 1)
        #expect(collector.counts["polyline"] == 2)
        #expect(collector.polylines["loss"]?.split(separator: " ").count == 100)  // the NaN is left out
        #expect(collector.polylines["accuracy"]?.split(separator: " ").count == 50)
        #expect(collector.texts.contains("digits <MLP> & Adam"))
        for label in ["loss", "accuracy", "step", "0", "0.2", "1"] { #expect(collector.texts.contains(label), "\(label)") }
        // The last loss point (step 100, loss 0.01) is at the right edge, near the bottom.
        // Plot area x 70...650 for steps 0...101, y 365...50 for loss 0...1 (ticks of 0.2).
        let last = try #require(collector.polylines["loss"]?.split(separator: " ").last).split(separator: ",").map { Double($0)! }
        #expect(abs(last[0] - (70 + 580 * 100 / 101)) < 0.06 && abs(last[1] - (50 + 315 * 0.99)) < 0.06, "\(last)")
    }

    @Test func svgWithoutAccuracyHasOneCurve() {
        let clock = Clock()
        var progress = ProgressReporter(totalSteps: 3, examplesPerStep: 1, isEnabled: false, isLive: false, clock: clock.read)
        for step in 1...3 { progress.record(step: step, loss: Double(4 - step)) }
        let collector = SVGCollector()
        let parser = XMLParser(data: Data(progress.svg().utf8))
        parser.delegate = collector
        #expect(parser.parse())
        #expect(collector.counts["polyline"] == 1)
        #expect(!collector.texts.contains("accuracy"))
    }

    @Test func filesAreWritten() throws {
        let (progress, _) = run(live: false)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flock-progress-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try progress.writeCSV(to: directory + "/curves.csv")
        try progress.writeSVG(to: directory + "/curves.svg")
        #expect(try String(contentsOfFile: directory + "/curves.csv", encoding: .utf8) == progress.csv())
        #expect(try String(contentsOfFile: directory + "/curves.svg", encoding: .utf8) == progress.svg())
        #expect(throws: FlockError.self) { try progress.writeCSV(to: directory + "/missing/curves.csv") }
    }

    @Test(arguments: [(0.93, [0, 0.2, 0.4, 0.6, 0.8, 1.0]), (1500, [0, 500, 1000, 1500]), (2.3, [0, 0.5, 1, 1.5, 2, 2.5]),
                      (0, [0, 0.2, 0.4, 0.6, 0.8, 1.0])] as [(Double, [Double])])
    func ticksAreRound(maximum: Double, expected: [Double]) {
        let ticks = niceTicks(upTo: maximum)
        #expect(ticks.count == expected.count)
        for (t, e) in zip(ticks, expected) { #expect(abs(t - e) < 1e-12) }
    }

    @Test func numbersAndDurations() {
        #expect(progressNumber(1.23456) == "1.2346")
        #expect(progressNumber(-0.00001) == "0.0000")
        #expect(progressNumber(-2.5) == "-2.5000")
        #expect(progressNumber(.nan) == "nan" && progressNumber(-.infinity) == "-inf")
        #expect(progressDuration(65) == "1:05" && progressDuration(3725) == "1:02:05" && progressDuration(.infinity) == "0:00")
    }
}
