import PipelineCore

/// The summary printed at the end of a run.
package enum SummaryRenderer {
    package static func lines(_ report: LocalStackReport, layout: StackLayout) -> [String] {
        var out: [String] = ["", "== summary (\(Int(report.seconds)) s)"]
        out.append("stages run: " + FunctionKind.allCases.map { kind in
            report.stages.contains(kind) ? "\(kind.rawValue) ✓" : "\(kind.rawValue) ✗ (\(report.missingStages[kind] ?? "not run"))"
        }.joined(separator: ", "))
        for kind in FunctionKind.allCases {
            guard let c = report.counters[kind] else { continue }
            var line = "  \(kind.executable): \(c.invocations) invocations, \(c.messagesReceived) messages received, \(c.messagesDeleted) deleted, \(c.messagesFailed) reported failed, \(c.invocationErrors) invocation errors, \(c.timeouts) time-outs, \(c.restarts) restarts"
            if c.kills + c.duplicateDeliveries + c.redeliveries > 0 {
                line += ", \(c.kills) killed, \(c.duplicateDeliveries) duplicate deliveries, \(c.redeliveries) redeliveries"
            }
            if let why = c.givenUp { line += " — GAVE UP: \(why)" }
            out.append(line)
        }
        out.append("files per stage and status (status table):")
        for (stage, counts) in report.inventory.statusCounts.sorted(by: { order($0.key) < order($1.key) }) {
            out.append("  \(stage): " + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        let rejected = report.inventory.statuses.filter { $0.stage.rawValue == "dropbox" && $0.rawStatus == "REJECTED" }
        if !rejected.isEmpty {
            out.append("rejected files and their reasons:")
            for record in rejected.sorted(by: { ($0.fileName ?? "") < ($1.fileName ?? "") }) {
                out.append("  \(record.fileName ?? record.fileId): \(record.errorCode ?? "?") — \(record.reason ?? "")")
            }
        }
        if report.stages.contains(.ingest) {
            out.append("documents per index (OpenSearch _count; \(report.inventory.totalDocuments) in all):")
            for (index, count) in report.inventory.documents.sorted(by: { $0.key < $1.key }) {
                out.append("  \(index): \(count) (expected \(report.sample.documentsPerIndex[index] ?? 0))")
            }
            out.append("errors objects:")
            if report.inventory.errorObjects.isEmpty { out.append("  none") }
            for (key, lines) in report.inventory.errorObjects.sorted(by: { $0.key < $1.key }) { out.append("  \(key): \(lines) lines") }
        }
        if report.stages.contains(.processing) {
            out.append("Parquet tables (rows from the footers; \(report.inventory.parquet.count) files):")
            let rows = report.inventory.tableRows
            for table in Set(rows.keys).union(report.expectedTables.keys).sorted() {
                out.append("  \(table): \(rows[table] ?? 0) rows (expected \(report.expectedTables[table].map(String.init) ?? "?"))")
            }
        }
        out.append("queues (visible + in flight):")
        for (queue, depth) in report.inventory.queueDepths.sorted(by: { $0.key < $1.key }) {
            out.append("  \(queue): \(depth)\(queue.hasSuffix("-dlq") ? " (dead-letter)" : "")")
        }
        let sample = report.sample
        out.append(
            "generated: \(sample.files.count) files, \(sample.accepted.count) to accept (\(sample.totalRecords) records, \(sample.badRecords) bad), \(sample.rejected.count) to reject; \(report.accounting.checks) checks")
        if report.passed {
            out.append("== every record accounted for: PASSED")
        } else {
            if !report.settled { out.append("!! the run did not settle in time") }
            out.append("== \(report.accounting.problems.count) problem(s): FAILED")
            for problem in report.accounting.problems { out.append("  - \(problem)") }
        }
        return out
    }

    private static func order(_ stage: String) -> Int { FunctionKind.allCases.firstIndex { $0.rawValue == stage } ?? 9 }
}
