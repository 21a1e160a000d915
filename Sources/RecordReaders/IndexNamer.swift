package import PipelineSettings

/// Renders a dataset's index name for each record, remembering the names it has made: records of
/// one file mostly share a few index names, and rendering (date parsing, normalising) costs more
/// than looking one up.
///
/// The memo's key is the raw JSON text of the template's fields; for a `{field:year|month|day}`
/// whose field the rules already check as a timestamp or date, a UTC value (`…Z` or a plain
/// `yyyy-MM-dd`) is keyed by its date alone, so all records of one day share an entry.
package struct IndexNamer: Sendable {
    private struct Field: Sendable {
        var name: String
        var datePart: Bool
        /// The rules check this field as a timestamp or date, so its text is known to be valid.
        var validated: Bool
    }

    package let template: IndexNameTemplate
    private let dataset: String
    private let keyParts: [String: String]
    private let fields: [Field]
    /// Names by a 64-bit hash of their key; the key itself is kept to rule out collisions.
    private var memo: [UInt64: (key: [UInt8], name: String)] = [:]
    private var key: [UInt8] = []

    /// Entries kept before the memo starts afresh.
    package static let memoLimit = 4096

    package init(template: IndexNameTemplate, dataset: String, keyParts: [String: String], rules: RecordRules) {
        self.template = template
        self.dataset = dataset
        self.keyParts = keyParts
        let checked = Set(rules.checks.filter { $0.type == .timestamp || $0.type == .date }.map(\.name))
        fields = template.segments.compactMap { segment in
            guard case .field(let name, let part) = segment else { return nil }
            return Field(name: name, datePart: part != nil, validated: checked.contains(name))
        }
    }

    /// The index name for `record`.
    /// - Throws: `IndexNameTemplate.RenderError` when a field is missing or not a date.
    package mutating func name(for record: Record) throws(IndexNameTemplate.RenderError) -> String {
        key.removeAll(keepingCapacity: true)
        for field in fields {
            guard let value = record.fields[field.name] else {
                key.append(0)
                continue
            }
            let raw = value.raw
            if field.datePart, field.validated, value.kind == .string, raw.count >= 12,
                raw[raw.startIndex + 5] == UInt8(ascii: "-"), raw[raw.startIndex + 8] == UInt8(ascii: "-"),
                raw.count == 12 || raw[raw.endIndex - 2] | 0x20 == UInt8(ascii: "z")
            {
                key.append(1)
                key.append(contentsOf: raw[(raw.startIndex + 1)..<(raw.startIndex + 11)])
            } else {
                key.append(2)
                appendLength(raw.count)
                key.append(contentsOf: raw)
            }
        }
        let hash = fnv1a(key)
        if let entry = memo[hash], entry.key == key { return entry.name }
        let name = try template.render(dataset: dataset, keyParts: keyParts) { record.fields[$0]?.text }
        if memo.count >= Self.memoLimit { memo.removeAll(keepingCapacity: true) }
        memo[hash] = (key, name)
        return name
    }

    /// FNV-1a, 64 bits: cheaper than `Hasher` byte by byte for these short keys.
    private func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    private mutating func appendLength(_ count: Int) {
        var rest = count
        repeat {
            key.append(UInt8(rest & 0x7F) | (rest > 0x7F ? 0x80 : 0))
            rest >>= 7
        } while rest > 0
    }
}
