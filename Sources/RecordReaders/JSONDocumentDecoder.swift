import JSONCodec
import Primitives

/// A JSON document whose records are the elements of the array at a JSON pointer, read as a stream:
/// a byte-level RFC 8259 state machine validates the whole document as it arrives and hands out
/// each element as soon as it is complete, holding no more than the largest element.
///
/// Parent fields (`mergeParentFields`): the scalar members (string, number, boolean, null) of the
/// objects that enclose the records array are added to each record, unless the record has a member
/// of that name; a deeper object's member wins over a shallower one's. A document of at most
/// `smallDocumentBytes` is read whole first, so members written after the array count too; a
/// larger document is streamed and only the members that come before the array are merged.
///
/// Rules: a byte-order mark is skipped; an element that is not an object is `notAnObject`; one
/// longer than `maxRecordBytes` is `recordTooLong` (skipped, not held); invalid syntax anywhere,
/// nesting deeper than `maxDepth` (within a record; the envelope's depth is added), a pointer that
/// leads nowhere or to something other than an array, and a document that ends early are
/// `RecordFileError`s, raised after the records before them. A resume re-reads the document from
/// its start and skips the records that start before the resume offset.
package struct JSONDocumentDecoder: RecordDecoder {
    private let pointer: [String]
    private let merge: Bool
    private let rules: RecordRules
    private let options: ReaderOptions
    private let resumeOffset: Int64
    private var buffer = InputBuffer(baseOffset: 0)
    private var prelude: StreamPrelude
    /// Index in `buffer.bytes` of the next byte to examine.
    private var scan = 0
    private let maxFrames: Int
    package private(set) var summary = ReaderSummary()

    // The grammar.
    private enum Expect: UInt8 { case value, valueOrClose, key, keyOrClose, colon, commaOrClose, end }
    private enum Lex: UInt8 { case none, string, number, literal }
    private struct Frame {
        var isObject: Bool
        var onPath: Bool
        /// Arrays: elements seen. Objects on the path: the current member's name.
        var count = 0
        var key: String?
    }
    private var frames: [Frame] = []
    private var expect = Expect.value
    private var lex = Lex.none
    private var rootSeen = false
    // String state.
    private var stringIsKey = false
    private var escape: UInt8 = 0  // 0 none, 1 after '\', 2...5 hex digits read + 2
    private var unicode: UInt32 = 0
    private var surrogate: UInt8 = 0  // 0 none, 1 want '\', 2 want 'u', 3 reading the low half
    private var utf8Remaining = 0
    private var utf8Low: UInt8 = 0x80
    private var utf8High: UInt8 = 0xBF
    // Number and literal state.
    private var numberState: UInt8 = 0
    private var literal: StaticString = "null"
    private var literalIndex = 0
    private var tokenStart: Int64 = 0

    // The path and the records.
    private var recordsDepth = -1  // frames.count at element level while in the records array
    private var foundTarget = false
    private var recordsClosed = false
    private var targetNotArrayAt: Int64?
    private var recordStart: Int64?
    private var recordTooLong = false
    private var recordExcerpt: [UInt8] = []
    private var elementCount = 0
    /// A key or scalar being captured (stream offset of its start), for the path and parent fields.
    private var capture: Int64?
    private var captureIsKey = false
    private var parents: [Parent] = []
    private var collectOnly = false
    private var decidedMode = false
    private var selection: FieldSelection
    private var slots: [ObjectScanner.Slot]

    private struct Parent: Sendable {
        var name: String
        var level: Int
        /// `"name":value` as written.
        var member: [UInt8]
        var valueOffset: Int
        var kind: FieldValue.Kind
    }

    /// The longest key or parent value kept for the path or for merging.
    private static let captureLimit = 64 << 10

    package init(
        pointer: [String], mergeParentFields: Bool, rules: RecordRules, options: ReaderOptions = ReaderOptions(),
        start: ReadPosition = .start, sourceOffset: Int64 = 0
    ) {
        self.pointer = pointer
        self.merge = mergeParentFields
        self.rules = rules
        self.options = options
        resumeOffset = start.byteOffset
        prelude = StreamPrelude(start: .start, sourceOffset: sourceOffset)
        maxFrames = min(options.maxDepth, ObjectScanner.depthCapacity) + pointer.count + 1
        selection = rules.selection
        slots = Array(repeating: ObjectScanner.Slot(), count: rules.selection.count)
        decidedMode = !mergeParentFields || options.smallDocumentBytes <= 0
    }

    package mutating func feed(_ chunk: [UInt8]) {
        let keep = retainFrom()
        scan -= buffer.append(chunk, keepingFrom: keep)
        summary.bytesRead += Int64(chunk.count)
    }

    package mutating func finish() { buffer.ended = true }

    /// The buffer index before which nothing is needed any more.
    private func retainFrom() -> Int {
        var from = Int64(buffer.offset(of: scan))
        if let start = recordStart, !recordTooLong { from = min(from, start) }
        if let capture { from = min(from, capture) }
        return Int(from - buffer.offset(of: 0))
    }

    package mutating func next() throws(RecordFileError) -> DecodeStep {
        if prelude.unusable {
            throw RecordFileError(.invalidResumePoint, "a JSON document is always re-read from its first byte")
        }
        guard prelude.skipByteOrderMark(&buffer, &summary) else { return .needInput }
        if scan < buffer.position { scan = buffer.position }
        if !decidedMode {
            // Small documents are read whole first, to find parent fields after the records too.
            if buffer.count <= options.smallDocumentBytes && !buffer.ended { return .needInput }
            decidedMode = true
            if buffer.ended {
                var probe = self
                probe.collectOnly = true
                while true {
                    guard let step = try? probe.next() else { break }
                    if case .end = step { break }
                    if case .needInput = step { break }
                }
                parents = probe.parents
                for k in parents.indices { parents[k].level = Int.max }
            }
        }
        while true {
            let event = try run()
            switch event {
            case .record(let start, let end):
                if let item = makeItem(start: start, end: end) { return .item(item) }
            case .needInput:
                if buffer.ended { return try endOfInput() }
                buffer.position = retainFrom()
                return .needInput
            }
        }
    }

    private enum Event {
        case record(Int, Int)
        case needInput
    }

    private mutating func endOfInput() throws(RecordFileError) -> DecodeStep {
        if lex == .number, frames.isEmpty, [2, 3, 5, 8].contains(numberState) {
            lex = .none
            _ = try completeValue(kind: .number, end: buffer.count)
        }
        // Only white space may follow the root value.
        let bytes = buffer.bytes
        while scan < bytes.count {
            guard isJSONWhitespace(bytes[scan]) else { throw syntax("unexpected data after the document") }
            scan += 1
        }
        guard rootSeen else {
            if options.inputIsPrefix { return .end }
            throw RecordFileError(.empty, "the document is empty")
        }
        if expect != .end || lex != .none {
            if options.inputIsPrefix {
                if recordStart != nil { summary.droppedCutOffRecord = true }
                recordStart = nil
                return .end
            }
            throw RecordFileError(
                .truncated, "the document ends before it is complete", offset: buffer.offset(of: buffer.count))
        }
        if !foundTarget {
            throw RecordFileError(.pointerNotFound, "nothing at the records pointer '\(pointerText)'")
        }
        if let offset = targetNotArrayAt {
            throw RecordFileError(
                .notAnArray, "the records pointer '\(pointerText)' leads to something other than an array",
                offset: offset)
        }
        return .end
    }

    private var pointerText: String { pointer.isEmpty ? "" : "/" + pointer.joined(separator: "/") }

    // MARK: The state machine

    private mutating func run() throws(RecordFileError) -> Event {
        let bytes = buffer.bytes
        let count = bytes.count
        return try bytes.withUnsafeBufferPointer { (p) throws(RecordFileError) -> Event in
            let base = p.baseAddress ?? UnsafePointer(bitPattern: 1)!
            while scan < count {
                switch lex {
                case .string:
                    try stringBytes(base, count)
                    if let event = pendingEvent {
                        pendingEvent = nil
                        return event
                    }
                    continue
                case .number:
                    if try numberByte(p[scan]) { scan += 1 }
                    if let event = pendingEvent {
                        pendingEvent = nil
                        return event
                    }
                    continue
                case .literal:
                    guard p[scan] == literal.utf8Start[literalIndex] else {
                        throw syntax("an unknown word (expected \(literal))")
                    }
                    scan += 1
                    literalIndex += 1
                    if literalIndex == literal.utf8CodeUnitCount {
                        lex = .none
                        let kind: FieldValue.Kind = literal.utf8Start[0] == UInt8(ascii: "n") ? .null : .boolean
                        if let event = try completeValue(kind: kind, end: scan) { return event }
                    }
                    continue
                case .none:
                    break
                }
                let c = p[scan]
                if isJSONWhitespace(c) {
                    scan += 1
                    continue
                }
                switch expect {
                case .end:
                    throw syntax("unexpected data after the document")
                case .colon:
                    guard c == UInt8(ascii: ":") else { throw syntax("expected ':' after a member name") }
                    scan += 1
                    expect = .value
                case .key, .keyOrClose:
                    if c == UInt8(ascii: "}"), expect == .keyOrClose {
                        scan += 1
                        if let event = try close(object: true) { return event }
                    } else if c == UInt8(ascii: "\"") {
                        let top = frames.count - 1
                        if frames[top].onPath, top < pointer.count {
                            capture = buffer.offset(of: scan)
                            captureIsKey = true
                        }
                        startString(isKey: true)
                    } else {
                        throw syntax("expected a member name in quotes")
                    }
                case .commaOrClose:
                    let isObject = frames[frames.count - 1].isObject
                    if c == UInt8(ascii: ",") {
                        scan += 1
                        expect = isObject ? .key : .value
                    } else if c == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        scan += 1
                        if let event = try close(object: isObject) { return event }
                    } else {
                        throw syntax(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
                    }
                case .value, .valueOrClose:
                    if c == UInt8(ascii: "]"), expect == .valueOrClose {
                        scan += 1
                        if let event = try close(object: false) { return event }
                        continue
                    }
                    try startValue(c)
                }
            }
            // The end of the input so far: a record that has grown too long is no longer held, nor
            // a key or parent value too long to keep.
            if let start = recordStart, !recordTooLong, buffer.offset(of: scan) - start > Int64(options.maxRecordBytes)
            {
                recordTooLong = true
                let from = Int(start - buffer.offset(of: 0))
                recordExcerpt = Array(p[from..<min(count, from + RecordItem.rawLimit)])
            }
            if let start = capture, buffer.offset(of: scan) - start > Int64(Self.captureLimit) {
                capture = nil
            }
            return .needInput
        }
    }

    /// A value begins at `scan` with byte `c`.
    private mutating func startValue(_ c: UInt8) throws(RecordFileError) {
        let offset = buffer.offset(of: scan)
        let level = frames.count
        var onPath = false
        var isTarget = false
        if level == 0 {
            rootSeen = true
            onPath = true
            isTarget = pointer.isEmpty
        } else {
            let parent = frames[level - 1]
            if !parent.isObject { frames[level - 1].count += 1 }
            if parent.onPath, level - 1 < pointer.count {
                let token = pointer[level - 1]
                onPath = parent.isObject ? parent.key == token : String(parent.count) == token
                isTarget = onPath && level == pointer.count
            }
            if recordsDepth == level, !recordsClosed {
                recordStart = offset
                recordTooLong = false
            }
        }
        if isTarget, !foundTarget {
            foundTarget = true
            if c == UInt8(ascii: "[") {
                recordsDepth = level + 1
                prepareSelection()
            } else {
                // Reported once the document is known to be valid JSON.
                targetNotArrayAt = offset
            }
        } else if isTarget {
            onPath = false
        }
        // Scalars of objects that enclose the records array are parent fields.
        let isParentMember =
            merge && level > 0 && frames[level - 1].isObject && frames[level - 1].onPath && level - 1 < pointer.count
            && (recordsDepth < 0 || level < recordsDepth)
        switch c {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard frames.count < maxFrames else {
                throw RecordFileError(
                    .tooDeep, "the document nests deeper than \(maxFrames - 1) levels", offset: offset)
            }
            frames.append(Frame(isObject: c == UInt8(ascii: "{"), onPath: onPath && !isTarget))
            if isTarget { frames[frames.count - 1].onPath = false }
            expect = c == UInt8(ascii: "{") ? .keyOrClose : .valueOrClose
            scan += 1
        case UInt8(ascii: "\""):
            if isParentMember {
                capture = offset
                captureIsKey = false
            }
            startString(isKey: false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if isParentMember {
                capture = offset
                captureIsKey = false
            }
            tokenStart = offset
            lex = .number
            numberState = 0
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            if isParentMember {
                capture = offset
                captureIsKey = false
            }
            lex = .literal
            literal = c == UInt8(ascii: "t") ? "true" : c == UInt8(ascii: "f") ? "false" : "null"
            literalIndex = 0
        default:
            throw syntax("expected a value")
        }
    }

    private mutating func startString(isKey: Bool) {
        tokenStart = buffer.offset(of: scan)
        scan += 1
        lex = .string
        stringIsKey = isKey
        escape = 0
        surrogate = 0
        utf8Remaining = 0
    }

    /// Closes the innermost container.
    private mutating func close(object: Bool) throws(RecordFileError) -> Event? {
        guard let top = frames.last, top.isObject == object else { throw syntax("mismatched bracket") }
        frames.removeLast()
        if recordsDepth == frames.count + 1, !recordsClosed {
            recordsClosed = true
        }
        return try completeValue(kind: object ? .object : .array, end: scan)
    }

    /// A value ended just before buffer index `end`.
    private mutating func completeValue(kind: FieldValue.Kind, end: Int) throws(RecordFileError) -> Event? {
        expect = frames.isEmpty ? .end : .commaOrClose
        let level = frames.count
        if let start = capture, !captureIsKey {
            capture = nil
            let from = Int(start - buffer.offset(of: 0))
            if end - from <= Self.captureLimit, let name = frames[level - 1].key {
                addParent(name: name, level: level, value: buffer.bytes[from..<end], kind: kind)
            }
        }
        if let start = recordStart, level == recordsDepth {
            recordStart = nil
            let from = Int(start - buffer.offset(of: 0))
            return .record(from, end)
        }
        return nil
    }

    private mutating func addParent(name: String, level: Int, value: ArraySlice<UInt8>, kind: FieldValue.Kind) {
        var member = [UInt8]()
        JSONWriter.writeString(name, to: &member)
        member.append(UInt8(ascii: ":"))
        let valueOffset = member.count
        member.append(contentsOf: value)
        let parent = Parent(name: name, level: level, member: member, valueOffset: valueOffset, kind: kind)
        if let existing = parents.firstIndex(where: { $0.name == name }) {
            if parents[existing].level <= level { parents[existing] = parent }
        } else {
            parents.append(parent)
        }
    }

    /// The selection for records: the rules' fields plus the parent names, so a record's own
    /// members can be told from the parents'.
    private mutating func prepareSelection() {
        guard merge else { return }
        selection = FieldSelection(rules.selection.names + parents.map(\.name))
        slots = Array(repeating: ObjectScanner.Slot(), count: selection.count)
    }

    // MARK: Tokens

    @inline(__always)
    private mutating func stringBytes(_ p: UnsafePointer<UInt8>, _ count: Int) throws(RecordFileError) {
        while scan < count {
            if escape == 0 && surrogate == 0 && utf8Remaining == 0 {
                scan = firstSpecialStringByte(p, from: scan, end: count)
                guard scan < count else { return }
            }
            let c = p[scan]
            if utf8Remaining > 0 {
                guard c >= utf8Low && c <= utf8High else { throw syntax("invalid UTF-8 in a string") }
                utf8Low = 0x80
                utf8High = 0xBF
                utf8Remaining -= 1
                scan += 1
                continue
            }
            if surrogate == 1 || surrogate == 2 {
                guard c == (surrogate == 1 ? UInt8(ascii: "\\") : UInt8(ascii: "u")) else {
                    throw syntax("a lone UTF-16 surrogate in a \\u escape")
                }
                surrogate += 1
                if surrogate == 3 {
                    escape = 2
                    unicode = 0
                }
                scan += 1
                continue
            }
            if escape == 1 {
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    escape = 0
                case UInt8(ascii: "u"):
                    escape = 2
                    unicode = 0
                default:
                    throw syntax("an invalid escape in a string")
                }
                scan += 1
                continue
            }
            if escape >= 2 {
                guard let digit = Hex.value(c) else { throw syntax("a malformed \\u escape") }
                unicode = unicode << 4 | UInt32(digit)
                escape += 1
                scan += 1
                if escape == 6 {
                    escape = 0
                    if surrogate == 3 {
                        guard (0xDC00...0xDFFF).contains(unicode) else {
                            throw syntax("a lone UTF-16 surrogate in a \\u escape")
                        }
                        surrogate = 0
                    } else if (0xD800...0xDBFF).contains(unicode) {
                        surrogate = 1
                    } else if (0xDC00...0xDFFF).contains(unicode) {
                        throw syntax("a lone UTF-16 surrogate in a \\u escape")
                    }
                }
                continue
            }
            switch c {
            case UInt8(ascii: "\""):
                scan += 1
                lex = .none
                if stringIsKey {
                    expect = .colon
                    if let start = capture, captureIsKey {
                        capture = nil
                        let from = Int(start - buffer.offset(of: 0))
                        let key: String? =
                            scan - from <= Self.captureLimit
                            ? buffer.bytes.withUnsafeBufferPointer {
                                decodeStringLiteral(UnsafeBufferPointer(rebasing: $0[from..<scan]))
                            }
                            : nil
                        frames[frames.count - 1].key = key
                    } else if frames[frames.count - 1].onPath {
                        frames[frames.count - 1].key = nil
                    }
                } else {
                    if let event = try completeValue(kind: .string, end: scan) { pendingEvent = event }
                }
                return
            case UInt8(ascii: "\\"):
                escape = 1
                scan += 1
            case 0..<0x20:
                throw syntax("an unescaped control character in a string")
            default:
                // A UTF-8 lead byte.
                switch c {
                case 0xC2...0xDF: utf8Remaining = 1
                case 0xE0:
                    utf8Remaining = 2
                    utf8Low = 0xA0
                case 0xED:
                    utf8Remaining = 2
                    utf8High = 0x9F
                case 0xE1...0xEC, 0xEE...0xEF: utf8Remaining = 2
                case 0xF0:
                    utf8Remaining = 3
                    utf8Low = 0x90
                case 0xF1...0xF3: utf8Remaining = 3
                case 0xF4:
                    utf8Remaining = 3
                    utf8High = 0x8F
                default: throw syntax("invalid UTF-8 in a string")
                }
                scan += 1
            }
        }
    }

    private var pendingEvent: Event?

    /// Feeds one byte to the number in progress; false when the byte ends the number (not consumed).
    @inline(__always)
    private mutating func numberByte(_ c: UInt8) throws(RecordFileError) -> Bool {
        let digit = isDigit(c)
        switch numberState {
        case 0:  // start
            if c == UInt8(ascii: "-") {
                numberState = 1
            } else if c == UInt8(ascii: "0") {
                numberState = 2
            } else {
                numberState = 3
            }
            return true
        case 1:  // after '-'
            guard digit else { throw syntax("a malformed number") }
            numberState = c == UInt8(ascii: "0") ? 2 : 3
            return true
        case 2, 3:  // after a leading zero, in the integer digits
            if digit {
                guard numberState == 3 else { throw syntax("a number with a leading zero") }
                return true
            }
            if c == UInt8(ascii: ".") {
                numberState = 4
                return true
            }
            if c | 0x20 == UInt8(ascii: "e") {
                numberState = 6
                return true
            }
        case 4:  // after '.'
            guard digit else { throw syntax("a malformed number") }
            numberState = 5
            return true
        case 5:
            if digit { return true }
            if c | 0x20 == UInt8(ascii: "e") {
                numberState = 6
                return true
            }
        case 6:  // after 'e'
            if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                numberState = 7
                return true
            }
            guard digit else { throw syntax("a malformed number") }
            numberState = 8
            return true
        case 7:
            guard digit else { throw syntax("a malformed number") }
            numberState = 8
            return true
        default:
            if digit { return true }
        }
        // The number ends before `c`.
        lex = .none
        if let event = try completeValue(kind: .number, end: scan) { pendingEvent = event }
        return false
    }

    private func syntax(_ what: String) -> RecordFileError {
        let offset = buffer.offset(of: min(scan, buffer.count))
        return RecordFileError(.invalidJSON, "the document is not valid JSON: \(what)", offset: offset)
    }

    // MARK: Records

    /// The record item for the element `bytes[start..<end]`; nil when it is skipped.
    private mutating func makeItem(start: Int, end: Int) -> RecordItem? {
        elementCount += 1
        let startOffset = buffer.offset(of: start)
        let endOffset = buffer.offset(of: end)
        let number = elementCount
        if collectOnly { return nil }
        if startOffset < resumeOffset {
            summary.skippedBeforeResume += 1
            return nil
        }
        summary.records += 1
        if recordTooLong || end - start > options.maxRecordBytes {
            if !recordTooLong { recordExcerpt = Array(buffer.bytes[start..<min(end, start + RecordItem.rawLimit)]) }
            recordTooLong = false
            summary.failedRecords += 1
            let excerpt = recordExcerpt
            recordExcerpt = []
            return RecordItem(
                number: number, startOffset: startOffset, endOffset: endOffset,
                outcome: .failure(
                    RecordError(
                        .recordTooLong, "record is longer than \(options.maxRecordBytes) bytes (\(end - start) bytes)"),
                    raw: excerpt[...], rawTruncated: true))
        }
        let bytes = buffer.bytes
        for k in slots.indices { slots[k] = ObjectScanner.Slot() }
        let selection = selection
        let failed = bytes.withUnsafeBufferPointer { p in
            ObjectScanner.scan(
                p.baseAddress!, start: start, end: end, maxDepth: options.maxDepth, selection: selection, slots: &slots)
        }
        let (excerpt, truncated) = rawExcerpt(bytes[start..<end])
        if let failed {
            summary.failedRecords += 1
            return RecordItem(
                number: number, startOffset: startOffset, endOffset: endOffset,
                outcome: .failure(RecordError(failed.code, failed.detail), raw: excerpt, rawTruncated: truncated))
        }
        var document = bytes[start..<end]
        var shift = 0
        if merge, !parents.isEmpty {
            (document, shift) = merged(bytes, start, end)
        }
        var values = [FieldValue?](repeating: nil, count: rules.selection.count)
        for k in 0..<rules.selection.count {
            let slot = slots[k]
            if slot.start >= 0 {
                values[k] = FieldValue(
                    kind: slot.kind, raw: document[(slot.start + shift)..<(slot.end + shift)],
                    hasEscapes: slot.hasEscapes)
            }
        }
        if merge, !parents.isEmpty {
            // Parent values for the fields the record lacks, as slices of the merged document.
            var position = document.endIndex - 1
            for parent in parents.reversed() where slots[selection.slot(of: parent.name)!].start < 0 {
                position -= parent.member.count
                if let k = rules.selection.slot(of: parent.name), values[k] == nil {
                    values[k] = FieldValue(
                        kind: parent.kind,
                        raw: document[(position + parent.valueOffset)..<(position + parent.member.count)],
                        hasEscapes: parent.kind == .string)
                }
                position -= 1  // the comma before it (or the brace)
            }
        }
        if let violation = rules.violation(in: values) {
            summary.failedRecords += 1
            return RecordItem(
                number: number, startOffset: startOffset, endOffset: endOffset,
                outcome: .failure(violation, raw: excerpt, rawTruncated: truncated))
        }
        let record = Record(document: document, fields: ExtractedFields(selection: rules.selection, values: values))
        return RecordItem(number: number, startOffset: startOffset, endOffset: endOffset, outcome: .record(record))
    }

    /// The element with the parent members it lacks appended; and how far its bytes moved.
    private func merged(_ bytes: [UInt8], _ start: Int, _ end: Int) -> (ArraySlice<UInt8>, Int) {
        let last = end - 1  // the closing brace
        var inner = last - 1
        while inner > start, isJSONWhitespace(bytes[inner]) { inner -= 1 }
        let isEmpty = inner == start
        var out = [UInt8]()
        out.reserveCapacity(end - start + parents.reduce(0) { $0 + $1.member.count + 1 })
        out.append(contentsOf: bytes[start..<last])
        var first = isEmpty
        for parent in parents where slots[selection.slot(of: parent.name)!].start < 0 {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: parent.member)
        }
        out.append(UInt8(ascii: "}"))
        return (out[...], -start)
    }
}
