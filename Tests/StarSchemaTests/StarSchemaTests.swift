import Foundation
import JSONCodec
import Parquet
import Primitives
import StarSchema
import Testing

func fixtureBytes(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return Array(try Data(contentsOf: url))
}

/// The Totesys example shipped in the repository (infra/star-schema/totesys.json).
func totesysSpec() throws -> StarSchemaSpec {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let bytes = Array(try Data(contentsOf: root.appendingPathComponent("infra/star-schema/totesys.json")))
    return try StarSchemaSpec.parse(bytes)
}

/// A source row in a layout's order, from a JSON line.
func sourceRow(_ layout: SourceLayout, _ line: String) throws -> [SourceValue] {
    let object = try #require(try JSONParser.parse(line).objectValue)
    return layout.columns.map { SourceValue(object[$0] ?? .null) }
}

func days(_ text: String) -> Int32 { Temporal.days(text)! }

@Suite("Star-schema specification")
struct SpecificationTests {
    @Test("The Totesys example defines every table the analysts asked for")
    func totesysTables() throws {
        let spec = try totesysSpec()
        #expect(spec.name == "totesys")
        let names = Set(spec.tables.map(\.name))
        for required in [
            "fact_sales_order", "dim_staff", "dim_location", "dim_design", "dim_currency", "dim_counterparty", "dim_date",
            "fact_payment", "fact_purchase_order", "dim_payment_type", "dim_transaction",
        ] {
            #expect(names.contains(required), "missing \(required)")
        }
        let fact = try #require(spec.table(named: "fact_sales_order"))
        #expect(fact.kind == .fact)
        #expect(fact.surrogateKey == "sales_record_id")
        #expect(fact.columns.map(\.name) == [
            "sales_order_id", "created_date", "created_time", "last_updated_date", "last_updated_time", "sales_staff_id",
            "counterparty_id", "units_sold", "unit_price", "currency_id", "design_id", "agreed_payment_date",
            "agreed_delivery_date", "agreed_delivery_location_id",
        ])
        #expect(fact.columns.first { $0.name == "unit_price" }?.type == .decimal(precision: 10, scale: 2))
        #expect(spec.dimensions(touchedBy: "address").map(\.name).sorted() == ["dim_counterparty", "dim_location"])
        #expect(spec.dimensions(touchedBy: "department").map(\.name) == ["dim_staff"])
        #expect(Set(spec.statefulSources).isSuperset(of: ["staff", "department", "address", "counterparty", "currency"]))
        #expect(!spec.statefulSources.contains("sales_order"))
        _ = try StarSchemaEngine(spec: spec)
    }

    @Test(
        "A broken specification names the field at fault",
        arguments: [
            ("invalid-unknown-source.json", "tables.dim_staff.source"),
            ("invalid-type.json", "tables.dim_staff.columns[1].type"),
            ("invalid-lookup.json", "tables.dim_staff.lookups.department.table"),
            ("invalid-duplicate-column.json", "tables.dim_staff.columns[1].name"),
            ("invalid-map.json", "tables.dim_currency.columns[0].map"),
            ("invalid-date-reference.json", "tables.dim_date.references[0]"),
            ("invalid-surrogate-on-dimension.json", "tables.dim_staff.surrogateKey"),
        ])
    func brokenSpecification(file: String, path: String) throws {
        let bytes = try fixtureBytes(file)
        #expect {
            try StarSchemaSpec.parse(bytes)
        } throws: { error in
            guard let error = error as? StarSchemaError else { return false }
            return error.code == .invalidSpecification && error.detail.hasPrefix(path + ":")
        }
    }

    @Test("A specification that is not JSON is reported as malformed")
    func malformed() throws {
        let bytes = try fixtureBytes("malformed.json")
        #expect(throws: StarSchemaError.self) { try StarSchemaSpec.parse(bytes) }
        do {
            _ = try StarSchemaSpec.parse(bytes)
        } catch {
            #expect(error.code == .malformedSpecification)
        }
    }

    @Test("Column types parse, including decimals at the edges of precision")
    func columnTypes() {
        #expect(ColumnType("int") == .int64)
        #expect(ColumnType("decimal(10,2)") == .decimal(precision: 10, scale: 2))
        #expect(ColumnType("decimal(38, 38)") == .decimal(precision: 38, scale: 38))
        #expect(ColumnType("decimal(39,2)") == nil)
        #expect(ColumnType("decimal(5,6)") == nil)
        #expect(ColumnType("decimal(10)") == nil)
        #expect(ColumnType("varchar") == nil)
    }
}

@Suite("Star-schema transformation")
struct TransformationTests {
    @Test("A sales order becomes a fact row: timestamps split into dates and times, decimals exact, ids renamed")
    func factRow() throws {
        let engine = try StarSchemaEngine(spec: try totesysSpec())
        let plan = try #require(engine.plan(named: "fact_sales_order"))
        let layout = try #require(engine.layouts["sales_order"])
        let row = try sourceRow(
            layout,
            #"{"sales_order_id": 2, "created_at": "2022-11-03T14:20:52.186000", "last_updated": "2022-11-04 09:01:02.5", "design_id": 3, "staff_id": 19, "counterparty_id": 8, "units_sold": 42972, "unit_price": 3.94, "currency_id": 2, "agreed_delivery_date": "2022-11-07", "agreed_payment_date": "2022-11-08", "agreed_delivery_location_id": 8}"#
        )
        let values = try plan.row(row, surrogate: 17, states: [:])
        #expect(plan.schema.columns.map(\.name).first == "sales_record_id")
        #expect(values == [
            .int64(17), .int64(2), .date(daysSinceEpoch: days("2022-11-03")), .string("14:20:52.186"),
            .date(daysSinceEpoch: days("2022-11-04")), .string("09:01:02.500"), .int64(19), .int64(8), .int64(42972),
            .decimalText("3.94"), .int64(2), .int64(3), .date(daysSinceEpoch: days("2022-11-08")),
            .date(daysSinceEpoch: days("2022-11-07")), .int64(8),
        ])
        #expect(engine.referencedDateColumns(of: plan) == [2, 4, 12, 13])
    }

    @Test("A dimension joins its lookup's latest row and maps static values; the latest version of each key wins")
    func dimensionWithLookups() throws {
        let engine = try StarSchemaEngine(spec: try totesysSpec())
        var staff = SourceState(layout: engine.layouts["staff"]!)
        var department = SourceState(layout: engine.layouts["department"]!)
        try department.upsert(try sourceRow(department.layout, #"{"department_id": 1, "department_name": "Sales", "location": "Manchester"}"#))
        try department.upsert(try sourceRow(department.layout, #"{"department_id": 2, "department_name": "Purchasing", "location": "Leeds"}"#))
        try staff.upsert(try sourceRow(staff.layout, #"{"staff_id": 10, "first_name": "Zoë", "last_name": "Ødegaard", "department_id": 2, "email_address": "zoe@terrifictotes.com"}"#))
        try staff.upsert(try sourceRow(staff.layout, #"{"staff_id": 9, "first_name": "Jeremie", "last_name": "Franey", "department_id": 1, "email_address": "jeremie@terrifictotes.com"}"#))
        try staff.upsert(try sourceRow(staff.layout, #"{"staff_id": 9, "first_name": "Jérémie", "last_name": "Franey", "department_id": 7, "email_address": "jeremie@terrifictotes.com"}"#))
        let plan = try #require(engine.plan(named: "dim_staff"))
        #expect(plan.statesRead == ["staff", "department"])
        let rows = try plan.dimensionRows(states: ["staff": staff, "department": department])
        #expect(rows == [
            [.int64(9), .string("Jérémie"), .string("Franey"), .null, .null, .string("jeremie@terrifictotes.com")],
            [.int64(10), .string("Zoë"), .string("Ødegaard"), .string("Purchasing"), .string("Leeds"), .string("zoe@terrifictotes.com")],
        ])

        var currency = SourceState(layout: engine.layouts["currency"]!)
        try currency.upsert(try sourceRow(currency.layout, #"{"currency_id": 1, "currency_code": "GBP"}"#))
        try currency.upsert(try sourceRow(currency.layout, #"{"currency_id": "2", "currency_code": "USD"}"#))
        try currency.upsert(try sourceRow(currency.layout, #"{"currency_id": 3, "currency_code": "JPY"}"#))
        let currencies = try #require(engine.plan(named: "dim_currency")).dimensionRows(states: ["currency": currency])
        #expect(currencies == [
            [.int64(1), .string("GBP"), .string("British Pound")], [.int64(2), .string("USD"), .string("US Dollar")],
            [.int64(3), .string("JPY"), .null],
        ])
    }

    @Test("Nulls and absent members are nulls in every type; a required column refuses them")
    func nulls() throws {
        let spec = try StarSchemaSpec.parse(Array(#"""
            {"name": "t", "sources": {"s": {"key": "id"}}, "tables": {"f": {"kind": "fact", "source": "s", "columns": [
              {"name": "id", "type": "int", "required": true}, {"name": "i32", "type": "int32"}, {"name": "d", "type": "double"},
              {"name": "dec", "type": "decimal(38,10)"}, {"name": "s", "type": "string"}, {"name": "b", "type": "bool"},
              {"name": "day", "type": "date"}, {"name": "ts", "type": "timestamp"}, {"name": "tm", "from": "ts", "type": "time"}]}}}
            """#.utf8))
        let engine = try StarSchemaEngine(spec: spec)
        let plan = try #require(engine.plan(named: "f"))
        let layout = engine.layouts["s"]!
        let values = try plan.row(try sourceRow(layout, #"{"id": 1, "i32": null, "d": null, "dec": null, "s": null, "b": null, "day": null}"#), states: [:])
        #expect(values == [.int64(1)] + Array(repeating: ParquetValue.null, count: 8))
        #expect(plan.schema.columns.map(\.nullable) == [false, true, true, true, true, true, true, true, true])
        #expect {
            try plan.row(try sourceRow(layout, #"{"id": null}"#), states: [:])
        } throws: { error in
            (error as? StarSchemaError).map { $0.code == .missingValue && $0.column == "id" && $0.table == "f" } ?? false
        }
    }

    @Test("A value that cannot be cast names its table and column, never the value")
    func castFailures() throws {
        let engine = try StarSchemaEngine(spec: try totesysSpec())
        let plan = try #require(engine.plan(named: "fact_sales_order"))
        let layout = engine.layouts["sales_order"]!
        let cases: [(String, StarSchemaError.Code, String)] = [
            (#"{"sales_order_id": 1, "units_sold": "SECRET-many"}"#, .typeMismatch, "units_sold"),
            (#"{"sales_order_id": 1, "created_at": "SECRET-yesterday"}"#, .invalidTemporal, "created_date"),
            (#"{"sales_order_id": 1, "agreed_delivery_date": "2022-13-01"}"#, .invalidTemporal, "agreed_delivery_date"),
            (#"{"sales_order_id": 1, "unit_price": {"amount": 1}}"#, .typeMismatch, "unit_price"),
            (#"{"sales_order_id": 1.5}"#, .typeMismatch, "sales_order_id"),
        ]
        for (line, code, column) in cases {
            do {
                _ = try plan.row(try sourceRow(layout, line), surrogate: 1, states: [:])
                Issue.record("\(line) was accepted")
            } catch let error as StarSchemaError {
                #expect(error.code == code, "\(line)")
                #expect(error.column == column, "\(line)")
                #expect(error.table == "fact_sales_order")
                #expect(!error.description.contains("SECRET"))
            }
        }
    }

    @Test("Timestamps with a T or a space, any fraction, and with or without a zone (UTC when none)")
    func timestamps() {
        let base = Temporal.timestamp("2022-11-03T14:20:49.962Z")!
        #expect(Temporal.timestamp("2022-11-03T14:20:49.962000") == base)
        #expect(Temporal.timestamp("2022-11-03 14:20:49.962") == base)
        #expect(Temporal.timestamp("2022-11-03T15:20:49.962+01:00") == base)
        #expect(Temporal.timestamp("2022-11-03") == nil)
        #expect(Temporal.days("2022-11-03T23:59:59.999") == Temporal.days("2022-11-03"))
        #expect(Temporal.days("2022-11-04T00:30:00+02:00") == Temporal.days("2022-11-03"))
        #expect(Temporal.days("1969-12-31") == -1)
        #expect(Temporal.timeOfDay("2022-11-03 14:20:49") == "14:20:49.000")
        #expect(Temporal.timeOfDay("07:05:03.25") == "07:05:03.250")
        #expect(Temporal.timeOfDay("25:00:00") == nil)
    }
}

@Suite("Date dimension and state")
struct DateDimensionAndStateTests {
    @Test("Date rows carry the year, month, day, ISO weekday, names and quarter, computed by hand")
    func dateRows() {
        #expect(DateDimension.row(days("2022-11-03")) == [
            .date(daysSinceEpoch: days("2022-11-03")), .int32(2022), .int32(11), .int32(3), .int32(4), .string("Thursday"),
            .string("November"), .int32(4),
        ])
        #expect(DateDimension.row(days("2024-02-29"))[4...7] == [.int32(4), .string("Thursday"), .string("February"), .int32(1)])
        #expect(DateDimension.row(days("2023-01-01"))[4...5] == [.int32(7), .string("Sunday")])
        #expect(DateDimension.row(days("1969-12-29"))[4...5] == [.int32(1), .string("Monday")])
        #expect(DateDimension.row(days("2022-07-01"))[6...7] == [.string("July"), .int32(3)])
    }

    @Test("A row of an older extract never replaces the row of a newer one, also after a round trip")
    func stateKeepsNewerExtracts() throws {
        let layout = SourceLayout(name: "currency", key: "currency_id", columns: ["currency_id", "currency_code"])
        var state = SourceState(layout: layout)
        try state.upsert([.number("2"), .string("USD")], extract: 30)
        var back = try SourceState.parse(state.jsonLines(), layout: layout)
        try back.upsert([.number("2"), .string("US-OLD")], extract: 20)
        try back.upsert([.number("4"), .string("CHF")], extract: 20)
        #expect(back.row(forKey: "2") == [.number("2"), .string("USD")])
        #expect(back.row(forKey: "4") == [.number("4"), .string("CHF")])
        try back.upsert([.number("2"), .string("USD-NEW")], extract: 30)
        #expect(back.row(forKey: "2") == [.number("2"), .string("USD-NEW")])
        #expect(String(decoding: back.jsonLines(), as: UTF8.self).contains(#""_extract":30"#))
    }

    @Test("A source state survives a round trip through its JSON-lines object, keys in numeric order")
    func stateRoundTrip() throws {
        let layout = SourceLayout(name: "address", key: "address_id", columns: ["address_id", "city", "phone"])
        var state = SourceState(layout: layout)
        try state.upsert([.number("10"), .string("Zürich"), .null])
        try state.upsert([.number("9"), .string("Leeds \"North\"\n"), .string("0161")])
        try state.upsert([.string("9"), .string("Leeds"), .string("0161 496 0000")])
        let bytes = state.jsonLines()
        #expect(String(decoding: bytes, as: UTF8.self) == """
            {"address_id":"9","city":"Leeds","phone":"0161 496 0000"}
            {"address_id":10,"city":"Zürich","phone":null}

            """)
        let wider = SourceLayout(name: "address", key: "address_id", columns: ["address_id", "city", "phone", "country"])
        let back = try SourceState.parse(bytes, layout: wider)
        #expect(back.sortedKeys == ["9", "10"])
        #expect(back.row(forKey: "10") == [.number("10"), .string("Zürich"), .null, .null])
        #expect(throws: StarSchemaError.self) { try SourceState.parse(Array("{\"address_id\": 1}\nnot json\n".utf8), layout: layout) }
    }
}
