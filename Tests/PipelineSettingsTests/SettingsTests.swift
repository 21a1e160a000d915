import Foundation
import JSONCodec
import PipelineSettings
import Primitives
import Testing

func fixtureBytes(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return Array(try Data(contentsOf: url))
}

@Suite("Key patterns")
struct KeyPatternTests {
    @Test("Named parts are captured from a matching key")
    func captures() throws {
        let pattern = try KeyPattern("totesys/{table}/{sequence}-{timestamp}.jsonl")
        #expect(pattern.match("totesys/sales_order/42-20240501T120000.jsonl") == ["table": "sales_order", "sequence": "42", "timestamp": "20240501T120000"])
        #expect(pattern.match("totesys/sales_order/extra/42-1.jsonl") == nil)
        #expect(pattern.match("totesys/sales_order/42-1.jsonl.gz") == nil)
        #expect(pattern.partNames == ["table", "sequence", "timestamp"])
    }

    @Test(
        "A pattern of 94 '*' (found by fuzzing: it backtracked without end) answers at once for long keys",
        .timeLimit(.minutes(1)))
    func manyWildcardsDoNotBacktrackExponentially() throws {
        // The fuzz input's first line is the pattern (94 '*' and two stray bytes).
        let line = try fixtureBytes("fuzz/key-pattern-94-stars.txt").split(separator: 0x0A, omittingEmptySubsequences: false)[0]
        let pattern = try KeyPattern(String(decoding: line, as: UTF8.self))
        #expect(pattern.match(String(repeating: "-", count: 300)) == nil)
        #expect(pattern.match(String(repeating: "a/", count: 200) + "x.jsonl") == nil)
        let stars = try KeyPattern(String(repeating: "*", count: 94) + "x")
        #expect(stars.match(String(repeating: "-", count: 1024)) == nil)
        #expect(stars.match(String(repeating: "-", count: 1023) + "x") == [:])
        let parts = try KeyPattern((0..<10).map { "{p\($0)*}-" }.joined() + "end")
        #expect(parts.match(String(repeating: "a-", count: 150)) == nil)
        #expect(parts.match(String(repeating: "a-", count: 10) + "end")?["p9"] == "a")
        #expect(try KeyPattern("a/**/b").match("a/x/b") == [:])
        #expect(try KeyPattern("a/**/b").match("a/x/y/b") == nil)
    }

    @Test("A part may span slashes when marked with *, and * alone matches within a segment")
    func wildcards() throws {
        #expect(try KeyPattern("in/{rest*}").match("in/a/b/c.json") == ["rest": "a/b/c.json"])
        #expect(try KeyPattern("telemetry/{station}/*.csv*").match("telemetry/st-1/2024 05 01.csv.gz") == ["station": "st-1"])
        #expect(try KeyPattern("telemetry/{station}/*.csv").match("telemetry/st-1/a/b.csv") == nil)
    }

    @Test("Keys with spaces, plus signs and non-ASCII characters match byte for byte")
    func unusualKeys() throws {
        let pattern = try KeyPattern("drop/{name}.json")
        #expect(pattern.match("drop/a b+c é.json") == ["name": "a b+c é"])
    }

    @Test("Malformed patterns name the problem", arguments: ["a/{b", "a/b}", "{a}{b}", "{a}/{a}", "{a-b}", ""])
    func malformed(pattern: String) {
        #expect(throws: SettingsError.self) { try KeyPattern(pattern) }
    }
}

@Suite("Dataset catalog")
struct DatasetCatalogTests {
    @Test("The sample catalog parses and routes keys to datasets")
    func sample() throws {
        let catalog = try DatasetCatalog.parse(try fixtureBytes("datasets.json"), defaultMaxFileSizeBytes: 30 << 20)
        #expect(catalog.datasets.map(\.name) == ["totesys", "ukhsa_timeseries", "telemetry"])
        let match = try #require(catalog.match(key: "ukhsa/timeseries/infectious_disease/COVID-19_cases_casesByDay.json"))
        #expect(match.dataset.name == "ukhsa_timeseries")
        #expect(match.parts["metric"] == "COVID-19_cases_casesByDay")
        #expect(match.dataset.maxFileSizeBytes == 50 << 20)
        guard case .jsonDocument(let pointer, true) = match.dataset.format else {
            Issue.record("expected a JSON document format")
            return
        }
        #expect(pointer.tokens == ["results"])
        let telemetry = try #require(catalog.dataset(named: "telemetry"))
        #expect(telemetry.format == .csv(delimiter: UInt8(ascii: ",")))
        #expect(telemetry.fieldTypes["observed_at"] == .timestamp)
        #expect(telemetry.maxFileSizeBytes == 30 << 20)
        #expect(telemetry.allowsExtension(of: "telemetry/a/b.CSV.gz"))
        #expect(!telemetry.allowsExtension(of: "telemetry/a/b.xlsx"))
        #expect(catalog.match(key: "elsewhere/file.json") == nil)
    }

    @Test(
        "Invalid catalogs are errors naming the field at fault",
        arguments: [
            (#"{"datasets": [{"keyPattern": "a/{b}"}]}"#, "datasets[0].name"),
            (#"{"datasets": [{"name": "a", "keyPattern": "a/{b", "format": {"type": "jsonl"}}]}"#, "datasets[0].keyPattern"),
            (#"{"datasets": [{"name": "a", "keyPattern": "a", "format": {"type": "xml"}}]}"#, "datasets[0].format.type"),
            (#"{"datasets": [{"name": "a", "keyPattern": "a", "format": {"type": "csv", "delimiter": ",,"}}]}"#, "datasets[0].format.delimiter"),
            (#"{"datasets": [{"name": "a", "keyPattern": "a", "format": {"type": "jsonl"}, "requiredFields": {"x": "float"}}]}"#, "datasets[0].requiredFields.x"),
            (#"{"datasets": [{"name": "a", "keyPattern": "a", "format": {"type": "jsonl"}, "compression": "zip"}]}"#, "datasets[0].compression"),
            (#"{"datasets": [{"name": "a", "keyPattern": "a", "format": {"type": "jsonl"}, "index": {"name": "x-{key.nope}"}}]}"#, "datasets[0].index.name"),
            (#"{"datasets": [{"name": "a", "keyPattern": "a", "format": {"type": "jsonl"}, "maxFailedRecordRatio": 2}]}"#, "datasets[0].maxFailedRecordRatio"),
            (#"{"datasets": [{"name": "a", "keyPattern": "a", "format": {"type": "jsonl"}}, {"name": "a", "keyPattern": "b", "format": {"type": "jsonl"}}]}"#, "datasets[1].name"),
            (#"{"sets": []}"#, "datasets"),
            (#"{"datasets": [1]}"#, "datasets[0]"),
        ])
    func invalid(document: String, field: String) {
        #expect {
            try DatasetCatalog.parse(Array(document.utf8))
        } throws: { error in
            (error as? SettingsError)?.setting == field
        }
    }

    @Test("A document that is not JSON is a malformed-document error")
    func notJSON() {
        #expect {
            try DatasetCatalog.parse(Array("datasets: []".utf8))
        } throws: { error in (error as? SettingsError)?.code == .malformedDocument }
    }
}

@Suite("Index names")
struct IndexNameTemplateTests {
    @Test("Fields, date parts and key parts fill the template")
    func render() throws {
        let template = try IndexNameTemplate("Totesys-{key.table}-{last_updated:month}")
        let name = try template.render(dataset: "totesys", keyParts: ["table": "sales_order"]) { field in
            field == "last_updated" ? "2024-05-31T23:59:59.999Z" : nil
        }
        #expect(name == "totesys-sales_order-2024.05")
        let daily = try IndexNameTemplate("{dataset}-{day:day}")
        #expect(try daily.render(dataset: "t", keyParts: [:]) { _ in "2024-02-29" } == "t-2024.02.29")
    }

    @Test("Names are normalised to OpenSearch's rules")
    func normalise() {
        #expect(IndexNameTemplate.normalise("_My Index*,#1") == "my_index___1")
        #expect(IndexNameTemplate.normalise("..") == nil)
        #expect(IndexNameTemplate.normalise("-_+") == nil)
        #expect(IndexNameTemplate.normalise(String(repeating: "é", count: 200))?.utf8.count == 254)
    }

    @Test("A missing or non-date field is a render error naming the field")
    func renderErrors() throws {
        let template = try IndexNameTemplate("x-{when:year}")
        #expect(throws: IndexNameTemplate.RenderError.self) { try template.render(dataset: "d", keyParts: [:]) { _ in nil } }
        #expect(throws: IndexNameTemplate.RenderError.self) { try template.render(dataset: "d", keyParts: [:]) { _ in "soon" } }
        #expect(throws: SettingsError.self) { try IndexNameTemplate("x-{when:hour}") }
    }
}

@Suite("Environment settings")
struct EnvironmentSettingsTests {
    @Test("Defaults follow the LASP construct; sizes are read in MB")
    func defaults() throws {
        let settings = try CommonSettings(SettingsReader(Environment(["INGEST_STATUS_TABLE": "status"])))
        #expect(settings.maxFileSizeBytes == 30 << 20)
        #expect(settings.datasets == .file("/var/task/datasets.json"))
        #expect(settings.statusFileNameIndex == "file_name_index")
    }

    @Test("A missing table is an error that names INGEST_STATUS_TABLE")
    func missing() {
        #expect {
            try CommonSettings(SettingsReader(Environment([:])))
        } throws: { error in
            (error as? SettingsError)?.setting == "INGEST_STATUS_TABLE" && (error as? SettingsError)?.code == .missing
        }
    }

    @Test("Bad numbers, booleans and bucket names name their variable")
    func invalid() {
        let reader = SettingsReader(Environment(["MAX_FILE_SIZE_MB": "lots", "GENERATE_IDS": "maybe", "B": "Not_A_Bucket", "INGEST_STATUS_TABLE": "t"]))
        #expect { try CommonSettings(reader) } throws: { ($0 as? SettingsError)?.setting == "MAX_FILE_SIZE_MB" }
        #expect { try reader.bool("GENERATE_IDS", default: false) } throws: { ($0 as? SettingsError)?.setting == "GENERATE_IDS" }
        #expect { try reader.bucket("B") } throws: { ($0 as? SettingsError)?.setting == "B" }
        #expect { try reader.bucket("UNSET") } throws: { ($0 as? SettingsError)?.code == .missing }
    }

    @Test("The dataset document comes from a parameter or a file, not both")
    func documentSource() throws {
        #expect(try DocumentSource.from(SettingsReader(Environment(["DATASETS_PARAMETER": "/p/datasets"])), prefix: "DATASETS") == .parameter("/p/datasets"))
        #expect(throws: SettingsError.self) {
            try DocumentSource.from(SettingsReader(Environment(["DATASETS_PARAMETER": "/p", "DATASETS_FILE": "/f"])), prefix: "DATASETS")
        }
        #expect(throws: SettingsError.self) { try DocumentSource.from(SettingsReader(Environment([:])), prefix: "STAR_SCHEMA") }
    }
}
