import AWSSigV4
import JSONCodec
package import PipelineSettings
import Primitives

/// The object a file's records come from: what generated ids are derived from.
package struct FileIdentity: Sendable, Hashable {
    package var bucket: String
    package var key: String
    /// The object's version id when versioning is on, else its ETag (quotes included or not, as
    /// long as it is always given the same way).
    package var version: String

    package init(bucket: String, key: String, version: String) {
        self.bucket = bucket
        self.key = key
        self.version = version
    }
}

/// Deterministic OpenSearch `_id`s, so a redelivered or resumed file overwrites its documents
/// instead of duplicating them.
///
/// Schemes:
/// - **From id fields** (`DatasetDefinition.idFields`): each field's value as text (a string's
///   content, a number's text as written, `true`/`false`); a missing or null value is
///   `missingField`, an object or array `wrongType`. When every value is non-empty and made only of
///   `A-Z a-z 0-9 . _ ~ -`, and together (joined with `:`) they are at most 200 bytes, the id is
///   that readable text (`2024-01-01:England:cases`). Otherwise it is `h-` followed by the first
///   128 bits of the SHA-256 of the values written as netstrings (`<length>:<bytes>,` each) in
///   lower-case hex: 34 bytes, safe in a URL path, and unambiguous however the values look.
/// - **Generated** (`GENERATE_IDS`, or no id fields): the first 128 bits of the SHA-256 of the
///   file's bucket, key and version as netstrings, in hex, then `-` and the record number:
///   `9f86d081884c7d659a2feaa0c55ad015-42`. Record numbers are stable across resumes, so the
///   same record always gets the same id; another version of the file gets other ids.
package struct RecordIDMaker: Sendable, Hashable {
    package enum Scheme: Sendable, Hashable {
        case fields([String])
        case generated(prefix: String)
    }

    package let scheme: Scheme

    /// The longest readable id; longer ones are hashed (OpenSearch allows 512 bytes).
    package static let readableLimit = 200

    package init(idFields: [String], generateIDs: Bool, file: FileIdentity) {
        if generateIDs || idFields.isEmpty {
            var hash = SHA256()
            for part in [file.bucket, file.key, file.version] { hash.update(Self.netstring(Array(part.utf8))) }
            scheme = .generated(prefix: Self.hex128(hash.finalize()))
        } else {
            scheme = .fields(idFields)
        }
    }

    package init(dataset: DatasetDefinition, generateIDs: Bool, file: FileIdentity) {
        self.init(idFields: dataset.idFields, generateIDs: generateIDs, file: file)
    }

    /// The id of record `number` (its `RecordItem.number`).
    /// - Throws: `RecordError` (`missingField`, `wrongType`) when an id field cannot give a value.
    package func id(for record: Record, number: Int) throws(RecordError) -> String {
        switch scheme {
        case .generated(let prefix):
            return prefix + "-" + String(number)
        case .fields(let names) where names.count == 1:
            // The common case, without the list of parts: one readable value is the id as it is.
            let part = try Self.part(of: record, field: names[0])
            if !part.isEmpty, part.count <= Self.readableLimit, part.allSatisfy(Self.isReadable), !Self.isDots(part) {
                return String(decoding: part, as: UTF8.self)
            }
            var hash = SHA256()
            hash.update(Self.netstring(part))
            return "h-" + Self.hex128(hash.finalize())
        case .fields(let names):
            var parts: [ArraySlice<UInt8>] = []
            parts.reserveCapacity(names.count)
            var readable = true
            var length = names.count - 1
            for name in names {
                let part = try Self.part(of: record, field: name)
                if readable { readable = !part.isEmpty && part.allSatisfy(Self.isReadable) }
                length += part.count
                parts.append(part)
            }
            if readable, length <= Self.readableLimit {
                var out = [UInt8]()
                out.reserveCapacity(length)
                for (k, part) in parts.enumerated() {
                    if k > 0 { out.append(UInt8(ascii: ":")) }
                    out.append(contentsOf: part)
                }
                if !Self.isDots(out[...]) { return String(decoding: out, as: UTF8.self) }
            }
            var hash = SHA256()
            for part in parts { hash.update(Self.netstring(part)) }
            return "h-" + Self.hex128(hash.finalize())
        }
    }

    /// One id field's value as id text.
    /// - Throws: `RecordError` (`missingField`, `wrongType`).
    @inline(__always)
    static func part(of record: Record, field name: String) throws(RecordError) -> ArraySlice<UInt8> {
        guard let value = record.fields[name], value.kind != .null else {
            throw RecordError(.missingField, "id field '\(name)' is missing or null", field: name)
        }
        switch value.kind {
        case .string:
            return value.hasEscapes ? Array((value.text ?? "").utf8)[...] : value.raw.dropFirst().dropLast()
        case .number, .boolean:
            return value.raw
        default:
            throw RecordError(.wrongType, "id field '\(name)' is an \(value.kind.rawValue), not a scalar", field: name)
        }
    }

    /// `.` and `..` are not valid ids (they name paths), so they are hashed.
    static func isDots(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count <= 2 && !bytes.isEmpty && bytes.allSatisfy { $0 == 0x2E }
    }

    @inline(__always)
    static func isReadable(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    static func netstring(_ bytes: some Collection<UInt8>) -> [UInt8] {
        Array("\(bytes.count):".utf8) + bytes + [UInt8(ascii: ",")]
    }

    static func hex128(_ digest: SHA256Digest) -> String { Hex.encode(digest.bytes.prefix(16)) }
}

/// Bulk-request lines (`_bulk`, NDJSON).
package enum BulkAction {
    /// Appends `{"index":{"_index":…,"_id":…}}\n<document>\n` to `out` (no `_id` when nil).
    package static func appendIndex(index: String, id: String?, document: ArraySlice<UInt8>, to out: inout [UInt8]) {
        var writer = IndexActionWriter()
        writer.append(index: index, id: id, document: document, to: &out)
    }
}

/// Writes `index` actions record after record. The start of the action line (with the escaped
/// index name) is kept for the current index name, so a record costs its id's check and three
/// appends: the action line (assembled on the stack), the document, the newline.
package struct IndexActionWriter: Sendable {
    private var index = ""
    /// `{"index":{"_index":"<index>"`, escaped.
    private var start: [UInt8] = []

    package init() {}

    /// Appends `{"index":{"_index":…,"_id":…}}\n<document>\n` to `out` (no `_id` when nil).
    package mutating func append(index: String, id: String?, document: ArraySlice<UInt8>, to out: inout [UInt8]) {
        if start.isEmpty || index != self.index {
            self.index = index
            start = Self.indexActionStart
            var name = index
            name.withUTF8 { JSONWriter.writeString(utf8: $0, to: &start) }
        }
        if var id {
            id.withUTF8 { appendAction(id: $0, to: &out) }
        } else {
            out.append(contentsOf: start)
            out.append(contentsOf: Self.actionEnd)
        }
        out.append(contentsOf: document)
        out.append(0x0A)
    }

    @inline(__always)
    private func appendAction(id: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        // JSONWriter.needsEscape's rule, inline (it sits in another module).
        var plain = true
        for byte in id where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            plain = false
            break
        }
        guard plain else {
            out.append(contentsOf: start)
            out.append(contentsOf: Self.idKey)
            JSONWriter.writeString(utf8: id, to: &out)
            out.append(contentsOf: Self.actionEnd)
            return
        }
        let length = start.count + Self.idKey.count + id.count + 2 + Self.actionEnd.count
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { line in
            var at = 0
            func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
                (line.baseAddress! + at).initialize(from: base, count: bytes.count)
                at += bytes.count
            }
            start.withUnsafeBufferPointer { put($0) }
            Self.idKey.withUnsafeBufferPointer { put($0) }
            line[at] = 0x22
            at += 1
            put(id)
            line[at] = 0x22
            at += 1
            Self.actionEnd.withUnsafeBufferPointer { put($0) }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: line[..<at]))
        }
    }

    private static let indexActionStart = Array(#"{"index":{"_index":"#.utf8)
    private static let idKey = Array(#","_id":"#.utf8)
    private static let actionEnd = Array("}}\n".utf8)
}
