import JSONCodec
import PipelineSettings
import Primitives

/// CSV with a header row (RFC 4180): cells separated by `delimiter`, records by LF or CRLF; a
/// quoted cell may hold delimiters, line breaks and doubled quotes (`""`). Each record becomes a
/// JSON object whose members are the header's names, in column order, with cells converted by the
/// dataset's `fieldTypes`:
///
/// | type | cell | JSON |
/// | --- | --- | --- |
/// | (none), string, any | any text | string |
/// | integer | `[+-]?digits` (spaces around allowed) | number (no `+`, no leading zeros) |
/// | number | decimal or exponent form (`1.5`, `-.5`, `1e3`) | number (normalised to RFC 8259) |
/// | boolean | `true`/`false`/`1`/`0`, any case | `true`/`false` |
/// | timestamp | ISO 8601 date-time | string |
/// | date | `yyyy-MM-dd` | string |
/// | object, array | JSON text of that kind | the value |
///
/// An empty cell is null, except a quoted empty cell (`""`) in a string column, which is "".
///
/// Rules: a byte-order mark is skipped; blank lines are skipped and counted; the header must have
/// unique, non-empty UTF-8 names and every required field (else a `RecordFileError`); a row with
/// another number of cells is `csvFieldCount`; a quote inside an unquoted cell is kept as text; text
/// after a closing quote is `unbalancedQuote`; an opening quote not closed within `maxRecordBytes`
/// or before the end makes the row end at its first line break, reported as `unbalancedQuote`, and
/// reading resumes on the next line; a row longer than `maxRecordBytes` is `lineTooLong`.
package struct CSVDecoder: RecordDecoder {
    private let delimiter: UInt8
    private let rules: RecordRules
    private let options: ReaderOptions
    private var buffer: InputBuffer
    private var prelude: StreamPrelude
    private var nextNumber: Int
    private var longLine: LongLine?
    // Record-end search state, kept across chunks.
    private var searchFrom = 0
    /// Where the search is within a row: 0 at a cell's start, 1 in an unquoted cell, 2 in a quoted
    /// cell, 3 just after a quote inside a quoted cell.
    private var scanState: UInt8 = 0
    private var inQuotes: Bool { scanState == 2 }
    /// Resuming at an offset with a source that starts there, and no header given.
    private let headerUnavailable: Bool
    private var columns: [Column] = []
    private var cells: [Cell] = []
    package private(set) var header: [String]?
    package private(set) var summary = ReaderSummary()

    private struct Column: Sendable {
        var name: String
        /// `"name":`, escaped.
        var key: [UInt8]
        var type: FieldType?
        var slot: Int?
    }

    private struct Cell {
        var start: Int
        var end: Int
        var quoted: Bool
        var doubledQuotes: Bool
    }

    package init(
        delimiter: UInt8 = UInt8(ascii: ","), rules: RecordRules, options: ReaderOptions = ReaderOptions(),
        start: ReadPosition = .start, sourceOffset: Int64? = nil
    ) {
        self.delimiter = delimiter
        self.rules = rules
        self.options = options
        let sourceOffset = sourceOffset ?? start.byteOffset
        buffer = InputBuffer(baseOffset: sourceOffset)
        prelude = StreamPrelude(start: start, sourceOffset: sourceOffset)
        nextNumber = start.recordNumber
        if sourceOffset > 0, let names = options.csvHeader { header = names }
        headerUnavailable = sourceOffset > 0 && header == nil
    }

    package mutating func feed(_ chunk: [UInt8]) {
        searchFrom -= buffer.append(chunk)
        summary.bytesRead += Int64(chunk.count)
    }

    package mutating func finish() { buffer.ended = true }

    package mutating func next() throws(RecordFileError) -> DecodeStep {
        if columns.isEmpty, let names = header {
            try setUpColumns(names)
        }
        while true {
            // The header comes from the start of the stream unless given; then the resume point.
            if headerUnavailable {
                throw RecordFileError(
                    .invalidResumePoint,
                    "resuming CSV at a byte offset needs the header (ReaderOptions.csvHeader) or a source from byte 0")
            }
            guard prelude.skipByteOrderMark(&buffer, &summary) else { return .needInput }
            if header != nil {
                guard try prelude.skipToStart(&buffer) else {
                    searchFrom = buffer.position
                    return .needInput
                }
            }
            if let skipping = longLine {
                guard let (endOffset, newline) = skipping.skip(&buffer) else { return .needInput }
                searchFrom = buffer.position
                scanState = 0
                longLine = nil
                if header == nil {
                    throw RecordFileError(
                        .invalidHeader,
                        skipping.unclosedQuote
                            ? "the header has a quote that is not closed"
                            : "the header line is longer than \(options.maxRecordBytes) bytes")
                }
                guard
                    var error = skipping.error(
                        end: endOffset, newline: newline, noun: "row", options: options, summary: &summary)
                else { return .end }
                // A quote left open is reported the same whether its line break was buffered already.
                if skipping.unclosedQuote { error = Self.unclosedQuoteError }
                return .item(
                    failure(error, start: skipping.start, end: endOffset, raw: skipping.excerpt[...], truncated: true))
            }
            if searchFrom < buffer.position {
                searchFrom = buffer.position
                scanState = 0
            }
            if let end = findRecordEnd() {
                let start = buffer.position
                buffer.position = end + 1
                searchFrom = buffer.position
                if let item = try row(from: start, to: end, endOffset: buffer.offset(of: end + 1)) {
                    return .item(item)
                }
                continue
            }
            // Decided on the row's first `maxRecordBytes + 2` bytes only (a row of the limit, CR and
            // LF), which `findRecordEnd` never looks past: how the stream was cut into chunks must
            // not change where a row ends.
            if buffer.available > options.maxRecordBytes + 1 {
                if inQuotes {
                    if let item = try unclosedQuote() { return .item(item) }
                    continue  // skipping the row to its line break
                }
                // Past the window the row's end is the next line break, quoted or not.
                longLine = LongLine(&buffer, searchingFrom: buffer.position + options.maxRecordBytes + 2)
                searchFrom = 0
                continue
            }
            guard buffer.ended else { return .needInput }
            guard buffer.available > 0 else { return .end }
            if options.inputIsPrefix {
                if !isBlank(buffer.position, buffer.count) { summary.droppedCutOffRecord = true }
                buffer.position = buffer.count
                return .end
            }
            if inQuotes {
                if let item = try unclosedQuote() { return .item(item) }
                continue
            }
            let start = buffer.position
            let end = buffer.count
            buffer.position = end
            searchFrom = end
            if let item = try row(from: start, to: end, endOffset: buffer.offset(of: end)) { return .item(item) }
        }
    }

    /// The index of the LF that ends the record at `buffer.position`, if it has arrived within the
    /// row limit (`maxRecordBytes` and a CR LF).
    private mutating func findRecordEnd() -> Int? {
        let bytes = buffer.bytes
        var i = searchFrom
        var state = scanState
        let delimiter = delimiter
        let window = buffer.position + options.maxRecordBytes + 2
        let found: Int? = bytes.withUnsafeBufferPointer { p in
            let n = min(p.count, window)
            while i < n {
                let c = p[i]
                switch state {
                case 2:
                    if c == UInt8(ascii: "\"") { state = 3 }
                case 0:
                    if c == UInt8(ascii: "\"") {
                        state = 2
                    } else if c == 0x0A {
                        return i
                    } else if c != delimiter {
                        state = 1
                    }
                case 3:
                    if c == UInt8(ascii: "\"") {
                        state = 2
                    } else if c == 0x0A {
                        return i
                    } else {
                        state = c == delimiter ? 0 : 1
                    }
                default:
                    if c == 0x0A {
                        return i
                    } else if c == delimiter {
                        state = 0
                    }
                }
                i += 1
            }
            return nil
        }
        searchFrom = i
        scanState = found == nil ? state : 0
        return found
    }

    private static let unclosedQuoteError = RecordError(
        .unbalancedQuote, "a quoted cell is not closed (the row is read up to its line break)")

    /// An opening quote that is not closed: the row ends at its first line break.
    private mutating func unclosedQuote() throws(RecordFileError) -> RecordItem? {
        let start = buffer.position
        let end = buffer.index(of: 0x0A, from: start)
        scanState = 0
        if let end {
            buffer.position = end + 1
        } else if buffer.ended {
            buffer.position = buffer.count
        } else {
            // No line break buffered yet: skip the line.
            longLine = LongLine(&buffer)
            longLine?.unclosedQuote = true
            searchFrom = 0
            return nil
        }
        searchFrom = buffer.position
        let lineEnd = end ?? buffer.count
        if header == nil { throw RecordFileError(.invalidHeader, "the header has a quote that is not closed") }
        let (excerpt, truncated) = rawExcerpt(buffer.bytes[start..<lineEnd])
        return failure(
            Self.unclosedQuoteError,
            start: buffer.offset(of: start), end: buffer.offset(of: buffer.position), raw: excerpt, truncated: truncated
        )
    }

    private func isBlank(_ start: Int, _ end: Int) -> Bool {
        var i = start
        while i < end, buffer.bytes[i] == 0x0D || buffer.bytes[i] == 0x0A { i += 1 }
        return i == end
    }

    // MARK: Rows

    /// Reads `bytes[start..<end]` (the LF excluded); nil for a blank line or the header.
    private mutating func row(from start: Int, to end: Int, endOffset: Int64) throws(RecordFileError) -> RecordItem? {
        let bytes = buffer.bytes
        var last = end
        if last > start, bytes[last - 1] == 0x0D { last -= 1 }
        if last == start {
            summary.blankLines += 1
            return nil
        }
        let startOffset = buffer.offset(of: start)
        if last - start > options.maxRecordBytes {
            let (excerpt, truncated) = rawExcerpt(bytes[start..<end])
            if header == nil {
                throw RecordFileError(.invalidHeader, "the header line is longer than \(options.maxRecordBytes) bytes")
            }
            return failure(
                RecordError(.lineTooLong, "row is longer than \(options.maxRecordBytes) bytes (\(last - start) bytes)"),
                start: startOffset, end: endOffset, raw: excerpt, truncated: truncated)
        }
        if let problem = splitCells(bytes, start, last) {
            if header == nil { throw RecordFileError(.invalidHeader, "header: \(problem.reason)") }
            let (excerpt, truncated) = rawExcerpt(bytes[start..<end])
            return failure(problem, start: startOffset, end: endOffset, raw: excerpt, truncated: truncated)
        }
        guard header != nil else {
            try readHeader(bytes)
            // The resume point counts from here when resuming after reading the header.
            return nil
        }
        let (excerpt, truncated) = rawExcerpt(bytes[start..<end])
        guard cells.count == columns.count else {
            return failure(
                RecordError(.csvFieldCount, "row has \(cells.count) cells, the header has \(columns.count)"),
                start: startOffset, end: endOffset, raw: excerpt, truncated: truncated)
        }
        switch makeDocument(bytes) {
        case .failure(let error):
            return failure(error, start: startOffset, end: endOffset, raw: excerpt, truncated: truncated)
        case .success(let (document, values)):
            if let violation = rules.violation(in: values) {
                return failure(violation, start: startOffset, end: endOffset, raw: excerpt, truncated: truncated)
            }
            let record = Record(
                document: document[...], fields: ExtractedFields(selection: rules.selection, values: values))
            return summary.item(number: &nextNumber, start: startOffset, end: endOffset, .record(record))
        }
    }

    /// Splits a row into `cells`; the problem when a quote is misplaced.
    private mutating func splitCells(_ bytes: [UInt8], _ start: Int, _ end: Int) -> RecordError? {
        cells.removeAll(keepingCapacity: true)
        var i = start
        while true {
            if i < end, bytes[i] == UInt8(ascii: "\"") {
                var j = i + 1
                var doubled = false
                while true {
                    guard j < end else {
                        return RecordError(
                            .unbalancedQuote, "the quoted cell in column \(cells.count + 1) is not closed")
                    }
                    if bytes[j] == UInt8(ascii: "\"") {
                        if j + 1 < end, bytes[j + 1] == UInt8(ascii: "\"") {
                            doubled = true
                            j += 2
                            continue
                        }
                        break
                    }
                    j += 1
                }
                cells.append(Cell(start: i + 1, end: j, quoted: true, doubledQuotes: doubled))
                i = j + 1
                if i == end { return nil }
                guard bytes[i] == delimiter else {
                    return RecordError(.unbalancedQuote, "text after the closing quote in column \(cells.count)")
                }
                i += 1
            } else {
                var j = i
                while j < end, bytes[j] != delimiter { j += 1 }
                cells.append(Cell(start: i, end: j, quoted: false, doubledQuotes: false))
                if j == end { return nil }
                i = j + 1
            }
        }
    }

    private func cellBytes(_ bytes: [UInt8], _ cell: Cell) -> ArraySlice<UInt8> {
        guard cell.doubledQuotes else { return bytes[cell.start..<cell.end] }
        var out = [UInt8]()
        var i = cell.start
        while i < cell.end {
            out.append(bytes[i])
            i += bytes[i] == UInt8(ascii: "\"") ? 2 : 1
        }
        return out[...]
    }

    private mutating func readHeader(_ bytes: [UInt8]) throws(RecordFileError) {
        var names: [String] = []
        for (index, cell) in cells.enumerated() {
            let raw = cellBytes(bytes, cell)
            guard let name = String(validating: raw, as: UTF8.self) else {
                throw RecordFileError(.invalidHeader, "column \(index + 1)'s name is not valid UTF-8")
            }
            guard !name.isEmpty else { throw RecordFileError(.invalidHeader, "column \(index + 1) has no name") }
            guard !names.contains(name) else {
                throw RecordFileError(.invalidHeader, "column name '\(name.prefix(80))' appears twice")
            }
            names.append(name)
        }
        header = names
        try setUpColumns(names)
    }

    private mutating func setUpColumns(_ names: [String]) throws(RecordFileError) {
        for required in rules.requiredNames where !names.contains(required) {
            throw RecordFileError(.missingColumn, "the header has no column '\(required)'")
        }
        columns = names.map { name in
            var key = [UInt8]()
            JSONWriter.writeString(name, to: &key)
            key.append(UInt8(ascii: ":"))
            return Column(name: name, key: key, type: rules.fieldTypes[name], slot: rules.selection.slot(of: name))
        }
    }

    // MARK: Cells to JSON

    private func makeDocument(_ bytes: [UInt8]) -> Result<([UInt8], [FieldValue?]), RecordError> {
        var document = [UInt8]()
        document.reserveCapacity(
            2 + cells.reduce(0) { $0 + $1.end - $1.start + 8 } + columns.reduce(0) { $0 + $1.key.count })
        document.append(UInt8(ascii: "{"))
        var ranges: [(slot: Int, start: Int, kind: FieldValue.Kind, end: Int)] = []
        for (index, cell) in cells.enumerated() {
            let column = columns[index]
            if index > 0 { document.append(UInt8(ascii: ",")) }
            document.append(contentsOf: column.key)
            let valueStart = document.count
            let text = cellBytes(bytes, cell)
            let kind: FieldValue.Kind
            switch convert(text, quoted: cell.quoted, type: column.type, into: &document) {
            case .success(let converted): kind = converted
            case .failure(let error):
                return .failure(RecordError(error.code, "column '\(column.name)': \(error.reason)", field: column.name))
            }
            if let slot = column.slot { ranges.append((slot, valueStart, kind, document.count)) }
        }
        document.append(UInt8(ascii: "}"))
        var values = [FieldValue?](repeating: nil, count: rules.selection.count)
        for range in ranges {
            values[range.slot] = FieldValue(
                kind: range.kind, raw: document[range.start..<range.end], hasEscapes: range.kind == .string)
        }
        return .success((document, values))
    }

    private func convert(_ text: ArraySlice<UInt8>, quoted: Bool, type: FieldType?, into out: inout [UInt8]) -> Result<
        FieldValue.Kind, RecordError
    > {
        guard validUTF8(text) else { return .failure(RecordError(.invalidUTF8, "the cell is not valid UTF-8")) }
        if text.isEmpty {
            if quoted, type == nil || type == .string || type == .any {
                out.append(contentsOf: [0x22, 0x22])
                return .success(.string)
            }
            out.append(contentsOf: "null".utf8)
            return .success(.null)
        }
        let trimmed = trimSpaces(text)
        switch type {
        case nil, .string?, .any?:
            appendJSONString(text, to: &out)
            return .success(.string)
        case .integer?:
            guard let number = normaliseNumber(trimmed, integer: true) else { return wrong(text, "an integer") }
            out.append(contentsOf: number)
            return .success(.number)
        case .number?:
            guard let number = normaliseNumber(trimmed, integer: false) else { return wrong(text, "a number") }
            out.append(contentsOf: number)
            return .success(.number)
        case .boolean?:
            let lower = trimmed.map { $0 | 0x20 }
            if lower.elementsEqual("true".utf8) || lower.elementsEqual("1".utf8) {
                out.append(contentsOf: "true".utf8)
            } else if lower.elementsEqual("false".utf8) || lower.elementsEqual("0".utf8) {
                out.append(contentsOf: "false".utf8)
            } else {
                return wrong(text, "a boolean")
            }
            return .success(.boolean)
        case .timestamp?:
            guard Timestamp(iso8601: String(decoding: trimmed, as: UTF8.self)) != nil else {
                return wrong(text, "an ISO 8601 timestamp")
            }
            appendJSONString(trimmed, to: &out)
            return .success(.string)
        case .date?:
            guard trimmed.count == 10, Timestamp(isoDate: String(decoding: trimmed, as: UTF8.self)) != nil else {
                return wrong(text, "a yyyy-MM-dd date")
            }
            appendJSONString(trimmed, to: &out)
            return .success(.string)
        case .object?, .array?:
            guard let value = try? JSONParser.parse(trimmed, maxDepth: options.maxDepth),
                (type == .object) == (value.objectValue != nil), (type == .array) == (value.arrayValue != nil)
            else { return wrong(text, type == .object ? "a JSON object" : "a JSON array") }
            JSONWriter.write(value, to: &out)
            return .success(type == .object ? .object : .array)
        }
    }

    private func wrong(_ text: ArraySlice<UInt8>, _ expected: String) -> Result<FieldValue.Kind, RecordError> {
        let excerpt = String(decoding: text.prefix(40), as: UTF8.self)
        return .failure(
            RecordError(.wrongType, "should be \(expected) but is '\(excerpt)\(text.count > 40 ? "…" : "")'"))
    }

    private mutating func failure(
        _ error: RecordError, start: Int64, end: Int64, raw: ArraySlice<UInt8>, truncated: Bool
    ) -> RecordItem {
        summary.item(number: &nextNumber, start: start, end: end, .failure(error, raw: raw, rawTruncated: truncated))
    }
}

// MARK: - Text helpers

func trimSpaces(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var start = text.startIndex
    var end = text.endIndex
    while start < end, text[start] == 0x20 || text[start] == 0x09 { start += 1 }
    while end > start, text[end - 1] == 0x20 || text[end - 1] == 0x09 { end -= 1 }
    return text[start..<end]
}

/// Whether `text` is well-formed UTF-8.
func validUTF8(_ text: ArraySlice<UInt8>) -> Bool {
    text.withUnsafeBufferPointer { p in
        guard let base = p.baseAddress else { return true }
        var i = 0
        while i < p.count {
            if p[i] < 0x80 {
                i += 1
                continue
            }
            let length = utf8SequenceLength(base, at: i, end: p.count)
            if length == 0 { return false }
            i += length
        }
        return true
    }
}

/// Appends valid UTF-8 `text` as a JSON string.
@inline(__always)
func appendJSONString(_ text: ArraySlice<UInt8>, to out: inout [UInt8]) {
    text.withUnsafeBufferPointer { JSONWriter.writeString(utf8: $0, to: &out) }
}

/// A CSV number as RFC 8259 number text: `+` dropped, leading zeros removed, `.5` → `0.5`,
/// `5.` → `5`; nil when it is not a number (or, with `integer`, has a fraction or exponent).
func normaliseNumber(_ text: ArraySlice<UInt8>, integer: Bool) -> [UInt8]? {
    var i = text.startIndex
    let end = text.endIndex
    var out = [UInt8]()
    if i < end, text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") {
        if text[i] == UInt8(ascii: "-") { out.append(UInt8(ascii: "-")) }
        i += 1
    }
    let intStart = i
    while i < end, isDigit(text[i]) { i += 1 }
    var intDigits = text[intStart..<i]
    while intDigits.count > 1, intDigits.first == UInt8(ascii: "0") { intDigits = intDigits.dropFirst() }
    var fraction: ArraySlice<UInt8> = []
    if i < end, text[i] == UInt8(ascii: ".") {
        if integer { return nil }
        i += 1
        let fractionStart = i
        while i < end, isDigit(text[i]) { i += 1 }
        fraction = text[fractionStart..<i]
    }
    guard !intDigits.isEmpty || !fraction.isEmpty else { return nil }
    out.append(contentsOf: intDigits.isEmpty ? [UInt8(ascii: "0")][...] : intDigits)
    if !fraction.isEmpty {
        out.append(UInt8(ascii: "."))
        out.append(contentsOf: fraction)
    }
    if i < end, text[i] | 0x20 == UInt8(ascii: "e") {
        if integer { return nil }
        i += 1
        out.append(UInt8(ascii: "e"))
        if i < end, text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") {
            if text[i] == UInt8(ascii: "-") { out.append(UInt8(ascii: "-")) }
            i += 1
        }
        let expStart = i
        while i < end, isDigit(text[i]) { i += 1 }
        guard i > expStart else { return nil }
        out.append(contentsOf: text[expStart..<i])
    }
    guard i == end else { return nil }
    return out
}
