package import JSONCodec
package import PipelineSettings

/// Why one record could not be read. The file goes on: the record is reported (with its reason)
/// to the errors object and the next record is read.
package struct RecordError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable codes, written to the errors object and counted in metrics.
    package enum Code: String, Sendable, Hashable, CaseIterable {
        /// The line or element is not valid JSON (RFC 8259).
        case invalidJSON = "InvalidJSON"
        /// Valid JSON, but not an object.
        case notAnObject = "NotAnObject"
        /// Text that is not valid UTF-8 (in a JSON string or a CSV cell).
        case invalidUTF8 = "InvalidUTF8"
        /// A line longer than the line-length limit (the line is skipped up to its newline).
        case lineTooLong = "LineTooLong"
        /// A JSON-document record longer than the record-length limit.
        case recordTooLong = "RecordTooLong"
        /// Arrays and objects nested deeper than the depth limit.
        case tooDeep = "TooDeep"
        /// A required field is absent or null.
        case missingField = "MissingField"
        /// A field's value does not have the declared `FieldType`.
        case wrongType = "WrongType"
        /// A CSV row with more or fewer cells than the header.
        case csvFieldCount = "CSVFieldCount"
        /// A CSV quoted cell that is not closed (or has text after its closing quote).
        case unbalancedQuote = "UnbalancedQuote"
    }

    package var code: Code
    /// What is wrong, naming the field or the place in the line; never the record's content beyond
    /// a short excerpt of a field name.
    package var reason: String
    /// The field concerned, when there is one.
    package var field: String?

    package init(_ code: Code, _ reason: String, field: String? = nil) {
        self.code = code
        self.reason = reason
        self.field = field
    }

    package var description: String { "\(code.rawValue): \(reason)" }
}

/// Why a whole file cannot be read (as opposed to one record). When records were already yielded,
/// it arrives after them, from the stream's `next()`.
package struct RecordFileError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable, CaseIterable {
        /// The byte source failed (network, a truncated or corrupt gzip stream…).
        case source = "SourceFailed"
        /// A JSON document that is not valid JSON (with the offset where it goes wrong).
        case invalidJSON = "InvalidJSONDocument"
        /// A JSON document with nothing in it.
        case empty = "EmptyDocument"
        /// A JSON document that ends before it is complete.
        case truncated = "TruncatedDocument"
        /// A JSON document nested deeper than the depth limit.
        case tooDeep = "DocumentTooDeep"
        /// The records pointer leads nowhere in the document.
        case pointerNotFound = "RecordsPointerNotFound"
        /// The records pointer leads to something other than an array.
        case notAnArray = "RecordsNotAnArray"
        /// The CSV header is unusable (duplicate, empty or not UTF-8 names; a line too long).
        case invalidHeader = "InvalidCSVHeader"
        /// The CSV header lacks a required column.
        case missingColumn = "MissingCSVColumn"
        /// A resume point that cannot be used (beyond the data, or a CSV resume without header).
        case invalidResumePoint = "InvalidResumePoint"
    }

    package var code: Code
    package var detail: String
    /// The decompressed-stream offset where the problem was found, when known.
    package var offset: Int64?
    /// The source's own error, for `.source`.
    package var underlying: (any Error)?

    package init(_ code: Code, _ detail: String, offset: Int64? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.detail = detail
        self.offset = offset
        self.underlying = underlying
    }

    package var description: String {
        if let offset { return "\(code.rawValue): \(detail) (at byte \(offset))" }
        return "\(code.rawValue): \(detail)"
    }
}

/// Where reading starts: the beginning of a file, or a saved resume point.
package struct ReadPosition: Sendable, Hashable, CustomStringConvertible {
    /// Offset in the decompressed stream of the next record to read (a record boundary as reported
    /// by `RecordItem.endOffset` or `startOffset`).
    package var byteOffset: Int64
    /// The 1-based number that record gets.
    package var recordNumber: Int

    package init(byteOffset: Int64, recordNumber: Int) {
        self.byteOffset = byteOffset
        self.recordNumber = recordNumber
    }

    package static let start = ReadPosition(byteOffset: 0, recordNumber: 1)
    package var description: String { "byte \(byteOffset), record \(recordNumber)" }
}

/// Limits and options every reader shares.
package struct ReaderOptions: Sendable, Hashable {
    /// The longest line (JSON lines, CSV record) or JSON-document record, in bytes. Longer ones are
    /// reported (`lineTooLong`/`recordTooLong`) and skipped without being buffered.
    package var maxRecordBytes: Int = 4 << 20
    /// Deepest nesting of arrays and objects in a record (and in a JSON document).
    package var maxDepth: Int = 64
    /// Set when the input is a prefix of the file (a range read for a sample): a record cut off by
    /// the end of the input is dropped silently instead of being reported. Only set it when the
    /// range did not reach the end of the file.
    package var inputIsPrefix: Bool = false
    /// JSON documents up to this size are read whole first so that parent fields written after the
    /// records array can be merged too (0: always stream; parent fields must then come first).
    package var smallDocumentBytes: Int = 4 << 20
    /// For CSV resumed at a byte offset with a source that starts there: the header's names (as
    /// `RecordStream.csvHeader` reported them on the first read).
    package var csvHeader: [String]? = nil

    package init() {}
}

/// One record's place in the decompressed stream, and what came of reading it.
package struct RecordItem: Sendable {
    /// 1-based position among the file's records (blank lines are not records).
    package var number: Int
    /// Offset of the record's first byte (its line's first byte for JSON lines and CSV).
    package var startOffset: Int64
    /// Offset just past the record (past its line end for JSON lines and CSV): resume here.
    package var endOffset: Int64
    package var outcome: Outcome

    package enum Outcome: Sendable {
        case record(Record)
        /// The record failed: `raw` is its original text (at most `rawLimit` bytes; `rawTruncated`
        /// says when it was cut).
        case failure(RecordError, raw: ArraySlice<UInt8>, rawTruncated: Bool)
    }

    /// The record, when it was read.
    package var record: Record? {
        if case .record(let record) = outcome { return record }
        return nil
    }
    /// The error, when the record failed.
    package var error: RecordError? {
        if case .failure(let error, _, _) = outcome { return error }
        return nil
    }
    /// Where the next record starts: save this to resume after this record.
    package var next: ReadPosition { ReadPosition(byteOffset: endOffset, recordNumber: number + 1) }

    /// The most of a failed record's text that is kept for the errors object.
    package static let rawLimit = 64 << 10
}

/// A record that was read and validated.
package struct Record: Sendable {
    /// The JSON object to index: the original line for JSON lines (trimmed), the object built from
    /// the cells for CSV, the element (with merged parent fields) for JSON documents.
    package var document: ArraySlice<UInt8>
    /// The values of the selected fields (top-level members), by name.
    package var fields: ExtractedFields

    /// The slow path: the whole record as a `JSON` object, for transformations.
    package func object(maxDepth: Int = JSONParser.defaultMaxDepth) throws(RecordError) -> JSONObject {
        let value: JSON
        do {
            value = try JSONParser.parse(document, maxDepth: maxDepth)
        } catch {
            throw RecordError(.invalidJSON, error.description)
        }
        guard case .object(let object) = value else {
            throw RecordError(.notAnObject, "the record is a JSON \(value.kindName), not an object")
        }
        return object
    }

    /// The document as text.
    package var text: String { String(decoding: document, as: UTF8.self) }
}

/// The values of the fields a caller selected, as JSON text slices of the document.
package struct ExtractedFields: Sendable {
    package let selection: FieldSelection
    package var values: [FieldValue?]

    package init(selection: FieldSelection, values: [FieldValue?]) {
        self.selection = selection
        self.values = values
    }

    /// The value of `name` (nil when the record has no such member, or it was not selected).
    package subscript(name: String) -> FieldValue? {
        guard let slot = selection.slot(of: name) else { return nil }
        return values[slot]
    }
}

/// A top-level member's value, as its JSON text.
package struct FieldValue: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable {
        case string, number, boolean, null, object, array
    }

    package var kind: Kind
    /// The value's JSON text (strings with their quotes and escapes).
    package var raw: ArraySlice<UInt8>
    /// For strings: whether the text holds escapes (so `text` must decode them).
    package var hasEscapes: Bool

    package init(kind: Kind, raw: ArraySlice<UInt8>, hasEscapes: Bool = false) {
        self.kind = kind
        self.raw = raw
        self.hasEscapes = hasEscapes
    }

    /// The value as text: a string's content, a number's text, `true`/`false`; nil for null,
    /// objects and arrays.
    package var text: String? {
        switch kind {
        case .string:
            let inner = raw.dropFirst().dropLast()
            if !hasEscapes { return String(decoding: inner, as: UTF8.self) }
            return (try? JSONParser.parse(raw))?.stringValue
        case .number, .boolean: return String(decoding: raw, as: UTF8.self)
        case .null, .object, .array: return nil
        }
    }

    /// The value as a `JSON` tree (the slow path).
    package var json: JSON? { try? JSONParser.parse(raw) }

    /// Whether the number is an integer (no fraction, no exponent).
    package var isInteger: Bool {
        kind == .number
            && !raw.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }
}

/// The top-level member names a reader extracts, each with a slot number.
package struct FieldSelection: Sendable, Hashable {
    package let names: [String]
    let utf8: [[UInt8]]
    /// Bit `k` is set when a name is `k` bytes long (bit 63: 63 bytes or longer): most members
    /// of a record are told apart from the selection by their length alone.
    let lengths: UInt64

    package init(_ names: [String]) {
        var unique: [String] = []
        for name in names where !unique.contains(name) { unique.append(name) }
        self.names = unique
        self.utf8 = unique.map { Array($0.utf8) }
        lengths = utf8.reduce(0) { $0 | Self.lengthBit($1.count) }
    }

    @inline(__always)
    static func lengthBit(_ count: Int) -> UInt64 { 1 << UInt64(min(count, 63)) }

    /// The selection a dataset needs: id fields, index-template fields, required and typed fields.
    package init(dataset: DatasetDefinition, extra: [String] = []) {
        var names = dataset.idFields
        names += dataset.index?.template.fields ?? []
        names += dataset.requiredFields.map(\.name)
        names += dataset.fieldTypes.keys.sorted()
        names += extra
        self.init(names)
    }

    package var count: Int { names.count }

    package func slot(of name: String) -> Int? { names.firstIndex(of: name) }

    /// The slot whose name is `bytes`, compared byte for byte.
    @inline(__always)
    func slot(matching key: UnsafeBufferPointer<UInt8>) -> Int? {
        guard lengths & Self.lengthBit(key.count) != 0 else { return nil }
        for (slot, name) in utf8.enumerated() where name.count == key.count {
            let equal = name.withUnsafeBufferPointer { name in
                name.count == 0 || memcmpEqual(name.baseAddress!, key.baseAddress!, name.count)
            }
            if equal { return slot }
        }
        return nil
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    while i < count {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}

/// What a finished stream saw, for logs and the file's status row.
package struct ReaderSummary: Sendable, Hashable {
    /// Records yielded (read or failed).
    package var records = 0
    package var failedRecords = 0
    /// Blank lines skipped (JSON lines and CSV).
    package var blankLines = 0
    /// Whether a byte-order mark was skipped at the start.
    package var skippedByteOrderMark = false
    /// Decompressed bytes consumed.
    package var bytesRead: Int64 = 0
    /// With `inputIsPrefix`: whether a last record was cut off by the end of the input and dropped.
    package var droppedCutOffRecord = false
    /// Records before the resume point that were read past without being yielded (JSON documents,
    /// which are always re-read from their start).
    package var skippedBeforeResume = 0
}
