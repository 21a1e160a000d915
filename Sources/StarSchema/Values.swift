package import JSONCodec
import Parquet
package import Primitives

/// A value of a source row as the extract holds it: JSON scalars, numbers kept as their text.
package enum SourceValue: Sendable, Hashable {
    case null
    case string(String)
    /// A JSON number's text exactly as written.
    case number(String)
    case bool(Bool)
    /// An object or an array: no column type takes one.
    case nested(kind: String)

    /// From a parsed JSON value.
    package init(_ json: JSON) {
        switch json {
        case .null: self = .null
        case .string(let text): self = .string(text)
        case .number(let text): self = .number(text)
        case .bool(let flag): self = .bool(flag)
        case .array: self = .nested(kind: "array")
        case .object: self = .nested(kind: "object")
        }
    }

    /// The value as JSON (for state objects).
    package var json: JSON {
        switch self {
        case .null: .null
        case .string(let text): .string(text)
        case .number(let text): .number(text)
        case .bool(let flag): .bool(flag)
        case .nested: .null
        }
    }

    /// The text of a string, number or boolean.
    package var text: String? {
        switch self {
        case .string(let text), .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .null, .nested: nil
        }
    }

    var kindName: String {
        switch self {
        case .null: "null"
        case .string: "string"
        case .number: "number"
        case .bool: "boolean"
        case .nested(let kind): kind
        }
    }

    /// The text used as a row key (nil for null): numbers and strings holding the same digits
    /// name the same row.
    package var keyText: String? {
        switch self {
        case .number(let text): Self.canonicalInteger(text) ?? text
        case .string(let text): Self.canonicalInteger(text) ?? text
        case .bool(let flag): flag ? "true" : "false"
        case .null, .nested: nil
        }
    }

    private static func canonicalInteger(_ text: String) -> String? { Int64(text).map { String($0) } }
}

/// Casting source values to column types. Errors name the column, never the value.
enum Cast {
    static func value(_ value: SourceValue, to type: ColumnType, column: String) throws(StarSchemaError) -> ParquetValue {
        func mismatch(_ expected: String) -> StarSchemaError {
            StarSchemaError(.typeMismatch, "a \(value.kindName) where \(expected) was expected", column: column)
        }
        if case .null = value { return .null }
        switch type {
        case .int64, .int32:
            let parsed: Int64?
            switch value {
            case .number(let text), .string(let text): parsed = Int64(text)
            default: parsed = nil
            }
            guard let parsed else { throw mismatch("an integer") }
            if type == .int32 {
                guard let narrow = Int32(exactly: parsed) else {
                    throw StarSchemaError(.typeMismatch, "an integer outside the int32 range", column: column)
                }
                return .int32(narrow)
            }
            return .int64(parsed)
        case .double:
            switch value {
            case .number(let text), .string(let text):
                guard let parsed = Double(text) else { throw mismatch("a number") }
                return .double(parsed)
            default: throw mismatch("a number")
            }
        case .decimal:
            switch value {
            case .number(let text), .string(let text): return .decimalText(text)
            default: throw mismatch("a decimal number")
            }
        case .string:
            guard let text = value.text else { throw mismatch("text") }
            return .string(text)
        case .bool:
            switch value {
            case .bool(let flag): return .boolean(flag)
            case .string(let text), .number(let text):
                switch text {
                case "true", "t", "TRUE", "True", "1": return .boolean(true)
                case "false", "f", "FALSE", "False", "0": return .boolean(false)
                default: throw mismatch("a boolean")
                }
            default: throw mismatch("a boolean")
            }
        case .date:
            guard case .string(let text) = value else { throw mismatch("a date") }
            guard let days = Temporal.days(text) else {
                throw StarSchemaError(.invalidTemporal, "text that is not a yyyy-MM-dd date or a timestamp", column: column)
            }
            return .date(daysSinceEpoch: days)
        case .timestamp:
            guard case .string(let text) = value else { throw mismatch("a timestamp") }
            guard let time = Temporal.timestamp(text) else {
                throw StarSchemaError(.invalidTemporal, "text that is not an ISO 8601 timestamp", column: column)
            }
            return .timestamp(millisecondsSinceEpoch: time.millisecondsSinceEpoch)
        case .time:
            guard case .string(let text) = value else { throw mismatch("a timestamp or a time of day") }
            guard let time = Temporal.timeOfDay(text) else {
                throw StarSchemaError(.invalidTemporal, "text that is not a timestamp or a time of day", column: column)
            }
            return .string(time)
        }
    }
}

/// Dates and times in extracts: `2022-11-03T14:20:49.962000`, `2022-11-03 14:20:49.962`, with or
/// without a zone (zone-less means UTC), and plain `2022-11-03` dates.
package enum Temporal {
    /// The instant a timestamp names (zone-less text is UTC).
    package static func timestamp(_ text: String) -> Timestamp? {
        if let parsed = Timestamp(iso8601: text) { return parsed }
        // A zone-less timestamp: read as UTC (a date alone is not a timestamp).
        guard text.utf8.count > 10 else { return nil }
        return Timestamp(iso8601: text + "Z")
    }

    /// Days since 1970-01-01 of a `yyyy-MM-dd` date, or of a timestamp's UTC date.
    package static func days(_ text: String) -> Int32? {
        let instant: Timestamp?
        if text.utf8.count == 10 {
            instant = Timestamp(isoDate: text)
        } else {
            instant = timestamp(text)
        }
        guard let instant else { return nil }
        let seconds = instant.secondsSinceEpoch
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        return Int32(exactly: days)
    }

    /// `HH:mm:ss.SSS` of a timestamp (UTC), or of a time-of-day text `HH:mm:ss[.fff]`.
    package static func timeOfDay(_ text: String) -> String? {
        if let instant = timestamp(text) {
            let c = instant.components
            return format(hour: c.hour, minute: c.minute, second: c.second, millisecond: c.nanosecond / 1_000_000)
        }
        // A time alone: reuse the timestamp reader on a fixed date.
        guard text.utf8.count >= 8, let instant = Timestamp(iso8601: "1970-01-01T" + text + "Z") else { return nil }
        let c = instant.components
        guard c.day == 1 else { return nil }
        return format(hour: c.hour, minute: c.minute, second: c.second, millisecond: c.nanosecond / 1_000_000)
    }

    static func format(hour: Int, minute: Int, second: Int, millisecond: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(12)
        func two(_ value: Int) {
            out.append(UInt8(ascii: "0") + UInt8(value / 10))
            out.append(UInt8(ascii: "0") + UInt8(value % 10))
        }
        two(hour)
        out.append(UInt8(ascii: ":"))
        two(minute)
        out.append(UInt8(ascii: ":"))
        two(second)
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ascii: "0") + UInt8(millisecond / 100))
        two(millisecond % 100)
        return String(decoding: out, as: UTF8.self)
    }
}
