import JSONCodec
package import Parquet

/// The columns kept of one source table, in a fixed order: read from each extract line, and
/// stored in its state object. The key comes first.
package struct SourceLayout: Sendable, Hashable {
    package let name: String
    package let key: String
    package let columns: [String]

    package init(name: String, key: String, columns: [String]) {
        self.name = name
        self.key = key
        self.columns = columns
    }

    package func slot(of column: String) -> Int? { columns.firstIndex(of: column) }
}

/// The latest row of each key of one source table: what dimensions and lookups are built from.
/// Held in memory whole (dimension sources are small); saved as a JSON-lines state object.
package struct SourceState: Sendable, Hashable {
    package let layout: SourceLayout
    package private(set) var rows: [String: [SourceValue]] = [:]
    /// The id of the extract each row came from, where known (saved as `_extract`).
    package private(set) var extracts: [String: Int64] = [:]

    /// The name under which a row's extract id is saved in the state object.
    package static let extractField = "_extract"

    package init(layout: SourceLayout) { self.layout = layout }

    /// Keeps `row` as the latest version of its key (a row without a key is refused). With
    /// `extract`, a row of an older extract than the one already kept for the key is ignored: an
    /// extract that arrives late never brings back an outdated version.
    package mutating func upsert(_ row: [SourceValue], extract: Int64? = nil) throws(StarSchemaError) {
        guard let key = row[0].keyText else {
            throw StarSchemaError(.missingValue, "a \(layout.name) row without its key", column: layout.key)
        }
        if let extract, let kept = extracts[key], kept > extract { return }
        rows[key] = row
        if let extract { extracts[key] = extract } else { extracts[key] = nil }
    }

    package func row(forKey key: String) -> [SourceValue]? { rows[key] }

    /// The keys in order: numerically when both are integers, else by their text.
    package var sortedKeys: [String] {
        rows.keys.sorted { a, b in
            switch (Int64(a), Int64(b)) {
            case (let x?, let y?): x < y
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): a < b
            }
        }
    }

    /// The state as JSON lines, one object per key in key order.
    package func jsonLines() -> [UInt8] {
        var out: [UInt8] = []
        for key in sortedKeys {
            let row = rows[key]!
            var object = JSONObject()
            for (index, column) in layout.columns.enumerated() { object.append(column, row[index].json) }
            if let extract = extracts[key] { object.append(Self.extractField, .number(extract)) }
            JSONWriter.write(.object(object), to: &out)
            out.append(0x0A)
        }
        return out
    }

    /// Reads a state object back. Columns the layout has gained since it was written read as null.
    /// - Throws: `StarSchemaError.invalidState` naming the line.
    package static func parse(_ bytes: [UInt8], layout: SourceLayout) throws(StarSchemaError) -> SourceState {
        var state = SourceState(layout: layout)
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            lineNumber += 1
            let line = bytes[start..<end]
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            guard let object = (try? JSONParser.parse(line))?.objectValue else {
                throw StarSchemaError(.invalidState, "the state of \(layout.name) is not JSON lines of objects", line: lineNumber)
            }
            let row = layout.columns.map { SourceValue(object[$0] ?? .null) }
            do {
                try state.upsert(row, extract: object[Self.extractField]?.int64Value)
            } catch {
                throw error.at(line: lineNumber)
            }
        }
        return state
    }
}

/// One output table, compiled: its Parquet schema and where each value comes from.
package struct TablePlan: Sendable {
    enum Getter: Sendable {
        case slot(Int)
        case lookup(index: Int, slot: Int)
    }

    struct LookupPlan: Sendable {
        var table: String
        var onSlot: Int
        var layout: SourceLayout
    }

    package let table: OutputTable
    package let schema: ParquetSchema
    let getters: [Getter]
    let maps: [ValueMap?]
    let lookups: [LookupPlan]

    /// The source tables whose state this plan reads (its source for a dimension, and its lookups').
    package var statesRead: [String] {
        var names = table.kind == .dimension ? [table.source] : []
        for lookup in lookups where !names.contains(lookup.table) { names.append(lookup.table) }
        return names
    }

    /// Indices of the output's date columns.
    package var dateColumnIndices: [Int] {
        schema.columns.indices.filter { schema.columns[$0].type == .date }
    }

    /// The output row for one source row (in its layout's order).
    /// - Parameters:
    ///   - surrogate: the fact row's number, for a table with a surrogate key.
    ///   - states: the lookup tables' states by source name.
    /// - Throws: `StarSchemaError` naming the table and column.
    package func row(_ source: [SourceValue], surrogate: Int64? = nil, states: [String: SourceState]) throws(StarSchemaError)
        -> [ParquetValue]
    {
        var found: [[SourceValue]?] = []
        found.reserveCapacity(lookups.count)
        for lookup in lookups {
            if let key = source[lookup.onSlot].keyText {
                found.append(states[lookup.table]?.row(forKey: key))
            } else {
                found.append(nil)
            }
        }
        var out: [ParquetValue] = []
        out.reserveCapacity(schema.columns.count)
        if table.surrogateKey != nil { out.append(.int64(surrogate ?? 0)) }
        for (index, column) in table.columns.enumerated() {
            var value: SourceValue
            switch getters[index] {
            case .slot(let slot): value = source[slot]
            case .lookup(let lookup, let slot): value = found[lookup]?[slot] ?? .null
            }
            if let map = maps[index], let text = value.text {
                value = (map.entries[text] ?? map.fallback).map(SourceValue.string) ?? .null
            }
            if case .null = value, column.required {
                throw StarSchemaError(.missingValue, "a null in a required column", table: table.name, column: column.name)
            }
            do {
                out.append(try Cast.value(value, to: column.type, column: column.name))
            } catch {
                var placed = error
                placed.table = table.name
                throw placed
            }
        }
        return out
    }

    /// Every row of a dimension, from the states (its source's, in key order, and its lookups').
    package func dimensionRows(states: [String: SourceState]) throws(StarSchemaError) -> [[ParquetValue]] {
        guard let state = states[table.source] else {
            throw StarSchemaError(.invalidState, "the state of \(table.source) was not loaded", table: table.name)
        }
        var rows: [[ParquetValue]] = []
        rows.reserveCapacity(state.rows.count)
        for key in state.sortedKeys {
            rows.append(try row(state.rows[key]!, states: states))
        }
        return rows
    }
}

/// A specification compiled for use: the layout of every source table and a plan per output table.
package struct StarSchemaEngine: Sendable {
    package let spec: StarSchemaSpec
    package let layouts: [String: SourceLayout]
    package let plans: [TablePlan]

    /// - Throws: `StarSchemaError.invalidSpecification` when a column type cannot be written.
    package init(spec: StarSchemaSpec) throws(StarSchemaError) {
        self.spec = spec
        var columns: [String: [String]] = [:]
        for source in spec.sources { columns[source.name] = [source.key] }
        func need(_ source: String, _ column: String) {
            if !columns[source, default: []].contains(column) { columns[source, default: []].append(column) }
        }
        for table in spec.tables where table.kind != .date {
            for lookup in table.lookups { need(table.source, lookup.on) }
            for column in table.columns {
                switch column.source {
                case .column(let name): need(table.source, name)
                case .lookup(let name, let target):
                    need(table.lookups.first { $0.name == name }!.table, target)
                }
            }
        }
        var layouts: [String: SourceLayout] = [:]
        for source in spec.sources {
            layouts[source.name] = SourceLayout(name: source.name, key: source.key, columns: columns[source.name]!)
        }
        self.layouts = layouts
        var plans: [TablePlan] = []
        for table in spec.tables {
            plans.append(try Self.compile(table, spec: spec, layouts: layouts))
        }
        self.plans = plans
    }

    private static func compile(_ table: OutputTable, spec: StarSchemaSpec, layouts: [String: SourceLayout])
        throws(StarSchemaError) -> TablePlan
    {
        var parquetColumns: [ParquetColumn] = []
        if let surrogate = table.surrogateKey { parquetColumns.append(ParquetColumn(surrogate, .int64, nullable: false)) }
        for column in table.columns {
            let type: ParquetType
            switch column.type {
            case .int64: type = .int64
            case .int32: type = .int32
            case .double: type = .double
            case .string, .time: type = .string
            case .bool: type = .boolean
            case .date: type = .date
            case .timestamp: type = .timestampMillis
            case .decimal(let precision, let scale): type = .decimal(precision: precision, scale: scale)
            }
            parquetColumns.append(ParquetColumn(column.name, type, nullable: !column.required))
        }
        let schema: ParquetSchema
        do {
            schema = try ParquetSchema(parquetColumns)
        } catch {
            throw StarSchemaError(.invalidSpecification, "tables.\(table.name): \(error)")
        }
        guard table.kind != .date else { return TablePlan(table: table, schema: schema, getters: [], maps: [], lookups: []) }
        let layout = layouts[table.source]!
        let lookups = table.lookups.map {
            TablePlan.LookupPlan(table: $0.table, onSlot: layout.slot(of: $0.on)!, layout: layouts[$0.table]!)
        }
        let getters: [TablePlan.Getter] = table.columns.map { column in
            switch column.source {
            case .column(let name): return .slot(layout.slot(of: name)!)
            case .lookup(let name, let target):
                let index = table.lookups.firstIndex { $0.name == name }!
                return .lookup(index: index, slot: lookups[index].layout.slot(of: target)!)
            }
        }
        let maps = table.columns.map { column in column.map.flatMap { spec.valueMaps[$0] } }
        return TablePlan(table: table, schema: schema, getters: getters, maps: maps, lookups: lookups)
    }

    package func plan(named name: String) -> TablePlan? { plans.first { $0.table.name == name } }

    /// Fact tables built from `source`.
    package func factPlans(from source: String) -> [TablePlan] {
        plans.filter { $0.table.kind == .fact && $0.table.source == source }
    }

    /// Dimensions to rewrite when `source` changes.
    package func dimensionPlans(touchedBy source: String) -> [TablePlan] {
        let names = spec.dimensions(touchedBy: source).map(\.name)
        return plans.filter { names.contains($0.table.name) }
    }

    /// The date dimension's plan, if any.
    package var datePlan: TablePlan? { plans.first { $0.table.kind == .date } }

    /// For each fact plan of `source`: the indices of its columns whose dates the date dimension covers.
    package func referencedDateColumns(of plan: TablePlan) -> [Int] {
        guard let date = spec.dateDimension else { return [] }
        if date.references.isEmpty { return plan.table.kind == .fact ? plan.dateColumnIndices : [] }
        return date.references.filter { $0.table == plan.table.name }.compactMap { reference in
            plan.schema.index(of: reference.column)
        }
    }

    /// Whether the latest rows of `source` are kept as state.
    package func keepsState(of source: String) -> Bool { spec.statefulSources.contains(source) }
}
