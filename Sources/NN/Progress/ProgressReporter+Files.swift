import FlockCore
import FlockIO

#if canImport(Glibc)
import Glibc
#endif

// The curves of a run as files: a CSV a spreadsheet or pandas reads, and a
// self-contained SVG plot (no library: axes, ticks, a polyline per curve and
// a legend) a browser shows. Loss is drawn against the left axis, accuracy
// (0 to 1) against the right one. Both files are written atomically.

extension ProgressReporter {
    /// The curves as CSV: `step,loss,accuracy,elapsed_seconds`, one row per
    /// recorded step (an empty accuracy when it was not measured).
    public func csv() -> String {
        var text = "step,loss,accuracy,elapsed_seconds\n"
        for r in history {
            text += "\(r.step),\(r.loss),\(r.accuracy.map { String($0) } ?? ""),\(r.elapsed)\n"
        }
        return text
    }

    /// Writes ``csv()`` to `path`.
    ///
    /// - Throws: ``FlockError`` when the file cannot be written.
    public func writeCSV(to path: String) throws {
        try writeFileAtomically(Array(csv().utf8), to: path, operation: "ProgressReporter.writeCSV")
    }

    /// Writes ``svg(title:)`` to `path`.
    ///
    /// - Throws: ``FlockError`` when the file cannot be written.
    public func writeSVG(to path: String, title: String = "Training") throws {
        try writeFileAtomically(Array(svg(title: title).utf8), to: path, operation: "ProgressReporter.writeSVG")
    }

    /// An SVG plot of loss (left axis) and accuracy (right axis, 0–1) against step.
    ///
    /// Non-finite losses are left out of the line.
    public func svg(title: String = "Training") -> String {
        let (width, height) = (720.0, 420.0)
        let (left, right, top, bottom) = (70.0, 70.0, 50.0, 55.0)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let losses = history.filter { $0.loss.isFinite }
        let accuracies = history.compactMap { r in r.accuracy.flatMap { $0.isFinite ? (r.step, $0) : nil } }
        let maxStep = max(history.map(\.step).max() ?? 1, 1)
        let lossTicks = niceTicks(upTo: losses.map(\.loss).max() ?? 1)
        let lossTop = lossTicks.last ?? 1
        func x(_ step: Int) -> Double { left + plotWidth * Double(step) / Double(maxStep) }
        func yLoss(_ v: Double) -> Double { top + plotHeight * (1 - min(max(v, 0), lossTop) / lossTop) }
        func yAccuracy(_ v: Double) -> Double { top + plotHeight * (1 - min(max(v, 0), 1)) }
        func n(_ v: Double) -> String { String((v * 10).rounded() / 10) }

        var s = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(n(width / 2))" y="24" text-anchor="middle" font-size="16">\(xmlEscaped(title))</text>
            <rect x="\(n(left))" y="\(n(top))" width="\(n(plotWidth))" height="\(n(plotHeight))" fill="none" stroke="#444"/>

            """
        // Step axis.
        for t in niceTicks(upTo: Double(maxStep)) where t <= Double(maxStep) {
            let px = left + plotWidth * t / Double(maxStep)
            s += "<line x1=\"\(n(px))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(px))\" y2=\"\(n(top + plotHeight + 5))\" stroke=\"#444\"/>"
            s += "<text x=\"\(n(px))\" y=\"\(n(top + plotHeight + 19))\" text-anchor=\"middle\">\(tickLabel(t))</text>\n"
        }
        s += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(height - 12))\" text-anchor=\"middle\">step</text>\n"
        // Loss axis (left) with grid lines.
        for t in lossTicks {
            let py = yLoss(t)
            s += "<line x1=\"\(n(left))\" y1=\"\(n(py))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(py))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(n(left - 8))\" y=\"\(n(py + 4))\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
        }
        s += "<text x=\"18\" y=\"\(n(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(n(top + plotHeight / 2)))\" fill=\"#1f77b4\">loss</text>\n"
        // Accuracy axis (right).
        if !accuracies.isEmpty {
            for t in stride(from: 0.0, through: 1.0, by: 0.2) {
                let py = yAccuracy(t)
                s += "<line x1=\"\(n(left + plotWidth))\" y1=\"\(n(py))\" x2=\"\(n(left + plotWidth + 5))\" y2=\"\(n(py))\" stroke=\"#444\"/>"
                s += "<text x=\"\(n(left + plotWidth + 8))\" y=\"\(n(py + 4))\">\(tickLabel(t))</text>\n"
            }
            let mid = n(top + plotHeight / 2), ax = n(width - 16)
            s += "<text x=\"\(ax)\" y=\"\(mid)\" text-anchor=\"middle\" transform=\"rotate(90 \(ax) \(mid))\" fill=\"#ff7f0e\">accuracy</text>\n"
        }
        // The curves.
        let lossPoints = losses.map { "\(n(x($0.step))),\(n(yLoss($0.loss)))" }.joined(separator: " ")
        s += "<polyline id=\"loss\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(lossPoints)\"/>\n"
        if !accuracies.isEmpty {
            let points = accuracies.map { "\(n(x($0.0))),\(n(yAccuracy($0.1)))" }.joined(separator: " ")
            s += "<polyline id=\"accuracy\" fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"1.5\" points=\"\(points)\"/>\n"
        }
        // Legend.
        let lx = left + plotWidth - 120, ly = top + 12
        s += "<rect x=\"\(n(lx - 8))\" y=\"\(n(ly - 12))\" width=\"124\" height=\"\(accuracies.isEmpty ? 24 : 42)\" fill=\"white\" stroke=\"#aaa\"/>\n"
        s += "<line x1=\"\(n(lx))\" y1=\"\(n(ly))\" x2=\"\(n(lx + 24))\" y2=\"\(n(ly))\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
        s += "<text x=\"\(n(lx + 30))\" y=\"\(n(ly + 4))\">loss</text>\n"
        if !accuracies.isEmpty {
            s += "<line x1=\"\(n(lx))\" y1=\"\(n(ly + 18))\" x2=\"\(n(lx + 24))\" y2=\"\(n(ly + 18))\" stroke=\"#ff7f0e\" stroke-width=\"2\"/>"
            s += "<text x=\"\(n(lx + 30))\" y=\"\(n(ly + 22))\">accuracy</text>\n"
        }
        return s + "</svg>\n"
    }
}

/// Round tick values from 0 to at least `maximum`: steps of 1, 2 or 5 × 10^k, about 5 of them.
func niceTicks(upTo maximum: Double) -> [Double] {
    let top = maximum > 0 && maximum.isFinite ? maximum : 1
    let raw = top / 5
    let magnitude = pow(10.0, log10(raw as Double).rounded(.down))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    let count = Int((top / step).rounded(.up))
    return (0...count).map { Double($0) * step }
}

/// A tick value without trailing zeros: `0`, `0.2`, `1500`.
private func tickLabel(_ v: Double) -> String {
    let rounded = (v * 1e6).rounded() / 1e6
    if rounded == rounded.rounded() && abs(rounded) < 1e15 { return String(Int(rounded)) }
    return String(rounded)
}

/// `text` with XML's special characters escaped.
func xmlEscaped(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(c)
        }
    }
    return out
}
