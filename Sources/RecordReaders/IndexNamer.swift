package import PipelineSettings
import Primitives

/// Renders a dataset's index name for each record, remembering the names it has made: records of
/// one file mostly share a few index names, and rendering (date parsing, normalising) costs more
/// than looking one up.
///
/// The memo's key is the raw JSON text of the template's fields, except for a `{field:year|month|day}`
/// whose value is a timestamp or date string without escapes: that one is parsed in place (no
/// copy) and keyed by its UTC day, the only thing the rendering reads from it, so every record of
/// one day shares an entry whatever its time and offset. The name of the previous record is
/// checked first.
package struct IndexNamer: Sendable {
    private struct Field: Sendable {
        var name: String
        var datePart: Bool
        /// Where the field's value sits in records read with the namer's rules.
        var slot: Int?
    }

    package let template: IndexNameTemplate
    private let dataset: String
    private let keyParts: [String: String]
    private let fields: [Field]
    /// Names by a 64-bit hash of their key; the key itself is kept to rule out collisions.
    private var memo: [UInt64: (key: [UInt8], name: String)] = [:]
    private var key: [UInt8] = []
    private var lastKey: [UInt8] = []
    private var lastName: String?
    /// When the template's only field is a date part: names by UTC day, direct-mapped (a day's
    /// entry sits at `day % 64`), checked before anything else.
    private var byDay: [(day: Int64, name: String)?]
    private let soleDateField: Field?
    private let selectionCount: Int

    /// Entries kept before the memo starts afresh.
    package static let memoLimit = 4096

    /// - Parameter rules: the rules the records are read with (their selection says where each
    ///   template field's value is).
    package init(template: IndexNameTemplate, dataset: String, keyParts: [String: String], rules: RecordRules) {
        self.template = template
        self.dataset = dataset
        self.keyParts = keyParts
        let fields = template.segments.compactMap { segment -> Field? in
            guard case .field(let name, let part) = segment else { return nil }
            return Field(name: name, datePart: part != nil, slot: rules.selection.slot(of: name))
        }
        self.fields = fields
        selectionCount = rules.selection.count
        soleDateField = fields.count == 1 && fields[0].datePart ? fields[0] : nil
        byDay = soleDateField == nil ? [] : Array(repeating: nil, count: 64)
    }

    @inline(__always)
    private func value(of field: Field, in record: Record) -> FieldValue? {
        // Records read with other rules are looked up by name.
        if let slot = field.slot, record.fields.values.count == selectionCount { return record.fields.values[slot] }
        return record.fields[field.name]
    }

    /// The index name for `record`.
    /// - Throws: `IndexNameTemplate.RenderError` when a field is missing or not a date.
    package mutating func name(for record: Record) throws(IndexNameTemplate.RenderError) -> String {
        if let field = soleDateField, let value = value(of: field, in: record), value.kind == .string, !value.hasEscapes,
            let day = Self.utcDay(value.raw.dropFirst().dropLast())
        {
            let place = Int(truncatingIfNeeded: day & 63)
            if let entry = byDay[place], entry.day == day { return entry.name }
            let name = try template.render(dataset: dataset, keyParts: keyParts) { record.fields[$0]?.text }
            byDay[place] = (day, name)
            return name
        }
        key.removeAll(keepingCapacity: true)
        for field in fields {
            guard let value = value(of: field, in: record) else {
                key.append(0)
                continue
            }
            let raw = value.raw
            if field.datePart, value.kind == .string, !value.hasEscapes, let day = Self.utcDay(raw.dropFirst().dropLast()) {
                key.append(1)
                withUnsafeBytes(of: day.littleEndian) { key.append(contentsOf: $0) }
            } else {
                key.append(2)
                appendLength(raw.count)
                key.append(contentsOf: raw)
            }
        }
        if let lastName, key == lastKey { return lastName }
        let hash = fnv1a(key)
        let name: String
        if let entry = memo[hash], entry.key == key {
            name = entry.name
        } else {
            name = try template.render(dataset: dataset, keyParts: keyParts) { record.fields[$0]?.text }
            if memo.count >= Self.memoLimit { memo.removeAll(keepingCapacity: true) }
            memo[hash] = (key, name)
        }
        lastKey.removeAll(keepingCapacity: true)
        lastKey.append(contentsOf: key)
        lastName = name
        return name
    }

    /// The day (since 1970-01-01, UTC) of a timestamp or date as `IndexNameTemplate.render` reads
    /// it; nil when the text is neither.
    @inline(__always)
    static func utcDay(_ text: ArraySlice<UInt8>) -> Int64? {
        guard let time = Timestamp(iso8601UTF8: text) ?? Timestamp(isoDateUTF8: text) else { return nil }
        let nanos = time.nanosecondsSinceEpoch
        let perDay: Int64 = 86_400_000_000_000
        let day = nanos / perDay
        return nanos % perDay < 0 ? day - 1 : day
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
