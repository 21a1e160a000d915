import Gzip
package import JSONCodec
import Primitives

/// What the pipeline must make of one dropped file.
package enum ExpectedOutcome: Sendable, Hashable {
    /// Accepted by the dropbox; `records` in all, of which `bad` cannot be indexed (they end in
    /// the errors object).
    case accepted(records: Int, bad: Int)
    /// Rejected by the dropbox with this `Rejection` code.
    case rejected(code: String)
}

/// One generated file: where it is dropped, its bytes, and what must become of it.
package struct SampleFile: Sendable, Hashable {
    /// The key relative to the dropbox prefix (`totesys/sales_order/000010-20240501120000.jsonl`).
    package var name: String
    /// The dataset it belongs to (nil when no dataset matches).
    package var dataset: String?
    package var body: [UInt8]
    package var expected: ExpectedOutcome
    /// The Totesys source table (extracts only).
    package var table: String?
    /// Dropped as a multipart upload of 5 MiB parts (as the CLI and boto3 upload files over
    /// 8 MiB): its ETag is `…-N`, its copy's the MD5 of its bytes.
    package var multipart = false
}

/// The generated data set and everything the summary checks it against.
package struct SampleData: Sendable {
    package var files: [SampleFile]
    /// Documents each OpenSearch index must hold.
    package var documentsPerIndex: [String: Int]
    /// Totesys source rows per table, every version, in extract order.
    package var sourceRows: [String: [JSONObject]]

    package var accepted: [SampleFile] {
        files.filter { if case .accepted = $0.expected { true } else { false } }
    }
    package var rejected: [SampleFile] {
        files.filter { if case .rejected = $0.expected { true } else { false } }
    }
    package var totalRecords: Int {
        files.reduce(0) { if case .accepted(let records, _) = $1.expected { $0 + records } else { $0 } }
    }
    package var badRecords: Int {
        files.reduce(0) { if case .accepted(_, let bad) = $1.expected { $0 + bad } else { $0 } }
    }

    /// The dataset catalog the local stack loads into SSM: the three kinds of data the generator
    /// writes. Telemetry validates a sample only (no full validation), so a file with a few bad
    /// rows past the sample is accepted and ingested as PARTIAL.
    package static let catalog: String = """
        {"datasets": [
          {"name": "totesys", "keyPattern": "totesys/{table}/{sequence}-{timestamp}.jsonl", "format": {"type": "jsonl"},
           "compression": "auto", "extensions": [".jsonl", ".jsonl.gz"], "requiredFields": {"last_updated": "timestamp"},
           "idFields": [], "index": {"name": "totesys-{key.table}-{last_updated:month}"}, "starSchema": "totesys"},
          {"name": "ukhsa_headline", "keyPattern": "ukhsa/headline/{theme}/{metric}.json",
           "format": {"type": "json", "recordsPointer": "/results", "mergeParentFields": true}, "compression": "none",
           "requiredFields": {"period_end": "date", "metric_value": "number", "geography": "string"},
           "idFields": ["metric", "geography", "period_end"], "index": {"name": "ukhsa-headline-{key.theme}"}},
          {"name": "ukhsa_timeseries", "keyPattern": "ukhsa/timeseries/{theme}/{metric}.json",
           "format": {"type": "json", "recordsPointer": "/results", "mergeParentFields": true}, "compression": "none",
           "requiredFields": {"date": "date", "metric_value": "number", "geography": "string"},
           "idFields": ["metric", "geography", "date"], "index": {"name": "ukhsa-{metric}-{date:year}"}},
          {"name": "telemetry", "keyPattern": "telemetry/{station}/*.csv*", "format": {"type": "csv", "delimiter": ","},
           "extensions": [".csv", ".csv.gz"], "fieldTypes": {"temperature_c": "number", "reading_id": "integer", "ok": "boolean"},
           "requiredFields": {"reading_id": "integer", "observed_at": "timestamp"}, "idFields": ["station_id", "reading_id"],
           "index": {"name": "telemetry-{observed_at:day}"}, "sampleRecords": 20, "maxFailedRecordRatio": 0.25}
        ]}
        """

    /// Dataset names of the catalog, plus the dropbox's name for files that match none.
    package static let datasetNames = ["totesys", "ukhsa_headline", "ukhsa_timeseries", "telemetry"]
    package static let unmatchedDataset = "_unmatched"

    /// Generates the data set. The same seed and scale always give the same bytes.
    /// - Parameters:
    ///   - scale: 1 is the default demo size (a few hundred records); N multiplies the rows.
    package static func generate(seed: UInt64 = 42, scale: Int = 1) -> SampleData {
        var generator = Generator(random: SplitMix64(seed: seed), scale: max(1, scale))
        generator.totesys()
        generator.ukhsa()
        generator.telemetry()
        generator.badFiles()
        return SampleData(
            files: generator.files, documentsPerIndex: generator.documents, sourceRows: generator.sourceRows)
    }

    /// Rows each star-schema table must hold, from the specification's tables: a fact table has
    /// one row per source row version, a dimension one per source key, the date dimension one per
    /// date found in the facts' date columns.
    package func expectedTables(specification: JSON) -> [String: Int] {
        var expected: [String: Int] = [:]
        let sources = specification["sources"]?.objectValue ?? [:]
        var dates = Set<String>()
        var dateTables: [String] = []
        for table in specification["tables"]?.objectValue ?? [:] {
            let kind = table.value["kind"]?.stringValue
            guard kind != "date" else {
                dateTables.append(table.key)
                continue
            }
            guard let source = table.value["source"]?.stringValue else { continue }
            let rows = sourceRows[source] ?? []
            let key = sources[source]?["key"]?.stringValue ?? "\(source)_id"
            if kind == "fact" {
                expected[table.key] = rows.count
                for column in table.value["columns"]?.arrayValue ?? [] where column["type"]?.stringValue == "date" {
                    guard let field = column["from"]?.stringValue ?? column["name"]?.stringValue else { continue }
                    for row in rows { if let text = row[field]?.stringValue, text.utf8.count >= 10 { dates.insert(String(text.prefix(10))) } }
                }
            } else {
                expected[table.key] = Set(rows.compactMap { $0[key]?.numberText ?? $0[key]?.stringValue }).count
            }
        }
        for table in dateTables { expected[table] = dates.count }
        return expected
    }
}

private struct Generator {
    var random: SplitMix64
    let scale: Int
    var files: [SampleFile] = []
    var documents: [String: Int] = [:]
    var sourceRows: [String: [JSONObject]] = [:]

    init(random: SplitMix64, scale: Int) {
        self.random = random
        self.scale = scale
    }

    // MARK: Totesys: `<table>/<latest row id>-<timestamp>.jsonl`

    /// 2024-05-01T00:00:00Z
    static let base = Timestamp(secondsSinceEpoch: 1_714_521_600)

    mutating func time(_ day: Int) -> Timestamp {
        Self.base.adding(seconds: Int64(day) * 86_400 + Int64(random.below(86_400)))
    }

    static func money(_ cents: Int) -> JSON { .number("\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)") }

    mutating func pick<T>(_ list: [T]) -> T { list[random.below(list.count)] }

    /// Writes one extract of `table`; each row gets `created_at` and `last_updated` from `day`.
    mutating func extract(_ table: String, day: Int, rows: [JSONObject]) {
        guard !rows.isEmpty else { return }
        var bytes: [UInt8] = []
        var latest = 0
        let stamp = time(day)
        for var row in rows {
            let id = row["\(table)_id"]?.intValue ?? 0
            latest = max(latest, id)
            if row["created_at"] == nil { row.append("created_at", .string(stamp.adding(seconds: -3600).iso8601())) }
            row.append("last_updated", .string(stamp.iso8601()))
            JSONWriter.write(.object(row), to: &bytes)
            bytes.append(0x0A)
            sourceRows[table, default: []].append(row)
        }
        let c = stamp.components
        let index = "totesys-\(table)-\(c.year).\(Self.two(c.month))"
        documents[index, default: 0] += rows.count
        let name = "totesys/\(table)/\(Self.six(latest))-\(c.year)\(Self.two(c.month))\(Self.two(c.day))\(Self.two(c.hour))\(Self.two(c.minute))\(Self.two(c.second)).jsonl"
        files.append(SampleFile(name: name, dataset: "totesys", body: bytes, expected: .accepted(records: rows.count, bad: 0), table: table))
    }

    static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    static func six(_ value: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 6 - text.count)) + text
    }

    mutating func totesys() {
        let departments = ["Sales", "Purchasing", "Finance", "Facilities", "Production"]
        let cities = ["Leeds", "Manchester", "London", "Bristol", "York", "Glasgow", "Cardiff"]
        extract(
            "department", day: 0,
            rows: departments.enumerated().map { i, name in
                ["department_id": .number(i + 1), "department_name": .string(name), "location": .string(cities[i]), "manager": .string("M. \(name)")]
            })
        let addresses = 6 * scale
        extract(
            "address", day: 0,
            rows: (1...addresses).map { i in
                [
                    "address_id": .number(i), "address_line_1": .string("\(i) High Street"), "address_line_2": i % 2 == 0 ? .null : .string("Unit \(i)"),
                    "district": .string("District \(i % 4)"), "city": .string(cities[i % cities.count]), "postal_code": .string("AB\(i) \(i % 9)CD"),
                    "country": .string("United Kingdom"), "phone": .string("0113 496 \(1000 + i)"),
                ]
            })
        let staff = 8 * scale
        extract(
            "staff", day: 0,
            rows: (1...staff).map { i in
                [
                    "staff_id": .number(i), "first_name": .string("First\(i)"), "last_name": .string("Last\(i)"),
                    "department_id": .number(1 + i % departments.count), "email_address": .string("staff\(i)@terrifictotes.example"),
                ]
            })
        let designs = 5 * scale
        extract(
            "design", day: 0,
            rows: (1...designs).map { i in
                ["design_id": .number(i), "design_name": .string("Design \(i)"), "file_location": .string("/designs"), "file_name": .string("design-\(i).json")]
            })
        extract(
            "currency", day: 0,
            rows: ["GBP", "USD", "EUR"].enumerated().map { i, code in ["currency_id": .number(i + 1), "currency_code": .string(code)] })
        let counterparties = 5 * scale
        extract(
            "counterparty", day: 0,
            rows: (1...counterparties).map { i in
                [
                    "counterparty_id": .number(i), "counterparty_legal_name": .string("Counterparty \(i) Ltd"),
                    "legal_address_id": .number(1 + random.below(addresses)), "commercial_contact": .string("Contact \(i)"),
                ]
            })
        extract(
            "payment_type", day: 0,
            rows: ["SALES_RECEIPT", "SALES_REFUND", "PURCHASE_PAYMENT", "PURCHASE_REFUND"].enumerated().map { i, name in
                ["payment_type_id": .number(i + 1), "payment_type_name": .string(name)]
            })

        // Facts: two extracts each; the second updates some rows of the first (a new version).
        let salesPerFile = 10 * scale
        var transactions: [JSONObject] = []
        var transactionId = 0
        for file in 0..<2 {
            var rows: [JSONObject] = []
            let firstId = file * salesPerFile + 1
            for id in firstId..<(firstId + salesPerFile) {
                rows.append(salesOrder(id, staff: staff, counterparties: counterparties, designs: designs, addresses: addresses))
                transactionId += 1
                transactions.append(["transaction_id": .number(transactionId), "transaction_type": .string("SALE"), "sales_order_id": .number(id), "purchase_order_id": .null])
            }
            if file == 1 {
                for id in 1...(2 * scale) {
                    rows.append(salesOrder(id, staff: staff, counterparties: counterparties, designs: designs, addresses: addresses))
                }
            }
            extract("sales_order", day: 1 + file * 35, rows: rows)
        }
        let purchasesPerFile = 8 * scale
        for file in 0..<2 {
            var rows: [JSONObject] = []
            let firstId = file * purchasesPerFile + 1
            for id in firstId..<(firstId + purchasesPerFile) {
                rows.append([
                    "purchase_order_id": .number(id), "staff_id": .number(1 + random.below(staff)),
                    "counterparty_id": .number(1 + random.below(counterparties)), "item_code": .string("ITEM\(100 + random.below(900))"),
                    "item_quantity": .number(1 + random.below(500)), "item_unit_price": Self.money(100 + random.below(20_000)),
                    "currency_id": .number(1 + random.below(3)), "agreed_delivery_date": .string(dateText(2 + random.below(60))),
                    "agreed_payment_date": .string(dateText(2 + random.below(60))), "agreed_delivery_location_id": .number(1 + random.below(addresses)),
                ])
                transactionId += 1
                transactions.append(["transaction_id": .number(transactionId), "transaction_type": .string("PURCHASE"), "sales_order_id": .null, "purchase_order_id": .number(id)])
            }
            extract("purchase_order", day: 2 + file * 35, rows: rows)
        }
        extract("transaction", day: 40, rows: transactions)
        let payments = 10 * scale
        extract(
            "payment", day: 41,
            rows: (1...payments).map { id in
                [
                    "payment_id": .number(id), "transaction_id": .number(1 + random.below(transactionId)),
                    "counterparty_id": .number(1 + random.below(counterparties)), "payment_amount": Self.money(100 + random.below(500_000)),
                    "currency_id": .number(1 + random.below(3)), "payment_type_id": .number(1 + random.below(4)),
                    "paid": .bool(random.below(2) == 0), "payment_date": .string(dateText(40 + random.below(20))),
                    "company_ac_number": .number(10_000_000 + random.below(89_999_999)), "counterparty_ac_number": .number(10_000_000 + random.below(89_999_999)),
                ]
            })
    }

    mutating func salesOrder(_ id: Int, staff: Int, counterparties: Int, designs: Int, addresses: Int) -> JSONObject {
        [
            "sales_order_id": .number(id), "design_id": .number(1 + random.below(designs)), "staff_id": .number(1 + random.below(staff)),
            "counterparty_id": .number(1 + random.below(counterparties)), "units_sold": .number(1000 + random.below(99_000)),
            "unit_price": Self.money(200 + random.below(400)), "currency_id": .number(1 + random.below(3)),
            "agreed_delivery_date": .string(dateText(5 + random.below(60))), "agreed_payment_date": .string(dateText(5 + random.below(60))),
            "agreed_delivery_location_id": .number(1 + random.below(addresses)),
        ]
    }

    func dateText(_ day: Int) -> String { Self.base.adding(seconds: Int64(day) * 86_400).isoDate }

    // MARK: UKHSA: headline and timeseries documents

    mutating func ukhsa() {
        let geographies = ["England", "London", "North East", "South West"]
        // Timeseries: days from 2023-12-20, so each metric spans two yearly indices.
        let start = Timestamp(secondsSinceEpoch: 1_703_030_400)
        for metric in ["covid-19_cases_rate", "influenza_testing_positivity"] {
            var results: [JSON] = []
            for day in 0..<(20 * scale) {
                let date = start.adding(seconds: Int64(day) * 86_400)
                for geography in geographies {
                    results.append(.object([
                        "geography": .string(geography), "geography_type": .string("Nation"), "date": .string(date.isoDate),
                        "metric_value": .number(Double(random.below(100_000)) / 100),
                    ]))
                    documents["ukhsa-\(metric)-\(date.components.year)", default: 0] += 1
                }
            }
            let document: JSON = .object([
                "theme": "infectious_disease", "sub_theme": "respiratory", "metric": .string(metric), "results": .array(results),
            ])
            files.append(
                SampleFile(
                    name: "ukhsa/timeseries/infectious_disease/\(metric).json", dataset: "ukhsa_timeseries", body: document.bytes,
                    expected: .accepted(records: results.count, bad: 0)))
        }
        for (theme, metric) in [("infectious_disease", "covid-19_headline_cases_7day"), ("climate_and_environment", "heat-alert_headline")] {
            let results: [JSON] = geographies.map { geography in
                .object([
                    "geography": .string(geography), "period_start": "2024-05-01", "period_end": "2024-05-07",
                    "metric_value": .number(random.below(5000)),
                ])
            }
            documents["ukhsa-headline-\(theme)", default: 0] += results.count
            let document: JSON = .object(["theme": .string(theme), "metric": .string(metric), "results": .array(results)])
            files.append(
                SampleFile(
                    name: "ukhsa/headline/\(theme)/\(metric).json", dataset: "ukhsa_headline", body: document.bytes,
                    expected: .accepted(records: results.count, bad: 0)))
        }
    }

    // MARK: Telemetry: CSV, one gzipped, one with bad rows past the dropbox's sample

    static let telemetryHeader = "station_id,reading_id,observed_at,temperature_c,ok\n"

    mutating func telemetry() {
        let start = Timestamp(secondsSinceEpoch: 1_714_608_000)  // 2024-05-02T00:00:00Z
        for station in 1...3 {
            let id = "st-0\(station)"
            let rows = 60 * scale
            let bad = station == 3 ? 4 : 0
            var text = Self.telemetryHeader
            for reading in 1...rows {
                // Readings every 20 minutes (36 hours across 60 readings: two daily indices).
                let observed = start.adding(seconds: Int64(reading) * 1200 + Int64(station) * 7)
                let temperature = Double(random.below(4000) - 1000) / 100
                text += "\(id),\(reading),\(observed.iso8601()),\(temperature),\(random.below(10) == 0 ? "false" : "true")\n"
                documents["telemetry-\(observed.isoDate.replacingDashes)", default: 0] += 1
            }
            for extra in 0..<bad {
                // Past the sample the dropbox reads: a reading id that is not a whole number.
                text += "\(id),n/a-\(extra),\(start.iso8601()),1.5,true\n"
            }
            var body = Array(text.utf8)
            var name = "telemetry/\(id)/readings-20240502.csv"
            if station == 2 {
                body = Self.gzip(body)
                name += ".gz"
            }
            files.append(SampleFile(name: name, dataset: "telemetry", body: body, expected: .accepted(records: rows + bad, bad: bad)))
        }
        // A station that uploads one large file (a reading a second, 36 hours of them per unit of
        // scale, about 5.7 MiB): dropped as a multipart upload.
        let id = "st-04"
        let rows = 130_000 * scale
        var text = Self.telemetryHeader
        text.reserveCapacity(rows * 64)
        for reading in 1...rows {
            let observed = start.adding(seconds: Int64(reading))
            text += "\(id),\(reading),\(observed.iso8601()),\(Double(random.below(4000) - 1000) / 100),true\n"
            documents["telemetry-\(observed.isoDate.replacingDashes)", default: 0] += 1
        }
        files.append(
            SampleFile(
                name: "telemetry/\(id)/readings-20240502.csv", dataset: "telemetry", body: Array(text.utf8),
                expected: .accepted(records: rows, bad: 0), multipart: true))
    }

    static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        // Level 6 deflate of a few kilobytes cannot fail.
        guard let deflater = try? GzipDeflater(), var out = try? deflater.update(bytes), let tail = try? deflater.finish() else {
            preconditionFailure("gzip of the sample data failed")
        }
        out.append(contentsOf: tail)
        return out
    }

    // MARK: Files the dropbox must reject, each for a different reason

    mutating func badFiles() {
        func reject(_ name: String, _ dataset: String?, _ body: String, _ code: String) {
            files.append(SampleFile(name: name, dataset: dataset, body: Array(body.utf8), expected: .rejected(code: code)))
        }
        reject("unknown/notes.txt", nil, "these are not data\n", "UnknownDataset")
        reject("telemetry/st-01/empty.csv", "telemetry", "", "EmptyFile")
        reject("telemetry/st-02/readings-20240502.csv.bak", "telemetry", Self.telemetryHeader + "st-02,1,2024-05-02T00:00:00Z,1.0,true\n", "ExtensionNotAllowed")
        reject("telemetry/st-01/readings-20240503.csv.gz", "telemetry", Self.telemetryHeader + "st-01,1,2024-05-03T00:00:00Z,1.0,true\n", "CompressionMismatch")
        reject(
            "totesys/sales_order/000999-20240601000000.jsonl", "totesys",
            #"{"sales_order_id": 999, "units_sold": 10, "created_at": "2024-06-01T00:00:00Z"}"# + "\n", "MissingRequiredField")
        reject("ukhsa/timeseries/infectious_disease/broken.json", "ukhsa_timeseries", #"{"metric": "broken", "results": [{"geography": "#, "UnreadableSample")
    }
}

extension String {
    /// `2024-05-02` → `2024.05.02` (the `{field:day}` index-name form).
    fileprivate var replacingDashes: String { String(map { $0 == "-" ? "." : $0 }) }
}
