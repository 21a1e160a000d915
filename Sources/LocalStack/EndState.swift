package import FaultProxy
package import JSONCodec
import PipelineCore

/// What a run leaves behind, in the terms the pipeline promises: the documents (ids, per index),
/// the Parquet tables (rows, per object), one final status per file and stage, the watermarks,
/// the errors objects, the rejected files, and the dead-letter queues.
package struct EndState: Sendable, Hashable {
    package var documentIds: [String: Set<String>] = [:]
    package var parquetRows: [String: Int64] = [:]
    /// `<stage> <file name>` → the statuses of its items (one, final, when all is well).
    package var statuses: [String: [String]] = [:]
    /// Table → `latest_row_id`, `key`, `timestamp` and `rows` of its watermark (`processed_at` differs between runs).
    package var watermarks: [String: String] = [:]
    package var errorObjects: [String: Int] = [:]
    package var rejected: Set<String> = []
    package var deadLetters: [String: Int] = [:]
    package var queues: [String: Int] = [:]

    package init() {}

    package init(inventory: Inventory, documentIds: [String: Set<String>], watermarks: [String: JSON]) {
        self.documentIds = documentIds
        parquetRows = inventory.parquet
        for record in inventory.statuses {
            statuses["\(record.stage.rawValue) \(record.fileName ?? record.fileId)", default: []].append(record.rawStatus ?? "?")
        }
        for (table, json) in watermarks {
            self.watermarks[table] = ["latest_row_id", "key", "timestamp", "rows"].map { json[$0]?.text ?? "-" }.joined(separator: " ")
        }
        errorObjects = inventory.errorObjects
        rejected = inventory.rejectedKeys
        for (queue, depth) in inventory.queueDepths {
            if queue.hasSuffix("-dlq") { deadLetters[queue] = depth } else { queues[queue] = depth }
        }
    }

    package var totalDocuments: Int { documentIds.values.reduce(0) { $0 + $1.count } }
    package var tableRows: [String: Int64] {
        var rows: [String: Int64] = [:]
        for (key, count) in parquetRows { rows[String(key.prefix { $0 != "/" }), default: 0] += count }
        return rows
    }
    /// Files (per stage) with other than exactly one item in a final status.
    package var filesWithoutOneFinalStatus: [String] {
        statuses.filter { $0.value.count != 1 || !($0.value.first.flatMap(FileStatus.init(rawValue:))?.isFinal ?? false) }.keys.sorted()
    }
}

/// The chaos run's end state against the clean run's.
package struct EndStateComparison: Sendable {
    package struct Row: Sendable, Hashable {
        package var what: String
        package var clean: String
        package var chaos: String
        package var equal: Bool
    }

    package var rows: [Row] = []
    /// Each difference, named.
    package var differences: [String] = []

    package init(clean: EndState, chaos: EndState) {
        func row(_ what: String, _ a: String, _ b: String, _ equal: Bool, _ detail: @autoclosure () -> String = "") {
            rows.append(Row(what: what, clean: a, chaos: b, equal: equal))
            if !equal { differences.append("\(what): clean \(a), chaos \(b)" + (detail().isEmpty ? "" : " — \(detail())")) }
        }
        for index in Set(clean.documentIds.keys).union(chaos.documentIds.keys).sorted() {
            let a = clean.documentIds[index] ?? [], b = chaos.documentIds[index] ?? []
            let missing = a.subtracting(b), extra = b.subtracting(a)
            row(
                "documents in \(index)", "\(a.count)", "\(b.count)", a == b,
                "missing \(missing.sorted().prefix(3).joined(separator: ", ")); extra \(extra.sorted().prefix(3).joined(separator: ", "))")
        }
        row("documents in all", "\(clean.totalDocuments)", "\(chaos.totalDocuments)", clean.documentIds == chaos.documentIds)
        let (tablesA, tablesB) = (clean.tableRows, chaos.tableRows)
        for table in Set(tablesA.keys).union(tablesB.keys).sorted() {
            row("rows in \(table)", "\(tablesA[table] ?? 0)", "\(tablesB[table] ?? 0)", tablesA[table] == tablesB[table])
        }
        let objectsDiffer = Set(clean.parquetRows.keys).symmetricDifference(chaos.parquetRows.keys)
        row(
            "Parquet objects (rows each)", "\(clean.parquetRows.count)", "\(chaos.parquetRows.count)", clean.parquetRows == chaos.parquetRows,
            objectsDiffer.sorted().prefix(3).joined(separator: ", "))
        let statusDiff = Set(clean.statuses.keys).union(chaos.statuses.keys).filter { clean.statuses[$0] != chaos.statuses[$0] }
        row(
            "files × stages with their final status", "\(clean.statuses.count)", "\(chaos.statuses.count)", statusDiff.isEmpty,
            statusDiff.sorted().prefix(3).map { "\($0): \(clean.statuses[$0] ?? []) vs \(chaos.statuses[$0] ?? [])" }.joined(separator: "; "))
        let notOne = chaos.filesWithoutOneFinalStatus
        row(
            "files × stages without exactly one final status", "\(clean.filesWithoutOneFinalStatus.count)", "\(notOne.count)",
            notOne.isEmpty && clean.filesWithoutOneFinalStatus.isEmpty, notOne.prefix(3).joined(separator: ", "))
        for table in Set(clean.watermarks.keys).union(chaos.watermarks.keys).sorted() {
            row("watermark \(table)", clean.watermarks[table] ?? "none", chaos.watermarks[table] ?? "none", clean.watermarks[table] == chaos.watermarks[table])
        }
        row(
            "errors objects (lines)", "\(clean.errorObjects.values.reduce(0, +))", "\(chaos.errorObjects.values.reduce(0, +))",
            clean.errorObjects == chaos.errorObjects)
        row("rejected files", "\(clean.rejected.count)", "\(chaos.rejected.count)", clean.rejected == chaos.rejected)
        let deadA = clean.deadLetters.values.reduce(0, +), deadB = chaos.deadLetters.values.reduce(0, +)
        row("messages in dead-letter queues", "\(deadA)", "\(deadB)", deadA == 0 && deadB == 0)
        let leftA = clean.queues.values.reduce(0, +), leftB = chaos.queues.values.reduce(0, +)
        row("messages left in queues", "\(leftA)", "\(leftB)", leftA == 0 && leftB == 0)
    }

    package var equal: Bool { differences.isEmpty }
}

/// The fault figures of a chaos run.
package struct ChaosFigures: Sendable {
    package var proxies: FaultProxyStats
    package var redeliveries: Int
    package var duplicateDeliveries: Int
    package var kills: Int
    package var timeouts: Int
    package var restarts: Int

    package init(proxies: FaultProxyStats, counters: [RunnerCounters]) {
        self.proxies = proxies
        redeliveries = counters.reduce(0) { $0 + $1.redeliveries }
        duplicateDeliveries = counters.reduce(0) { $0 + $1.duplicateDeliveries }
        kills = counters.reduce(0) { $0 + $1.kills }
        timeouts = counters.reduce(0) { $0 + $1.timeouts }
        restarts = counters.reduce(0) { $0 + $1.restarts }
    }

    package var lines: [String] {
        var out = ["faults: \(proxies.totalFaults) of \(proxies.requests) requests (\(proxies.forwarded) reached moto or OpenSearch)"]
        out.append(
            "  by kind: "
                + FaultKind.allCases.map { kind in
                    let name: String =
                        switch kind {
                        case .internalError: "500"
                        case .unavailable: "503"
                        case .throttled: "throttled (S3 503 SlowDown, SQS/DynamoDB/SSM 400, OpenSearch 429)"
                        case .resetMidBody: "executed then reset mid-body"
                        case .stalled: "executed then stalled past the deadline"
                        }
                    return "\(name) \(proxies.faults[kind] ?? 0)"
                }.joined(separator: ", "))
        for (service, kinds) in proxies.faultsByService.sorted(by: { $0.key < $1.key }) {
            out.append("  \(service.rawValue): " + kinds.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))
        }
        out.append("retries (a faulted request sent again): \(proxies.retries)")
        out.append("SQS redeliveries (receive count above 1): \(redeliveries); duplicate deliveries injected: \(duplicateDeliveries)")
        out.append("invocations killed mid-work: \(kills); timed out: \(timeouts); bootstrap restarts: \(restarts)")
        return out
    }
}
