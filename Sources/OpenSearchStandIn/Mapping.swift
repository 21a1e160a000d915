import JSONCodec

/// An index's field mappings (`{"properties":{…}}`) with OpenSearch's dynamic mapping: a field is
/// mapped on first sight from its JSON value, and a later value that does not fit the mapped type
/// is a `mapper_parsing_exception`.
struct Mapping: Sendable, Hashable {
    /// The `mappings` object as it is answered by `GET /{index}/_mapping`.
    private(set) var json: JSONObject
    /// The top-level fields, for the bulk path's one-pass check (`DocumentCheck`).
    let fields: FieldTable

    static let knownTypes: Set<String> = [
        "text", "keyword", "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
        "unsigned_long", "date", "boolean", "object", "nested", "binary", "ip", "geo_point", "flat_object",
    ]

    init(json: JSONObject = [:]) {
        self.json = json
        fields = FieldTable(properties: json["properties"]?.objectValue ?? [:])
    }

    static func == (lhs: Mapping, rhs: Mapping) -> Bool { lhs.json == rhs.json }
    func hash(into hasher: inout Hasher) { hasher.combine(json) }

    /// The mapping as OpenSearch answers it: fields in alphabetical order at every level.
    var answered: JSONObject { Self.sorted(json) }

    private static func sorted(_ object: JSONObject) -> JSONObject {
        var out = JSONObject()
        for member in object {
            if member.key == "properties", let properties = member.value.objectValue {
                var sortedProperties = JSONObject()
                for field in properties.members.sorted(by: { $0.key < $1.key }) {
                    sortedProperties.append(field.key, field.value.objectValue.map { .object(sorted($0)) } ?? field.value)
                }
                out.append("properties", .object(sortedProperties))
            } else {
                out.append(member.key, member.value)
            }
        }
        return out
    }

    /// Checks a mapping given at index creation.
    static func validated(_ json: JSONObject) throws(OpenSearchFailure) -> Mapping {
        if let properties = json["properties"] {
            guard let object = properties.objectValue else {
                throw OpenSearchFailure(status: 400, type: "mapper_parsing_exception", reason: "Failed to parse mapping: properties must be an object")
            }
            try validateProperties(object, prefix: "")
        }
        return Mapping(json: json)
    }

    private static func validateProperties(_ properties: JSONObject, prefix: String) throws(OpenSearchFailure) {
        for member in properties {
            guard let field = member.value.objectValue else {
                throw OpenSearchFailure(
                    status: 400, type: "mapper_parsing_exception",
                    reason: "Expected map for property [fields] on field [\(prefix + member.key)] but got a class java.lang.String")
            }
            if let type = field["type"]?.stringValue, !knownTypes.contains(type) {
                throw OpenSearchFailure(
                    status: 400, type: "mapper_parsing_exception",
                    reason: "No handler for type [\(type)] declared on field [\(prefix + member.key)]")
            }
            if let nested = field["properties"]?.objectValue { try validateProperties(nested, prefix: prefix + member.key + ".") }
        }
    }

    /// The mapped type of a dotted field path (`object` for a field with sub-properties), or `nil`.
    func type(of path: String) -> String? {
        var properties = json["properties"]?.objectValue
        let parts = path.split(separator: ".").map(String.init)
        for (position, part) in parts.enumerated() {
            guard let field = properties?[part]?.objectValue else {
                // `name.keyword` multi-field.
                if position == parts.count - 1, position > 0 {
                    let parentPath = parts[0..<position].joined(separator: ".")
                    if let parent = fieldObject(parentPath), let sub = parent["fields"]?[part]?["type"]?.stringValue { return sub }
                }
                return nil
            }
            if position == parts.count - 1 {
                return field["type"]?.stringValue ?? (field["properties"] != nil ? "object" : nil)
            }
            properties = field["properties"]?.objectValue
        }
        return nil
    }

    private func fieldObject(_ path: String) -> JSONObject? {
        var properties = json["properties"]?.objectValue
        var field: JSONObject?
        for part in path.split(separator: ".") {
            field = properties?[String(part)]?.objectValue
            properties = field?["properties"]?.objectValue
        }
        return field
    }

    /// Checks `source` against the mapping and returns the mapping with any new fields added, or
    /// `nil` when every field is already mapped.
    /// - Throws: `mapper_parsing_exception` when a value does not fit its field's type.
    func applying(_ source: JSONObject, id: String) throws(OpenSearchFailure) -> Mapping? {
        var properties = json["properties"]?.objectValue ?? [:]
        guard try Self.apply(source, to: &properties, prefix: "", id: id) else { return nil }
        var updated = json
        updated["properties"] = .object(properties)
        return Mapping(json: updated)
    }

    /// Maps `object`'s new fields into `properties`; whether any was added. Unchanged properties
    /// are not written (so nothing is copied for a document whose fields are all mapped).
    @discardableResult
    private static func apply(_ object: JSONObject, to properties: inout JSONObject, prefix: String, id: String) throws(OpenSearchFailure) -> Bool {
        var changed = false
        for member in object {
            if case .array(let elements) = member.value {
                for value in elements {
                    if try apply(value, key: member.key, to: &properties, prefix: prefix, id: id) { changed = true }
                }
            } else if try apply(member.value, key: member.key, to: &properties, prefix: prefix, id: id) {
                changed = true
            }
        }
        return changed
    }

    /// One value (or array element) of field `key`; whether the mapping changed.
    private static func apply(_ value: JSON, key: String, to properties: inout JSONObject, prefix: String, id: String) throws(OpenSearchFailure) -> Bool {
        if case .null = value { return false }
        guard var field = properties[key]?.objectValue else {
            properties[key] = .object(try dynamicField(for: value, path: prefix + key, id: id))
            return true
        }
        let type = field["type"]?.stringValue ?? "object"
        guard type == "object" || type == "nested" else {
            try check(value, type: type, path: { prefix + key }, id: id)
            return false
        }
        guard case .object(let inner) = value else {
            throw OpenSearchFailure(
                status: 400, type: "mapper_parsing_exception",
                reason: "object mapping for [\(prefix + key)] tried to parse field [\(key)] as object, but found a concrete value")
        }
        let mappedBefore = field["properties"]?.objectValue
        var mapped = mappedBefore ?? [:]
        guard try apply(inner, to: &mapped, prefix: prefix + key + ".", id: id) || mappedBefore == nil else { return false }
        field["properties"] = .object(mapped)
        properties[key] = .object(field)
        return true
    }

    /// The mapping OpenSearch's dynamic mapping gives a new field.
    private static func dynamicField(for value: JSON, path: String, id: String) throws(OpenSearchFailure) -> JSONObject {
        switch value {
        case .bool: return ["type": "boolean"]
        case .number(let text):
            return text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? ["type": "float"] : ["type": "long"]
        case .string(let text):
            if DateText.isDate(text) { return ["type": "date"] }
            return ["type": "text", "fields": ["keyword": ["type": "keyword", "ignore_above": .number(256)]]]
        case .object(let inner):
            var properties: JSONObject = [:]
            try apply(inner, to: &properties, prefix: path + ".", id: id)
            return ["properties": .object(properties)]
        case .array, .null:
            return ["type": "text"]
        }
    }

    /// Whether `value` can be indexed into a field of `type` (with OpenSearch's default coercion).
    private static func check(_ value: JSON, type: String, path makePath: () -> String, id: String) throws(OpenSearchFailure) {
        func failure(_ causedBy: JSONObject) -> OpenSearchFailure {
            let path = makePath()
            let preview: String
            switch value {
            case .string(let text): preview = text
            case .object: preview = "{...}"
            default: preview = value.text
            }
            return OpenSearchFailure(
                status: 400, type: "mapper_parsing_exception",
                reason: "failed to parse field [\(path)] of type [\(type)] in document with id '\(id)'. Preview of field's value: '\(preview)'",
                causedBy: causedBy)
        }
        /// The value as a number (numeric strings are coerced, as OpenSearch does by default).
        func numeric(causeType: String) throws(OpenSearchFailure) -> (String, Double) {
            let text: String
            switch value {
            case .number(let n): text = n
            case .string(let s): text = s.trimmingSpaces
            default: throw failure(["type": "illegal_argument_exception", "reason": .string("Current token (\(tokenName(value))) not numeric")])
            }
            guard let number = Double(text), number.isFinite else {
                throw failure(["type": .string(causeType), "reason": .string("For input string: \"\(text)\"")])
            }
            return (text, number)
        }
        if case .object = value, type != "flat_object", type != "geo_point" {
            throw failure(["type": "illegal_state_exception", "reason": .string("Can't get text on a START_OBJECT")])
        }
        switch type {
        case "long", "integer", "short", "byte", "unsigned_long":
            let (text, number) = try numeric(causeType: "illegal_argument_exception")
            guard integralBounds(type).contains(number.rounded(.towardZero)) else {
                throw failure(["type": "illegal_argument_exception", "reason": .string("Value [\(text)] is out of range for \(type == "long" ? "a long" : "an \(type)")")])
            }
        case "double", "float", "half_float", "scaled_float":
            _ = try numeric(causeType: "number_format_exception")
        case "boolean":
            switch value {
            case .bool: break
            case .string(let s) where s == "true" || s == "false" || s.isEmpty: break
            default:
                let shown = value.stringValue ?? value.text
                throw failure([
                    "type": "illegal_argument_exception",
                    "reason": .string("Failed to parse value [\(shown)] as only [true] or [false] are allowed."),
                ])
            }
        case "date":
            switch value {
            case .number(let n) where Int64(n) != nil: break
            case .string(let s) where DateText.isDate(s) || Int64(s) != nil: break
            default:
                let shown = value.stringValue ?? value.text
                throw failure([
                    "type": "illegal_argument_exception",
                    "reason": .string("failed to parse date field [\(shown)] with format [strict_date_optional_time||epoch_millis]"),
                    "caused_by": ["type": "date_time_parse_exception", "reason": "Failed to parse with all enclosed parsers"],
                ])
            }
        default:
            break  // text, keyword and the rest take any scalar
        }
    }

    /// The values an integral field type holds.
    static func integralBounds(_ type: String) -> ClosedRange<Double> {
        switch type {
        case "integer": -2_147_483_648...2_147_483_647
        case "short": -32768...32767
        case "byte": -128...127
        case "unsigned_long": 0...1.8446744073709552e19
        default: -9.223372036854776e18...9.223372036854776e18
        }
    }

    private static func tokenName(_ value: JSON) -> String {
        switch value {
        case .bool(let b): b ? "VALUE_TRUE" : "VALUE_FALSE"
        case .array: "START_ARRAY"
        case .object: "START_OBJECT"
        case .null: "VALUE_NULL"
        case .string: "VALUE_STRING"
        case .number: "VALUE_NUMBER_INT"
        }
    }
}

/// OpenSearch's `strict_date_optional_time`: `yyyy-MM-dd`, optionally `THH:mm[:ss[.SSS…]]` and a
/// zone (`Z` or `±HH:mm`).
enum DateText {
    static func isDate(_ text: String) -> Bool {
        var text = text
        return text.withUTF8(isDate)
    }

    static func isDate(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        func digits(_ range: Range<Int>) -> Bool { range.upperBound <= b.count && range.allSatisfy { b[$0] >= 48 && b[$0] <= 57 } }
        func value(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(b[$1] - 48) } }
        guard b.count >= 10, digits(0..<4), b[4] == 45, digits(5..<7), b[7] == 45, digits(8..<10) else { return false }
        guard (1...12).contains(value(5..<7)), (1...31).contains(value(8..<10)) else { return false }
        if b.count == 10 { return true }
        guard b[10] == UInt8(ascii: "T"), digits(11..<13), b.count >= 16, b[13] == 58, digits(14..<16) else { return false }
        guard value(11..<13) < 24, value(14..<16) < 60 else { return false }
        var i = 16
        if i < b.count, b[i] == 58 {
            guard digits(i + 1..<i + 3), value(i + 1..<i + 3) < 60 else { return false }
            i += 3
            if i < b.count, b[i] == 46 || b[i] == 44 {
                i += 1
                let start = i
                while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
                guard i > start, i - start <= 9 else { return false }
            }
        }
        if i == b.count { return true }
        if b[i] == UInt8(ascii: "Z") { return i + 1 == b.count }
        guard b[i] == 43 || b[i] == 45, b.count == i + 6, digits(i + 1..<i + 3), b[i + 3] == 58, digits(i + 4..<i + 6) else { return false }
        return true
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return String(slice)
    }
}
