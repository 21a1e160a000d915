import JSONCodec

/// The queries `_count` and `_search` understand: `match_all` and `term` (on text fields the term
/// is compared with the lower-cased tokens, as the standard analyzer makes them).
struct QueryMatcher: Sendable {
    enum Kind: Sendable {
        case matchAll
        case term(field: String, value: JSON)
    }
    let kind: Kind

    init(_ query: JSON?) throws(OpenSearchFailure) {
        guard let query else {
            kind = .matchAll
            return
        }
        guard let object = query.objectValue, object.count == 1, let member = object.members.first else {
            throw OpenSearchFailure.parsing("[_na] query malformed, must start with start_object")
        }
        switch member.key {
        case "match_all":
            kind = .matchAll
        case "term":
            guard let clause = member.value.objectValue, clause.count == 1, let field = clause.members.first else {
                throw OpenSearchFailure.parsing("[term] query doesn't support multiple fields, found [\(member.value.objectValue?.keys.joined(separator: "] and [") ?? "")]")
            }
            if let inner = field.value.objectValue {
                guard let value = inner["value"] else { throw OpenSearchFailure.parsing("[term] query does not support [\(inner.keys.first ?? "")]") }
                kind = .term(field: field.key, value: value)
            } else {
                kind = .term(field: field.key, value: field.value)
            }
        default:
            throw OpenSearchFailure.parsing("unknown query [\(member.key)]")
        }
    }

    /// Whether `document` matches (its source is parsed only for a `term` query).
    func matches(_ document: StoredDocument, mapping: Mapping) -> Bool {
        switch kind {
        case .matchAll:
            return true
        case .term(let field, let wanted):
            let source = document.source
            let type = mapping.type(of: field) ?? "keyword"
            // `name.keyword` reads the same source value as `name`.
            var sourcePath = field
            if field.hasSuffix(".keyword"), Self.values(at: field, in: source).isEmpty { sourcePath = String(field.dropLast(8)) }
            return Self.values(at: sourcePath, in: source).contains { Self.equal($0, wanted, type: type) }
        }
    }

    static func values(at path: String, in source: JSON) -> [JSON] {
        var current: [JSON] = [source]
        for part in path.split(separator: ".") {
            var next: [JSON] = []
            for value in current {
                if let child = value[String(part)] {
                    if case .array(let elements) = child { next += elements } else { next.append(child) }
                }
            }
            current = next
        }
        return current.flatMap { value -> [JSON] in
            if case .array(let elements) = value { return elements }
            return [value]
        }
    }

    static func equal(_ value: JSON, _ wanted: JSON, type: String) -> Bool {
        func text(_ json: JSON) -> String? {
            switch json {
            case .string(let s): s
            case .number(let n): n
            case .bool(let b): b ? "true" : "false"
            default: nil
            }
        }
        guard let have = text(value), let want = text(wanted) else { return false }
        switch type {
        case "text":
            return tokens(have).contains(want)
        case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long", "date":
            if let a = Double(have), let b = Double(want) { return a == b }
            return have == want
        default:
            return have == want
        }
    }

    /// The standard analyzer, roughly: split on anything not a letter or digit, lower-case.
    static func tokens(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }
}
