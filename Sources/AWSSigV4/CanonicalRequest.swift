import Primitives

/// Writing the SigV4 canonical request into one byte buffer. Header names, values and query pairs
/// are first copied into a scratch buffer and addressed by ranges, so sorting moves small structs
/// rather than strings.
struct CanonicalRequestWriter: ~Copyable {
    /// The canonical request as it is written.
    var out: ByteBuffer
    /// Header names and canonical values, then query keys and values, addressed by ranges.
    private var scratch: ByteBuffer
    private var headerEntries: [HeaderEntry] = []
    private var queryEntries: [QueryEntry] = []
    /// Where the signed-headers line lies in `out` once written.
    private(set) var signedHeaders: Range<Int> = 0..<0

    private struct HeaderEntry {
        var name: Range<Int>
        var value: Range<Int>
        var order: Int
    }

    private struct QueryEntry {
        var key: Range<Int>
        var value: Range<Int>
    }

    init(capacity: Int = 512) {
        out = ByteBuffer(capacity: capacity)
        scratch = ByteBuffer(capacity: 256)
        headerEntries.reserveCapacity(8)
    }

    // MARK: Method and path

    mutating func writeMethod(_ method: String) {
        for byte in method.utf8 {
            out.append(byte &- UInt8(ascii: "a") < 26 ? byte - 0x20 : byte)
        }
        out.append(newline)
    }

    /// Writes the canonical path: optionally with `.`/`..` segments and empty segments removed,
    /// optionally percent-encoded once more (every byte outside unreserved-and-slash).
    mutating func writePath(_ path: UnsafeBufferPointer<UInt8>, normalize: Bool, encode: Bool) {
        if path.isEmpty {
            out.append(slash)
        } else if normalize && Self.needsNormalization(path) {
            writeNormalizedPath(path, encode: encode)
        } else if encode {
            out.reserve(path.count * 3)
            for byte in path {
                if byte == slash { out.appendReserved(byte) } else { appendEncodedReserved(byte, to: &out) }
            }
        } else {
            out.append(path)
        }
        out.append(newline)
    }

    /// True when the path has an empty, `.` or `..` segment.
    private static func needsNormalization(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        var segmentStart = 0
        for index in 0...path.count {
            if index == path.count || path[index] == slash {
                let length = index - segmentStart
                let isDot = length <= 2 && length > 0 && path[segmentStart] == dot
                    && (length == 1 || path[segmentStart + 1] == dot)
                // An empty segment is only redundant between two slashes (not the leading one, and
                // not the empty tail after a final slash).
                if isDot || (length == 0 && index > 0 && index < path.count) { return true }
                segmentStart = index + 1
            }
        }
        return false
    }

    /// RFC 3986 dot-segment removal plus collapsing of repeated slashes, keeping a leading slash
    /// and (when anything is left) a trailing one.
    private mutating func writeNormalizedPath(_ path: UnsafeBufferPointer<UInt8>, encode: Bool) {
        if path[0] == slash { out.append(slash) }
        let base = out.count
        var kept = 0
        var segmentStart = 0
        for index in 0...path.count where index == path.count || path[index] == slash {
            let segment = UnsafeBufferPointer(rebasing: path[segmentStart..<index])
            segmentStart = index + 1
            if segment.isEmpty || (segment.count == 1 && segment[0] == dot) { continue }
            if segment.count == 2 && segment[0] == dot && segment[1] == dot {
                if kept > 0 {
                    var cut = out.count
                    while cut > base, out[cut - 1] != slash { cut -= 1 }
                    // Drop the separator before the segment too, unless it is the first one.
                    out.truncate(to: cut > base ? cut - 1 : base)
                    kept -= 1
                }
                continue
            }
            if kept > 0 { out.append(slash) }
            if encode {
                out.reserve(segment.count * 3)
                for byte in segment { appendEncodedReserved(byte, to: &out) }
            } else {
                out.append(segment)
            }
            kept += 1
        }
        if path[path.count - 1] == slash, kept > 0 { out.append(slash) }
    }

    // MARK: Query

    /// Adds the pairs of a raw query string: each key and value is percent-decoded and encoded
    /// again (unreserved characters only); a key with no `=` gets an empty value.
    mutating func addQuery(_ query: UnsafeBufferPointer<UInt8>) {
        var pieceStart = 0
        for index in 0...query.count where index == query.count || query[index] == UInt8(ascii: "&") {
            let piece = UnsafeBufferPointer(rebasing: query[pieceStart..<index])
            pieceStart = index + 1
            if piece.isEmpty { continue }
            let equals = piece.firstIndex(of: UInt8(ascii: "=")) ?? piece.count
            let keyStart = scratch.count
            Self.reencode(UnsafeBufferPointer(rebasing: piece[..<equals]), to: &scratch)
            let valueStart = scratch.count
            if equals < piece.count {
                Self.reencode(UnsafeBufferPointer(rebasing: piece[(equals + 1)...]), to: &scratch)
            }
            queryEntries.append(QueryEntry(key: keyStart..<valueStart, value: valueStart..<scratch.count))
        }
    }

    /// Adds one pair whose key and value are already in canonical (encoded) form.
    mutating func addEncodedQueryPair(key: StaticString, value: (inout ByteBuffer) -> Void) {
        let keyStart = scratch.count
        scratch.append(key)
        let valueStart = scratch.count
        value(&scratch)
        queryEntries.append(QueryEntry(key: keyStart..<valueStart, value: valueStart..<scratch.count))
    }

    /// Writes the sorted query (by key, then value) and its line break.
    mutating func writeQuery() {
        if queryEntries.count > 1 {
            let bytes = scratch.base
            queryEntries.sort { lhs, rhs in
                let byKey = compareBytes(bytes, lhs.key, rhs.key)
                return byKey != 0 ? byKey < 0 : compareBytes(bytes, lhs.value, rhs.value) < 0
            }
        }
        for (position, entry) in queryEntries.enumerated() {
            if position > 0 { out.append(UInt8(ascii: "&")) }
            out.append(scratch.bytes(entry.key))
            out.append(UInt8(ascii: "="))
            out.append(scratch.bytes(entry.value))
        }
        out.append(newline)
    }

    private static func reencode(_ text: UnsafeBufferPointer<UInt8>, to out: inout ByteBuffer) {
        out.reserve(text.count * 3)
        var index = 0
        while index < text.count {
            var byte = text[index]
            if byte == UInt8(ascii: "%"), index + 2 < text.count, let high = Hex.value(text[index + 1]),
                let low = Hex.value(text[index + 2])
            {
                byte = high << 4 | low
                index += 2
            }
            appendEncodedReserved(byte, to: &out)
            index += 1
        }
    }

    // MARK: Headers

    /// Adds a request header unless SigV4 must not sign it. The name is lower-cased and the value
    /// trimmed with inner whitespace runs collapsed to one space.
    mutating func addHeader(name: String, value: String) {
        let nameStart = scratch.count
        withUTF8(name) { bytes in
            scratch.reserve(bytes.count)
            for byte in bytes { scratch.appendReserved(asciiLowercased(byte)) }
        }
        let nameRange = nameStart..<scratch.count
        if Self.isUnsigned(scratch.bytes(nameRange)) {
            scratch.truncate(to: nameStart)
            return
        }
        let valueStart = scratch.count
        withUTF8(value) { bytes in
            scratch.reserve(bytes.count)
            var pendingSpace = false
            for byte in bytes {
                if isHeaderWhitespace(byte) {
                    pendingSpace = scratch.count > valueStart
                } else {
                    if pendingSpace { scratch.appendReserved(UInt8(ascii: " ")) }
                    pendingSpace = false
                    scratch.appendReserved(byte)
                }
            }
        }
        headerEntries.append(HeaderEntry(name: nameRange, value: valueStart..<scratch.count, order: headerEntries.count))
    }

    /// Adds a header the signer itself supplies (name already lower-case, value already canonical).
    mutating func addCanonicalHeader(name: StaticString, value: (inout ByteBuffer) -> Void) {
        let nameStart = scratch.count
        scratch.append(name)
        let valueStart = scratch.count
        value(&scratch)
        headerEntries.append(
            HeaderEntry(name: nameStart..<valueStart, value: valueStart..<scratch.count, order: headerEntries.count)
        )
    }

    /// Whether a header with this lower-case name has been added.
    func hasHeader(_ name: StaticString) -> Bool {
        let wanted = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        for entry in headerEntries where entry.name.count == wanted.count {
            if scratch.bytes(entry.name).elementsEqual(wanted) { return true }
        }
        return false
    }

    /// Sorts the headers by name (repeats keep their order). Call once all headers are added.
    mutating func sortHeaders() {
        guard headerEntries.count > 1 else { return }
        let bytes = scratch.base
        headerEntries.sort { lhs, rhs in
            let byName = compareBytes(bytes, lhs.name, rhs.name)
            return byName != 0 ? byName < 0 : lhs.order < rhs.order
        }
    }

    /// Appends the signed-header list (`a;b;c`) to `buffer`, percent-encoding the `;` separators
    /// when `encodeSeparators` (for `X-Amz-SignedHeaders` in a query).
    func appendSignedHeaderList(to buffer: inout ByteBuffer, encodeSeparators: Bool) {
        Self.appendSignedHeaderList(headerEntries, names: scratch, to: &buffer, encodeSeparators: encodeSeparators)
    }

    private static func appendSignedHeaderList(
        _ headerEntries: [HeaderEntry], names scratch: borrowing ByteBuffer, to buffer: inout ByteBuffer,
        encodeSeparators: Bool
    ) {
        var previous: Range<Int>? = nil
        for entry in headerEntries {
            if let previous, scratch.equal(previous, entry.name) { continue }
            if previous != nil {
                if encodeSeparators { buffer.append("%3B") } else { buffer.append(UInt8(ascii: ";")) }
            }
            buffer.append(scratch.bytes(entry.name))
            previous = entry.name
        }
    }

    /// Writes the canonical headers, the blank line, and the signed-header list with its line break.
    mutating func writeHeaders() {
        var previous: Range<Int>? = nil
        for entry in headerEntries {
            if let previous, scratch.equal(previous, entry.name) {
                out.append(UInt8(ascii: ","))
            } else {
                if previous != nil { out.append(newline) }
                out.append(scratch.bytes(entry.name))
                out.append(UInt8(ascii: ":"))
            }
            out.append(scratch.bytes(entry.value))
            previous = entry.name
        }
        if previous != nil { out.append(newline) }
        out.append(newline)
        let start = out.count
        Self.appendSignedHeaderList(headerEntries, names: scratch, to: &out, encodeSeparators: false)
        signedHeaders = start..<out.count
        out.append(newline)
    }

    mutating func writePayload(_ payload: PayloadSigning) {
        payload.append(to: &out)
    }

    /// Headers SigV4 never signs: hop-by-hop headers and ones a proxy or client may rewrite
    /// (the same list as botocore's `SIGNED_HEADERS_BLACKLIST`, plus `authorization`).
    private static let unsignedHeaders: [StaticString] = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    private static func isUnsigned(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        for unsigned in unsignedHeaders where unsigned.utf8CodeUnitCount == name.count {
            if UnsafeBufferPointer(start: unsigned.utf8Start, count: name.count).elementsEqual(name) { return true }
        }
        return false
    }
}

// MARK: - Byte helpers

let newline = UInt8(ascii: "\n")
let slash = UInt8(ascii: "/")
let dot = UInt8(ascii: ".")

private let upperHexDigits: StaticString = "0123456789ABCDEF"

/// `A-Z a-z 0-9 - . _ ~`.
@inline(__always)
func isUnreserved(_ byte: UInt8) -> Bool {
    asciiLowercased(byte) &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "-")
        || byte == dot || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
}

/// Appends `byte` as is when unreserved, else as `%XX` (upper-case hex); the caller has reserved
/// three bytes.
@inline(__always)
func appendEncodedReserved(_ byte: UInt8, to out: inout ByteBuffer) {
    if isUnreserved(byte) {
        out.appendReserved(byte)
    } else {
        out.appendReserved(UInt8(ascii: "%"))
        out.appendReserved(upperHexDigits.utf8Start[Int(byte >> 4)])
        out.appendReserved(upperHexDigits.utf8Start[Int(byte & 0x0f)])
    }
}

/// Appends every byte of `text` percent-encoded with the unreserved set.
func appendEncoded(_ text: String, to out: inout ByteBuffer) {
    withUTF8(text) { bytes in
        out.reserve(bytes.count * 3)
        for byte in bytes { appendEncodedReserved(byte, to: &out) }
    }
}

/// Calls `body` with the UTF-8 of `text`, in place when the string is contiguous.
@inline(__always)
func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
    var copy = text
    return copy.withUTF8(body)
}

/// Space, tab, CR, LF, vertical tab and form feed.
@inline(__always)
private func isHeaderWhitespace(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || (byte >= 0x09 && byte <= 0x0d)
}
