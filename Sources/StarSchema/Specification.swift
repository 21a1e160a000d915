import JSONCodec

/// The analysts' star-schema specification: a JSON document that names the source tables (and
/// the key of each), static value maps, and every output table with its columns.
///
/// ```json
/// {"name": "totesys",
///  "sources": {"staff": {"key": "staff_id"}, "department": {"key": "department_id"}},
///  "valueMaps": {"currency_name": {"GBP": "British Pound"}},
///  "tables": {
///    "fact_sales_order": {"kind": "fact", "source": "sales_order", "surrogateKey": "sales_record_id",
///                         "columns": [{"name": "created_date", "from": "created_at", "type": "date"}]},
///    "dim_staff": {"kind": "dimension", "source": "staff",
///                  "lookups": {"department": {"table": "department", "on": "department_id"}},
///                  "columns": [{"name": "department_name", "from": "department.department_name", "type": "string"}]},
///    "dim_date": {"kind": "date"}}}
/// ```
///
/// - `kind`: `fact` (one row per source row version, one file per extract), `dimension` (the
///   latest version of each source key, rewritten whole when touched) or `date` (a generated date
///   dimension over every date the facts reference, or over the `references` listed).
/// - Column `from`: a source column, or `<lookup>.<column>` for a column of the row a lookup finds.
///   `map` names a value map applied to the text before the cast (`default` for unmapped values;
///   without one they become null). `required: true` refuses nulls.
/// - Column `type`: `int`, `int32`, `decimal(p,s)`, `double`, `string`, `bool`, `date`,
///   `timestamp`, or `time` (the time of day of a timestamp, as `HH:mm:ss.SSS` text); `date` applied
///   to a timestamp takes its (UTC) date, which is how a timestamp is split into a date and a time.
package struct StarSchemaSpec: Sendable, Hashable {
    package var name: String
    /// Source tables by name, in document order.
    package var sources: [SourceTable]
    package var valueMaps: [String: ValueMap]
    /// Output tables, in document order.
    package var tables: [OutputTable]

    package init(name: String, sources: [SourceTable], valueMaps: [String: ValueMap], tables: [OutputTable]) {
        self.name = name
        self.sources = sources
        self.valueMaps = valueMaps
        self.tables = tables
    }

    package func source(named name: String) -> SourceTable? { sources.first { $0.name == name } }
    package func table(named name: String) -> OutputTable? { tables.first { $0.name == name } }
}

/// A table of the operational database, as extracted.
package struct SourceTable: Sendable, Hashable {
    package var name: String
    /// The column that identifies a row (its versions share it).
    package var key: String
}

/// A static map from source text to output text (currency codes to names).
package struct ValueMap: Sendable, Hashable {
    package var entries: [String: String]
    /// What an unmapped value becomes (nil: a null).
    package var fallback: String?
}

/// One output table of the star schema.
package struct OutputTable: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable {
        case fact, dimension, date
    }

    package var name: String
    package var kind: Kind
    /// The source table (not for `date`).
    package var source: String
    package var lookups: [Lookup]
    /// The generated first column numbering fact rows (1, 2, …) across every extract.
    package var surrogateKey: String?
    package var columns: [OutputColumn]
    /// For `date`: the `table.column` pairs whose dates it covers (empty: every date column of
    /// every fact table).
    package var references: [ColumnReference]
}

/// A join from a table's source row to the latest row of another source table, by key.
package struct Lookup: Sendable, Hashable {
    package var name: String
    /// The source table looked into (by its key).
    package var table: String
    /// The column of the primary source row holding the key.
    package var on: String
}

/// `table.column`.
package struct ColumnReference: Sendable, Hashable {
    package var table: String
    package var column: String
}

/// Where an output column's value comes from.
package enum ColumnSource: Sendable, Hashable {
    /// A column of the primary source row.
    case column(String)
    /// A column of the row a lookup finds.
    case lookup(name: String, column: String)
}

/// The types an output column can have.
package enum ColumnType: Sendable, Hashable, CustomStringConvertible {
    case int64, int32, double, string, bool, date, timestamp
    /// The time of day of a timestamp, as `HH:mm:ss.SSS` text.
    case time
    case decimal(precision: Int, scale: Int)

    /// Parses `int`, `int32`, `decimal(10,2)`, `double`, `string`, `bool`, `date`, `timestamp`, `time`.
    package init?(_ text: String) {
        switch text {
        case "int", "int64", "integer", "bigint": self = .int64
        case "int32": self = .int32
        case "double", "float": self = .double
        case "string", "text": self = .string
        case "bool", "boolean": self = .bool
        case "date": self = .date
        case "timestamp": self = .timestamp
        case "time": self = .time
        default:
            guard text.hasPrefix("decimal("), text.hasSuffix(")") else { return nil }
            let inner = text.dropFirst("decimal(".count).dropLast()
            let parts = inner.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2, let precision = Int(parts[0].filter { $0 != " " }),
                let scale = Int(parts[1].filter { $0 != " " }), (1...38).contains(precision), (0...precision).contains(scale)
            else { return nil }
            self = .decimal(precision: precision, scale: scale)
        }
    }

    package var description: String {
        switch self {
        case .int64: "int"
        case .int32: "int32"
        case .double: "double"
        case .string: "string"
        case .bool: "bool"
        case .date: "date"
        case .timestamp: "timestamp"
        case .time: "time"
        case .decimal(let precision, let scale): "decimal(\(precision),\(scale))"
        }
    }
}

/// One output column.
package struct OutputColumn: Sendable, Hashable {
    package var name: String
    package var source: ColumnSource
    package var type: ColumnType
    /// The value map applied to the source text before the cast.
    package var map: String?
    package var required: Bool
}

// MARK: - Parsing

extension StarSchemaSpec {
    /// Reads and checks a specification; every problem names the path of the field at fault.
    /// - Throws: `StarSchemaError` `.malformedSpecification` or `.invalidSpecification`.
    package static func parse(_ bytes: [UInt8]) throws(StarSchemaError) -> StarSchemaSpec {
        let document: JSON
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw StarSchemaError(.malformedSpecification, "the star-schema specification is not valid JSON: \(error)")
        }
        return try SpecReader(document: document).read()
    }

    /// The output tables of `kind` whose primary source is `source`.
    package func tables(_ kind: OutputTable.Kind, from source: String) -> [OutputTable] {
        tables.filter { $0.kind == kind && $0.source == source }
    }

    /// Dimensions that must be rewritten when `source` changes: those built from it or looking into it.
    package func dimensions(touchedBy source: String) -> [OutputTable] {
        tables.filter { $0.kind == .dimension && ($0.source == source || $0.lookups.contains { $0.table == source }) }
    }

    /// Source tables whose latest rows are kept as state: every dimension's source and every
    /// lookup's table.
    package var statefulSources: [String] {
        var names: [String] = []
        for table in tables where table.kind != .date {
            if table.kind == .dimension, !names.contains(table.source) { names.append(table.source) }
            for lookup in table.lookups where !names.contains(lookup.table) { names.append(lookup.table) }
        }
        return names
    }

    /// The date dimension, if the specification has one.
    package var dateDimension: OutputTable? { tables.first { $0.kind == .date } }
}

private struct SpecReader {
    let document: JSON

    func fail(_ path: String, _ detail: String) -> StarSchemaError {
        StarSchemaError(.invalidSpecification, "\(path): \(detail)")
    }

    func object(_ value: JSON?, _ path: String) throws(StarSchemaError) -> JSONObject {
        guard let object = value?.objectValue else {
            throw fail(path, value == nil ? "is required" : "must be an object, not \(value!.kindName)")
        }
        return object
    }

    func string(_ value: JSON?, _ path: String) throws(StarSchemaError) -> String {
        guard let text = value?.stringValue, !text.isEmpty else { throw fail(path, "must be a non-empty string") }
        return text
    }

    func optionalString(_ value: JSON?, _ path: String) throws(StarSchemaError) -> String? {
        guard let value, !value.isNull else { return nil }
        return try string(value, path)
    }

    func read() throws(StarSchemaError) -> StarSchemaSpec {
        let root = try object(document, "specification")
        let name = try string(root["name"], "name")

        var sources: [SourceTable] = []
        for member in try object(root["sources"], "sources") {
            let path = "sources.\(member.key)"
            let body = try object(member.value, path)
            sources.append(SourceTable(name: member.key, key: try string(body["key"], "\(path).key")))
        }
        guard !sources.isEmpty else { throw fail("sources", "must name at least one source table") }

        var maps: [String: ValueMap] = [:]
        if let raw = root["valueMaps"], !raw.isNull {
            for member in try object(raw, "valueMaps") {
                let path = "valueMaps.\(member.key)"
                var entries: [String: String] = [:]
                var fallback: String?
                for entry in try object(member.value, path) {
                    if entry.key == "$default" {
                        fallback = try string(entry.value, "\(path).$default")
                    } else {
                        entries[entry.key] = try string(entry.value, "\(path).\(entry.key)")
                    }
                }
                maps[member.key] = ValueMap(entries: entries, fallback: fallback)
            }
        }

        var tables: [OutputTable] = []
        for member in try object(root["tables"], "tables") {
            tables.append(try table(member.key, member.value, sources: sources, maps: maps))
        }
        guard !tables.isEmpty else { throw fail("tables", "must define at least one output table") }
        let dates = tables.filter { $0.kind == .date }
        guard dates.count <= 1 else { throw fail("tables.\(dates[1].name)", "only one date dimension is allowed") }
        if let date = dates.first {
            for (index, reference) in date.references.enumerated() {
                let path = "tables.\(date.name).references[\(index)]"
                guard let target = tables.first(where: { $0.name == reference.table }), target.kind != .date else {
                    throw fail(path, "names no fact or dimension table '\(reference.table)'")
                }
                guard let column = target.columns.first(where: { $0.name == reference.column }), column.type == .date else {
                    throw fail(path, "'\(reference.table)' has no date column '\(reference.column)'")
                }
            }
        }
        return StarSchemaSpec(name: name, sources: sources, valueMaps: maps, tables: tables)
    }

    func table(_ name: String, _ value: JSON, sources: [SourceTable], maps: [String: ValueMap]) throws(StarSchemaError)
        -> OutputTable
    {
        let path = "tables.\(name)"
        let body = try object(value, path)
        let kindText = try string(body["kind"], "\(path).kind")
        guard let kind = OutputTable.Kind(rawValue: kindText) else {
            throw fail("\(path).kind", "must be fact, dimension or date, not '\(kindText)'")
        }
        if kind == .date {
            var references: [ColumnReference] = []
            if let raw = body["references"], !raw.isNull {
                guard let list = raw.arrayValue else { throw fail("\(path).references", "must be an array of \"table.column\"") }
                for (index, item) in list.enumerated() {
                    let text = try string(item, "\(path).references[\(index)]")
                    let parts = text.split(separator: ".", maxSplits: 1)
                    guard parts.count == 2 else { throw fail("\(path).references[\(index)]", "must read \"table.column\"") }
                    references.append(ColumnReference(table: String(parts[0]), column: String(parts[1])))
                }
            }
            return OutputTable(
                name: name, kind: .date, source: "", lookups: [], surrogateKey: nil, columns: DateDimension.columns,
                references: references)
        }
        let source = try string(body["source"], "\(path).source")
        guard sources.contains(where: { $0.name == source }) else {
            throw fail("\(path).source", "names no table of \"sources\": '\(source)'")
        }
        var lookups: [Lookup] = []
        if let raw = body["lookups"], !raw.isNull {
            for member in try object(raw, "\(path).lookups") {
                let lookupPath = "\(path).lookups.\(member.key)"
                let lookupBody = try object(member.value, lookupPath)
                let table = try string(lookupBody["table"], "\(lookupPath).table")
                guard sources.contains(where: { $0.name == table }) else {
                    throw fail("\(lookupPath).table", "names no table of \"sources\": '\(table)'")
                }
                guard !member.key.contains(".") else { throw fail(lookupPath, "a lookup name cannot hold a '.'") }
                lookups.append(Lookup(name: member.key, table: table, on: try string(lookupBody["on"], "\(lookupPath).on")))
            }
        }
        let surrogateKey = try optionalString(body["surrogateKey"], "\(path).surrogateKey")
        if surrogateKey != nil, kind != .fact {
            throw fail("\(path).surrogateKey", "only fact tables number their rows")
        }
        guard let list = body["columns"]?.arrayValue, !list.isEmpty else {
            throw fail("\(path).columns", "must be a non-empty array of columns")
        }
        var columns: [OutputColumn] = []
        var names = Set<String>()
        if let surrogateKey { names.insert(surrogateKey) }
        for (index, item) in list.enumerated() {
            let columnPath = "\(path).columns[\(index)]"
            let columnBody = try object(item, columnPath)
            let columnName = try string(columnBody["name"], "\(columnPath).name")
            guard names.insert(columnName).inserted else { throw fail("\(columnPath).name", "'\(columnName)' appears twice") }
            let from = try optionalString(columnBody["from"], "\(columnPath).from") ?? columnName
            let columnSource: ColumnSource
            if let dot = from.firstIndex(of: "."), let lookup = lookups.first(where: { $0.name == from[..<dot] }) {
                columnSource = .lookup(name: lookup.name, column: String(from[from.index(after: dot)...]))
            } else {
                columnSource = .column(from)
            }
            let typeText = try string(columnBody["type"], "\(columnPath).type")
            guard let type = ColumnType(typeText) else {
                throw fail(
                    "\(columnPath).type",
                    "'\(typeText)' is not int, int32, decimal(p,s), double, string, bool, date, timestamp or time")
            }
            let map = try optionalString(columnBody["map"], "\(columnPath).map")
            if let map, maps[map] == nil { throw fail("\(columnPath).map", "names no value map '\(map)'") }
            var required = false
            if let raw = columnBody["required"], !raw.isNull {
                guard let flag = raw.boolValue else { throw fail("\(columnPath).required", "must be true or false") }
                required = flag
            }
            columns.append(OutputColumn(name: columnName, source: columnSource, type: type, map: map, required: required))
        }
        return OutputTable(
            name: name, kind: kind, source: source, lookups: lookups, surrogateKey: surrogateKey, columns: columns,
            references: [])
    }
}
