import JSONCodec

/// Every dataset the pipeline knows, read from one JSON document (an SSM parameter or a file in
/// the image). Every problem is reported with the path of the field at fault.
///
/// ```json
/// {"datasets": [{
///   "name": "sales_order",
///   "keyPattern": "totesys/{table}/{sequence}-{timestamp}.jsonl",
///   "format": {"type": "jsonl"},                  // or {"type":"csv","delimiter":","}
///                                                  // or {"type":"json","recordsPointer":"/data","mergeParentFields":true}
///   "compression": "auto",                         // none | gzip | auto
///   "extensions": [".jsonl", ".jsonl.gz"],
///   "maxFileSizeMB": 30,
///   "requiredFields": {"sales_order_id": "integer"},
///   "fieldTypes": {"units_sold": "integer"},
///   "idFields": ["sales_order_id", "last_updated"],
///   "index": {"name": "sales-{created_at:month}", "mappings": {...}, "settings": {...}},
///   "starSchema": "totesys",
///   "sampleRecords": 5, "fullValidationMaxBytes": 1048576, "maxFailedRecordRatio": 0.1
/// }]}
/// ```
package struct DatasetCatalog: Sendable, Hashable {
    package var datasets: [DatasetDefinition]

    package init(datasets: [DatasetDefinition]) { self.datasets = datasets }

    /// The first dataset whose key pattern matches `key`, with the named parts of the key.
    package func match(key: String) -> (dataset: DatasetDefinition, parts: [String: String])? {
        for dataset in datasets {
            if let parts = dataset.keyPattern.match(key) { return (dataset, parts) }
        }
        return nil
    }

    package func dataset(named name: String) -> DatasetDefinition? { datasets.first { $0.name == name } }

    /// Reads the catalog document.
    /// - Parameter defaultMaxFileSizeBytes: the limit for datasets that set none (`MAX_FILE_SIZE_MB`).
    package static func parse(_ bytes: [UInt8], defaultMaxFileSizeBytes: Int64 = 30 << 20) throws(SettingsError) -> DatasetCatalog {
        let document: JSON
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw SettingsError(.malformedDocument, setting: "datasets document", detail: "not valid JSON: \(error)")
        }
        guard let list = document["datasets"]?.arrayValue else {
            throw SettingsError(.invalid, setting: "datasets", detail: "the document needs a \"datasets\" array")
        }
        var datasets: [DatasetDefinition] = []
        var names = Set<String>()
        for (index, entry) in list.enumerated() {
            let path = "datasets[\(index)]"
            let reader = FieldReader(entry, path: path)
            let dataset = try reader.dataset(defaultMaxFileSizeBytes: defaultMaxFileSizeBytes)
            guard names.insert(dataset.name).inserted else {
                throw SettingsError(.invalid, setting: "\(path).name", detail: "dataset '\(dataset.name)' is defined twice")
            }
            datasets.append(dataset)
        }
        return DatasetCatalog(datasets: datasets)
    }
}

/// Reads typed fields out of a JSON object, with error messages that name the field's path.
struct FieldReader {
    let value: JSON
    let path: String

    init(_ value: JSON, path: String) {
        self.value = value
        self.path = path
    }

    func fail(_ field: String, _ detail: String) -> SettingsError {
        SettingsError(.invalid, setting: field.isEmpty ? path : "\(path).\(field)", detail: detail)
    }

    func object() throws(SettingsError) -> JSONObject {
        guard let object = value.objectValue else { throw fail("", "must be an object, not \(value.kindName)") }
        return object
    }

    func string(_ field: String, required: Bool = true) throws(SettingsError) -> String? {
        guard let raw = value[field], !raw.isNull else {
            if required { throw fail(field, "is required") }
            return nil
        }
        guard let text = raw.stringValue, !text.isEmpty else { throw fail(field, "must be a non-empty string") }
        return text
    }

    func number(_ field: String, default fallback: Double, range: ClosedRange<Double>) throws(SettingsError) -> Double {
        guard let raw = value[field], !raw.isNull else { return fallback }
        guard let number = raw.doubleValue, range.contains(number) else {
            throw fail(field, "must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func integer(_ field: String, default fallback: Int64, range: ClosedRange<Int64>) throws(SettingsError) -> Int64 {
        guard let raw = value[field], !raw.isNull else { return fallback }
        guard let number = raw.int64Value, range.contains(number) else {
            throw fail(field, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func strings(_ field: String) throws(SettingsError) -> [String] {
        guard let raw = value[field], !raw.isNull else { return [] }
        guard let array = raw.arrayValue else { throw fail(field, "must be an array of strings") }
        var out: [String] = []
        for (i, element) in array.enumerated() {
            guard let text = element.stringValue, !text.isEmpty else { throw fail("\(field)[\(i)]", "must be a non-empty string") }
            out.append(text)
        }
        return out
    }

    func fieldTypes(_ field: String) throws(SettingsError) -> [(String, FieldType)] {
        guard let raw = value[field], !raw.isNull else { return [] }
        guard let object = raw.objectValue else { throw fail(field, "must be an object of field name to type") }
        var out: [(String, FieldType)] = []
        for member in object {
            guard let text = member.value.stringValue, let type = FieldType(rawValue: text) else {
                let allowed = FieldType.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail("\(field).\(member.key)", "must be one of \(allowed)")
            }
            out.append((member.key, type))
        }
        return out
    }

    func dataset(defaultMaxFileSizeBytes: Int64) throws(SettingsError) -> DatasetDefinition {
        _ = try object()
        let name = try string("name")!
        guard name.utf8.allSatisfy({ KeyPattern.isNameByte($0) || $0 == UInt8(ascii: "-") }) else {
            throw fail("name", "'\(name)' must be letters, digits, '_' or '-'")
        }
        let pattern: KeyPattern
        do {
            pattern = try KeyPattern(try string("keyPattern")!)
        } catch {
            throw fail("keyPattern", error.detail)
        }
        let format = try self.format()
        let compressionText = try string("compression", required: false) ?? "auto"
        guard let compression = CompressionSetting(rawValue: compressionText) else {
            throw fail("compression", "must be none, gzip or auto, not '\(compressionText)'")
        }
        let maxMB = try integer("maxFileSizeMB", default: -1, range: 1...5_000_000)
        let required = try fieldTypes("requiredFields").map { RequiredField(name: $0.0, type: $0.1) }
        var types: [String: FieldType] = [:]
        for (key, type) in try fieldTypes("fieldTypes") { types[key] = type }
        for field in required where types[field.name] == nil { types[field.name] = field.type }
        var index: IndexSettings?
        if let raw = value["index"], !raw.isNull {
            let reader = FieldReader(raw, path: "\(path).index")
            _ = try reader.object()
            let template: IndexNameTemplate
            do {
                template = try IndexNameTemplate(try reader.string("name")!)
            } catch {
                throw reader.fail("name", error.detail)
            }
            for key in ["mappings", "settings"] {
                if let value = raw[key], !value.isNull, value.objectValue == nil {
                    throw reader.fail(key, "must be an object")
                }
            }
            index = IndexSettings(template: template, mappings: raw["mappings"], settings: raw["settings"])
            for case .keyPart(let part) in template.segments where !pattern.partNames.contains(part) {
                throw reader.fail("name", "uses {key.\(part)} but the key pattern has no part '\(part)'")
            }
        }
        return DatasetDefinition(
            name: name,
            keyPattern: pattern,
            format: format,
            compression: compression,
            extensions: try strings("extensions"),
            maxFileSizeBytes: maxMB > 0 ? maxMB << 20 : defaultMaxFileSizeBytes,
            requiredFields: required,
            fieldTypes: types,
            idFields: try strings("idFields"),
            index: index,
            starSchema: try string("starSchema", required: false),
            sampleRecords: Int(try integer("sampleRecords", default: 5, range: 1...10_000)),
            fullValidationMaxBytes: try integer("fullValidationMaxBytes", default: 0, range: 0...(1 << 40)),
            maxFailedRecordRatio: try number("maxFailedRecordRatio", default: 0.5, range: 0...1)
        )
    }

    func format() throws(SettingsError) -> RecordFormat {
        guard let raw = value["format"], !raw.isNull else { throw fail("format", "is required") }
        let reader = FieldReader(raw, path: "\(path).format")
        _ = try reader.object()
        switch try reader.string("type")! {
        case "jsonl", "jsonlines", "ndjson":
            return .jsonLines
        case "csv":
            let delimiter = try reader.string("delimiter", required: false) ?? ","
            guard delimiter.utf8.count == 1, let byte = delimiter.utf8.first, byte != UInt8(ascii: "\""), byte != 0x0A, byte != 0x0D else {
                throw reader.fail("delimiter", "must be one character other than a quote or a line break")
            }
            return .csv(delimiter: byte)
        case "json":
            let pointer: JSONPointer
            do {
                pointer = try JSONPointer(try reader.string("recordsPointer", required: false) ?? "")
            } catch {
                throw reader.fail("recordsPointer", error.detail)
            }
            let merge = raw["mergeParentFields"]?.boolValue ?? false
            if let m = raw["mergeParentFields"], !m.isNull, m.boolValue == nil {
                throw reader.fail("mergeParentFields", "must be true or false")
            }
            return .jsonDocument(recordsPointer: pointer, mergeParentFields: merge)
        case let other:
            throw reader.fail("type", "must be jsonl, csv or json, not '\(other)'")
        }
    }
}
