#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The part of the stream a decoder still holds, as one array. Records are handed out as slices of
/// it, so the array is never changed in place once a slice may exist: new input either replaces it
/// (nothing left over), grows it (nothing consumed yet: a record spanning chunks) or is copied with
/// the leftover into a fresh array.
struct InputBuffer: Sendable {
    private(set) var bytes: [UInt8] = []
    /// Index of the first byte not consumed yet.
    var position = 0
    /// Stream offset of `bytes[0]`.
    private(set) var baseOffset: Int64 = 0
    /// No more input will come.
    var ended = false
    /// A buffer given up earlier, reused for the next copy once nobody holds a record from it: a
    /// fresh array per chunk would be fresh pages to fault in each time.
    private var spare: [UInt8] = []
    /// Larger buffers (after a long record) are not kept as spares.
    private static let spareLimit = 1 << 20

    init(baseOffset: Int64) { self.baseOffset = baseOffset }

    var count: Int { bytes.count }
    var available: Int { bytes.count - position }

    @inline(__always)
    func offset(of index: Int) -> Int64 { baseOffset + Int64(index) }

    /// The stream offset of the next unconsumed byte.
    var streamOffset: Int64 { offset(of: position) }

    /// Adds a chunk; indices held by the caller must be rebased by `shift` (returned) afterwards.
    @discardableResult
    mutating func append(_ chunk: [UInt8], keepingFrom keep: Int? = nil) -> Int {
        guard !chunk.isEmpty else { return 0 }
        let from = min(keep ?? position, position)
        if from == bytes.count {
            baseOffset += Int64(bytes.count)
            keepAsSpare()
            bytes = chunk
            position -= from
            return from
        }
        if from == 0 {
            bytes.append(contentsOf: chunk)
            return 0
        }
        // Taking the spare leaves it uniquely referenced when no record holds it, so it keeps its
        // storage; otherwise this allocates, as a fresh array would.
        var combined = spare
        spare = []
        combined.removeAll(keepingCapacity: true)
        combined.reserveCapacity(max(2 * (bytes.count - from), bytes.count - from + chunk.count))
        combined.append(contentsOf: bytes[from...])
        combined.append(contentsOf: chunk)
        keepAsSpare()
        bytes = combined
        baseOffset += Int64(from)
        position -= from
        return from
    }

    /// Keeps the held buffer as the spare (it is about to be replaced).
    private mutating func keepAsSpare() {
        spare = bytes.capacity <= Self.spareLimit ? bytes : []
    }

    /// Drops everything held (a line being skipped).
    mutating func discardAll() {
        baseOffset += Int64(bytes.count)
        bytes = []
        position = 0
    }

    /// The index of the first `byte` at or after `from`, if any.
    func index(of byte: UInt8, from: Int) -> Int? {
        guard from < bytes.count else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> Int? in
            guard let found = memchr(buffer.baseAddress! + from, Int32(byte), buffer.count - from) else { return nil }
            return UnsafeRawPointer(found) - UnsafeRawPointer(buffer.baseAddress!)
        }
    }
}

/// Whether `byte` is JSON white space (also what counts as blank in a line).
@inline(__always)
func isJSONWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

/// The UTF-8 byte-order mark.
let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

/// A failed record's text for the errors object: at most `RecordItem.rawLimit` bytes.
@inline(__always)
func rawExcerpt(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, Bool) {
    if bytes.count <= RecordItem.rawLimit { return (bytes, false) }
    return (bytes.prefix(RecordItem.rawLimit), true)
}

/// What happens before the first record: skipping to a resume point and past a byte-order mark.
struct StreamPrelude: Sendable {
    /// Bytes before this stream offset are skipped.
    var skipUntil: Int64
    var checkedByteOrderMark: Bool
    /// The source starts after the resume point: nothing can be read.
    let unusable: Bool

    init(start: ReadPosition, sourceOffset: Int64) {
        skipUntil = start.byteOffset
        checkedByteOrderMark = sourceOffset != 0
        unusable = sourceOffset > start.byteOffset
    }

    /// Skips a byte-order mark at the very start of the stream; false while more input is needed.
    mutating func skipByteOrderMark(_ buffer: inout InputBuffer, _ summary: inout ReaderSummary) -> Bool {
        guard !checkedByteOrderMark else { return true }
        if buffer.available < 3 && !buffer.ended { return false }
        checkedByteOrderMark = true
        if buffer.available >= 3, buffer.bytes[buffer.position..<buffer.position + 3].elementsEqual(byteOrderMark) {
            buffer.position += 3
            summary.skippedByteOrderMark = true
        }
        return true
    }

    /// Skips to the resume point; false while more input is needed.
    mutating func skipToStart(_ buffer: inout InputBuffer) throws(RecordFileError) -> Bool {
        if unusable { throw RecordFileError(.invalidResumePoint, "the source starts after the resume point") }
        guard buffer.streamOffset < skipUntil else { return true }
        let wanted = Int(skipUntil - buffer.streamOffset)
        if buffer.available >= wanted {
            buffer.position += wanted
            checkedByteOrderMark = true
            return true
        }
        buffer.position = buffer.count
        if buffer.ended {
            throw RecordFileError(
                .invalidResumePoint, "the resume point lies beyond the end of the data", offset: skipUntil)
        }
        return false
    }
}

/// A line too long to hold, being skipped up to its newline (JSON lines and CSV).
struct LongLine: Sendable {
    var start: Int64
    var excerpt: [UInt8]
    /// A CSV row skipped because a quote in it is not closed (not for its length).
    var unclosedQuote = false

    /// Starts skipping the line that begins at `buffer.position`.
    init(_ buffer: inout InputBuffer) {
        start = buffer.streamOffset
        excerpt = Array(buffer.bytes[buffer.position..<buffer.position + min(RecordItem.rawLimit, buffer.available)])
        buffer.discardAll()
    }

    /// Starts skipping the line that begins at `buffer.position` when its bytes before `index` are
    /// known to hold no line end: the search for it goes on from `index`, whatever else is buffered.
    init(_ buffer: inout InputBuffer, searchingFrom index: Int) {
        start = buffer.streamOffset
        excerpt = Array(buffer.bytes[buffer.position..<buffer.position + min(RecordItem.rawLimit, buffer.available)])
        buffer.position = min(index, buffer.count)
    }

    /// Skips more of the line; once its newline (or the end of the input) is reached, its end
    /// offset and whether a newline ended it.
    func skip(_ buffer: inout InputBuffer) -> (end: Int64, newline: Bool)? {
        if let newline = buffer.index(of: 0x0A, from: buffer.position) {
            buffer.position = newline + 1
            return (buffer.offset(of: newline + 1), true)
        }
        buffer.discardAll()
        return buffer.ended ? (buffer.streamOffset, false) : nil
    }

    /// Once skipped up to `end`: the error to report, or nil when the input is a prefix that ended
    /// inside the line (then counted as a dropped cut-off record).
    func error(
        end: Int64, newline: Bool, noun: String, options: ReaderOptions, summary: inout ReaderSummary
    ) -> RecordError? {
        if !newline, options.inputIsPrefix {
            summary.droppedCutOffRecord = true
            return nil
        }
        return RecordError(
            .lineTooLong, "\(noun) is longer than \(options.maxRecordBytes) bytes (\(end - start) bytes)")
    }
}

extension ReaderSummary {
    /// Numbers an item (taking `number` and advancing it) and counts it.
    mutating func item(number: inout Int, start: Int64, end: Int64, _ outcome: RecordItem.Outcome) -> RecordItem {
        defer { number += 1 }
        records += 1
        if case .failure = outcome { failedRecords += 1 }
        return RecordItem(number: number, startOffset: start, endOffset: end, outcome: outcome)
    }
}
