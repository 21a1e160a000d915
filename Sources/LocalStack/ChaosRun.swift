import Foundation

/// The result of `local-stack --chaos`.
package struct ChaosReport: Sendable {
    package var clean: LocalStackReport
    package var chaos: LocalStackReport
    package var comparison: EndStateComparison

    /// Both runs passed their own accounting and left the same end state.
    package var passed: Bool { clean.passed && chaos.passed && comparison.equal }
}

/// The chaos run: the data set through the pipeline once cleanly, then again (the same seed, a new
/// stack) with faults, and the two end states compared.
package struct ChaosRun {
    package let options: LocalStackOptions
    package let output: @Sendable (String) -> Void

    package init(options: LocalStackOptions, output: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.options = options
        self.output = output
    }

    package func run() async throws(LocalStackError) -> ChaosReport {
        let faults = options.faults ?? ChaosSettings()
        var clean = options
        clean.faults = nil
        clean.workDirectory = options.workDirectory + "/clean"
        var chaotic = options
        chaotic.faults = faults
        chaotic.workDirectory = options.workDirectory + "/chaos"
        say("==== the clean run")
        let cleanReport = try await LocalStackRun(options: clean, output: output).run()
        say("")
        say("==== the chaos run: \(Int(faults.faultRate * 100))% of requests faulted, every message delivered twice, \(Int(faults.killRate * 100))% of invocations killed (fault seed \(faults.seed))")
        let chaosReport = try await LocalStackRun(options: chaotic, output: output).run()
        let comparison = EndStateComparison(clean: cleanReport.endState, chaos: chaosReport.endState)
        let report = ChaosReport(clean: cleanReport, chaos: chaosReport, comparison: comparison)
        for line in Self.lines(report) { say(line) }
        return report
    }

    package static func lines(_ report: ChaosReport) -> [String] {
        var out = ["", "==== chaos figures"]
        out += report.chaos.chaosFigures?.lines ?? ["no faults were injected"]
        out.append("")
        out.append("==== end state: clean run against chaos run")
        let width = max(10, report.comparison.rows.map(\.what.count).max() ?? 0)
        out.append("  " + "what".padding(toLength: width, withPad: " ", startingAt: 0) + "  clean       chaos")
        for row in report.comparison.rows {
            out.append(
                "  " + row.what.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                    + row.clean.padding(toLength: 10, withPad: " ", startingAt: 0) + "  " + row.chaos + (row.equal ? "" : "   ✗"))
        }
        out.append("clean run \(report.clean.passed ? "passed" : "FAILED") its accounting in \(Int(report.clean.seconds)) s; chaos run \(report.chaos.passed ? "passed" : "FAILED") in \(Int(report.chaos.seconds)) s")
        if report.passed {
            out.append("==== the same end state despite the faults: PASSED")
        } else {
            out.append("==== \(report.comparison.differences.count) difference(s): FAILED")
            for difference in report.comparison.differences { out.append("  - \(difference)") }
            for problem in report.chaos.accounting.problems { out.append("  - chaos run: \(problem)") }
        }
        return out
    }

    private func say(_ line: String) { if options.verbose { output(line) } }
}
