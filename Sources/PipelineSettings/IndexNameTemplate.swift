import Primitives

/// An OpenSearch index name built from a record, such as `sales-{created_at:month}` →
/// `sales-2024.05`.
///
/// Placeholders: `{field}` (the record's value, as text), `{field:year}`, `{field:month}`,
/// `{field:day}` (a timestamp or date field, formatted `yyyy`, `yyyy.MM`, `yyyy.MM.dd` in UTC),
/// `{dataset}` and `{key.<part>}` (a named part of the object key). The result is normalised to
/// OpenSearch's rules: lower case; `\ / * ? " < > | , #`, spaces and `:` become `_`; no leading
/// `-`, `_` or `+`; at most 255 bytes.
package struct IndexNameTemplate: Sendable, Hashable, CustomStringConvertible {
    package enum Segment: Sendable, Hashable {
        case literal(String)
        case field(String, DatePart?)
        case dataset
        case keyPart(String)
    }

    package enum DatePart: String, Sendable, Hashable {
        case year, month, day
    }

    package let segments: [Segment]
    package let source: String
    package var description: String { source }

    /// The record fields the template reads.
    package var fields: [String] {
        segments.compactMap { if case .field(let name, _) = $0 { name } else { nil } }
    }

    package init(_ source: String) throws(SettingsError) {
        self.source = source
        var segments: [Segment] = []
        var rest = Substring(source)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { segments.append(.literal(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw SettingsError(.invalid, setting: "index.name", detail: "'\(source)' has a '{' without its '}'")
            }
            let inner = rest[rest.index(after: open)..<close]
            let pieces = inner.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pieces[0])
            guard !name.isEmpty else {
                throw SettingsError(.invalid, setting: "index.name", detail: "'\(source)' has an empty placeholder")
            }
            if name == "dataset", pieces.count == 1 {
                segments.append(.dataset)
            } else if name.hasPrefix("key."), pieces.count == 1 {
                segments.append(.keyPart(String(name.dropFirst(4))))
            } else {
                var part: DatePart?
                if pieces.count == 2 {
                    guard let parsed = DatePart(rawValue: String(pieces[1])) else {
                        throw SettingsError(
                            .invalid, setting: "index.name",
                            detail: "'\(source)': '\(pieces[1])' is not year, month or day")
                    }
                    part = parsed
                }
                segments.append(.field(name, part))
            }
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { segments.append(.literal(String(rest))) }
        self.segments = segments
        // A template must give a valid name even before any value is substituted.
        let probe = segments.map { segment -> String in
            if case .literal(let text) = segment { return text }
            return "x"
        }.joined()
        guard Self.normalise(probe) != nil else {
            throw SettingsError(.invalid, setting: "index.name", detail: "'\(source)' cannot make a valid index name")
        }
    }

    /// Why a record could not be given an index name.
    package struct RenderError: Error, Sendable, Hashable, CustomStringConvertible {
        package var field: String
        package var reason: String
        package var description: String { "index name: field '\(field)' \(reason)" }
    }

    /// Renders the name for one record. `value` returns a field's text (nil when absent).
    package func render(
        dataset: String, keyParts: [String: String], value: (String) -> String?
    ) throws(RenderError) -> String {
        var out = ""
        for segment in segments {
            switch segment {
            case .literal(let text): out += text
            case .dataset: out += dataset
            case .keyPart(let name):
                guard let part = keyParts[name] else { throw RenderError(field: "key.\(name)", reason: "is not a part of the key pattern") }
                out += part
            case .field(let name, nil):
                guard let text = value(name), !text.isEmpty else { throw RenderError(field: name, reason: "is missing") }
                out += text
            case .field(let name, let part?):
                guard let text = value(name) else { throw RenderError(field: name, reason: "is missing") }
                guard let time = Timestamp(iso8601: text) ?? Timestamp(isoDate: text) else {
                    throw RenderError(field: name, reason: "is not a date or timestamp ('\(text.prefix(40))')")
                }
                let iso = time.isoDate  // yyyy-MM-dd
                let year = iso.prefix(4), month = iso.dropFirst(5).prefix(2), day = iso.suffix(2)
                switch part {
                case .year: out += year
                case .month: out += "\(year).\(month)"
                case .day: out += "\(year).\(month).\(day)"
                }
            }
        }
        guard let name = Self.normalise(out) else {
            throw RenderError(field: fields.first ?? "template", reason: "gives no valid index name ('\(out.prefix(60))')")
        }
        return name
    }

    /// Applies OpenSearch's index naming rules; `nil` when nothing valid remains.
    package static func normalise(_ raw: String) -> String? {
        var bytes: [UInt8] = []
        for byte in raw.lowercased().utf8 {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "\""),
                UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "|"), UInt8(ascii: ","), UInt8(ascii: "#"),
                UInt8(ascii: " "), UInt8(ascii: ":"), 0..<0x20:
                bytes.append(UInt8(ascii: "_"))
            default:
                bytes.append(byte)
            }
        }
        while let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "_") || first == UInt8(ascii: "+") {
            bytes.removeFirst()
        }
        if bytes.count > 255 {
            bytes = Array(bytes.prefix(255))
            // Do not cut a UTF-8 sequence in half: drop a last character whose bytes are incomplete.
            var lead = bytes.count - 1
            while lead > 0, bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
            let first = bytes[lead]
            let expected = first < 0x80 ? 1 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : 2
            if bytes.count - lead != expected { bytes.removeSubrange(lead...) }
        }
        let name = String(decoding: bytes, as: UTF8.self)
        guard !name.isEmpty, name != ".", name != ".." else { return nil }
        return name
    }
}
