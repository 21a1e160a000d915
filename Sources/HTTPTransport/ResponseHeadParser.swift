/// Builds a response head from the header lines libcurl hands over one at a time: status lines,
/// `Name: value` fields and the blank line that ends each block. Interim (1xx) blocks are dropped;
/// a field line before any status line, or a line without a colon, is ignored.
package struct ResponseHeadParser: Sendable {
    /// The status of the last status line (0 before one, or when it has no three-digit code).
    package private(set) var status = 0
    package private(set) var headers = HTTPHeaders()

    package init() {}

    /// The head as read so far.
    package var head: HTTPResponseHead { HTTPResponseHead(status: status, headers: headers) }

    /// Reads one line (with or without its CR LF).
    /// - Returns: true when the line is the blank line ending a final (status 200 or more) block:
    ///   the head is complete.
    package mutating func consume(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        var end = line.count
        while end > 0, line[end - 1] == UInt8(ascii: "\r") || line[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        let text = UnsafeBufferPointer(rebasing: line[0..<end])
        if text.isEmpty {
            if status >= 200 { return true }
            headers = HTTPHeaders()
            return false
        }
        if text.starts(with: "HTTP/".utf8) {
            status = Self.statusCode(in: text) ?? 0
            headers = HTTPHeaders()
            return false
        }
        guard let colon = text.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let name = String(decoding: UnsafeBufferPointer(rebasing: text[..<colon]), as: UTF8.self)
        var valueStart = colon + 1
        while valueStart < text.count, text[valueStart] == UInt8(ascii: " ") || text[valueStart] == 9 {
            valueStart += 1
        }
        var valueEnd = text.count
        while valueEnd > valueStart, text[valueEnd - 1] == UInt8(ascii: " ") || text[valueEnd - 1] == 9 {
            valueEnd -= 1
        }
        headers.add(name, String(decoding: UnsafeBufferPointer(rebasing: text[valueStart..<valueEnd]), as: UTF8.self))
        return false
    }

    private static func statusCode(in line: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        var code = 0
        var digits = 0
        var index = space + 1
        while index < line.count, digits < 3, (48...57).contains(line[index]) {
            code = code * 10 + Int(line[index] - 48)
            digits += 1
            index += 1
        }
        return digits == 3 ? code : nil
    }
}
