package import PipelineSettings
import Primitives

/// What each record is checked against, and which of its fields are extracted: built once per
/// file from the dataset definition.
package struct RecordRules: Sendable, Hashable {
    package struct Check: Sendable, Hashable {
        package var name: String
        package var slot: Int
        package var type: FieldType
        package var required: Bool
    }

    package let selection: FieldSelection
    package let checks: [Check]
    /// CSV cell types by column name.
    package let fieldTypes: [String: FieldType]
    /// Required field names (CSV headers must have them).
    package let requiredNames: [String]

    /// Rules from a dataset: its required fields and field types are checked; its id, index and
    /// required fields (and `extraFields`) are extracted.
    package init(dataset: DatasetDefinition, extraFields: [String] = []) {
        self.init(
            requiredFields: dataset.requiredFields, fieldTypes: dataset.fieldTypes,
            selection: FieldSelection(dataset: dataset, extra: extraFields)
        )
    }

    package init(requiredFields: [RequiredField] = [], fieldTypes: [String: FieldType] = [:], selection: FieldSelection)
    {
        var names = selection.names
        for field in requiredFields where !names.contains(field.name) { names.append(field.name) }
        for name in fieldTypes.keys.sorted() where !names.contains(name) { names.append(name) }
        let selection = FieldSelection(names)
        var checks: [Check] = []
        for field in requiredFields {
            checks.append(
                Check(name: field.name, slot: selection.slot(of: field.name)!, type: field.type, required: true))
        }
        for (name, type) in fieldTypes.sorted(by: { $0.key < $1.key })
        where !requiredFields.contains(where: { $0.name == name }) {
            checks.append(Check(name: name, slot: selection.slot(of: name)!, type: type, required: false))
        }
        self.selection = selection
        self.checks = checks
        self.fieldTypes = fieldTypes
        self.requiredNames = requiredFields.map(\.name)
    }

    /// The first rule the record breaks, if any.
    package func violation(in values: [FieldValue?]) -> RecordError? {
        for check in checks {
            guard let value = values[check.slot], value.kind != .null else {
                if check.required {
                    let what = values[check.slot] == nil ? "is missing" : "is null"
                    return RecordError(.missingField, "required field '\(check.name)' \(what)", field: check.name)
                }
                continue
            }
            if !Self.matches(value, check.type) {
                return RecordError(
                    .wrongType,
                    "field '\(check.name)' should be \(Self.article(check.type)) but is \(Self.describe(value))",
                    field: check.name)
            }
        }
        return nil
    }

    /// Whether `value` has the type `type` (timestamp: an ISO 8601 date-time string; date: `yyyy-MM-dd`).
    package static func matches(_ value: FieldValue, _ type: FieldType) -> Bool {
        switch type {
        case .any: return true
        case .string: return value.kind == .string
        case .integer: return value.isInteger
        case .number: return value.kind == .number
        case .boolean: return value.kind == .boolean
        case .object: return value.kind == .object
        case .array: return value.kind == .array
        case .timestamp:
            guard value.kind == .string else { return false }
            if !value.hasEscapes { return Timestamp(iso8601UTF8: value.raw.dropFirst().dropLast()) != nil }
            guard let text = value.text else { return false }
            return Timestamp(iso8601: text) != nil
        case .date:
            guard value.kind == .string, value.raw.count == 12 else { return false }
            if !value.hasEscapes { return Timestamp(isoDateUTF8: value.raw.dropFirst().dropLast()) != nil }
            guard let text = value.text else { return false }
            return Timestamp(isoDate: text) != nil
        }
    }

    static func article(_ type: FieldType) -> String {
        switch type {
        case .integer: "an integer"
        case .any: "any value"
        case .timestamp: "an ISO 8601 timestamp"
        case .date: "a yyyy-MM-dd date"
        default: "a \(type.rawValue)"
        }
    }

    /// The value's kind and a short excerpt (field values of 40 bytes at most; never whole records).
    static func describe(_ value: FieldValue) -> String {
        switch value.kind {
        case .object, .array: return "\(value.kind == .object ? "an object" : "an array")"
        default:
            let excerpt = String(decoding: value.raw.prefix(40), as: UTF8.self)
            let kind = value.kind == .number && value.isInteger ? "integer" : value.kind.rawValue
            return "a \(kind) (\(excerpt)\(value.raw.count > 40 ? "…" : ""))"
        }
    }
}
