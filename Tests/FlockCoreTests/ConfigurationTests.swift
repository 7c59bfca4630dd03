import Foundation
import Testing
import FlockTestSupport
@testable import FlockCore

/// The one configuration: its table matches docs/CONFIGURATION.md, values
/// parse as the environment variables always did, and `update` sets a setting
/// by name or by variable and rejects what it does not know.
@Suite struct ConfigurationTests {
    /// Rows of docs/CONFIGURATION.md's table: setting, variable, default.
    static func documentedRows() throws -> [[String]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/CONFIGURATION.md"), encoding: .utf8)
        return text.split(separator: "\n").filter { $0.hasPrefix("| `") }.map { line in
            line.split(separator: "|").prefix(3).map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
        }
    }

    @Test func docsListEverySetting() throws {
        let rows = try Self.documentedRows()
        #expect(rows == Configuration.options.map { [$0.name, $0.environmentVariable, $0.defaultValue] })
        #expect(Set(Configuration.options.map(\.name)).count == Configuration.options.count)
        #expect(Configuration.options.allSatisfy { $0.environmentVariable.hasPrefix("FLOCK_") && !$0.help.isEmpty })
    }

    @Test(arguments: [("1", true), ("true", true), ("TRUE", true), ("0", false), ("false", false), ("yes", false), ("", false)])
    func flags(_ text: String, _ expected: Bool) { #expect(Configuration.flag(text) == expected) }

    @Test(arguments: [("0", false), ("false", false), ("No", false), ("off", false), ("1", true), ("true", true), ("", true)])
    func threefryPartitionable(_ text: String, _ expected: Bool) { #expect(Configuration.partitionable(text) == expected) }

    @Test(arguments: [("", IRDumpMode.off), ("0", .off), ("False", .off), ("1", .endpoints), ("yes", .endpoints),
                      ("passes", .passes), ("ALL", .passes)])
    func dumpModes(_ text: String, _ expected: IRDumpMode) { #expect(Configuration.dumpMode(text) == expected) }

    @Test(arguments: [("30", 30.0 as Double?), ("0.5", 0.5), ("0", nil), ("-1", nil), ("abc", nil), ("", nil)])
    func positiveSeconds(_ text: String, _ expected: Double?) { #expect(Configuration.positive(text) == expected) }

    @Test func updateByNameAndByVariable() throws {
        let saved = Configuration.heartbeatTimeout
        defer { Configuration.heartbeatTimeout = saved }
        try Configuration.update("heartbeatTimeout", "45")
        #expect(Configuration.heartbeatTimeout == 45)
        try Configuration.update("FLOCK_HEARTBEAT_TIMEOUT", "50.5")
        #expect(Configuration.heartbeatTimeout == 50.5)
        #expect(Configuration.options.first { $0.name == "heartbeatTimeout" }?.value == "50.5")
    }

    @Test func typedPropertiesForwardToTheirUsers() {
        let saved = Configuration.numThreads
        defer { Configuration.numThreads = saved }
        FlockThreads.count = 3
        #expect(Configuration.numThreads == 3)
        Configuration.numThreads = 0
        #expect(FlockThreads.count == 1)
        #expect(CollectiveTimeout.seconds == Configuration.collectiveTimeout)
    }

    @Test(arguments: [
        ("noSuchSetting", "1", ["Configuration.update", "no setting named 'noSuchSetting'", "collectiveTimeout"]),
        ("collectiveTimeout", "-1", ["Configuration.update", "'-1' is not a valid value for collectiveTimeout"]),
        ("FLOCK_NUM_THREADS", "many", ["'many' is not a valid value for numThreads"]),
        ("localDevices", "0", ["'0' is not a valid value for localDevices"]),
    ])
    func updateRejectsUnknownNamesAndBadValues(_ name: String, _ value: String, _ parts: [String]) {
        expectErrorMentions(parts, name) { try Configuration.update(name, value) }
    }
}
