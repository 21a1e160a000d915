/// A byte cursor over one JSON line: strict RFC 8259 tokens, strings checked for UTF-8 and
/// control characters, and spans handed out instead of copies.
struct LineScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    var index = 0

    init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    var atEnd: Bool { index >= end }
    var peek: UInt8? { index < end ? base[index] : nil }

    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        guard index < end && base[index] == byte else { return false }
        index += 1
        return true
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < end {
            switch base[index] {
            case 0x20, 0x09, 0x0D, 0x0A: index += 1
            default: return
            }
        }
    }

    func malformed(_ detail: String) -> ParquetError {
        ParquetError(.malformedJSON, "\(detail) (at byte \(index + 1))")
    }

    /// What the next value is, for error messages.
    var kindName: String {
        guard let byte = peek else { return "nothing" }
        return switch byte {
        case UInt8(ascii: "\""): "string"
        case UInt8(ascii: "{"): "object"
        case UInt8(ascii: "["): "array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "boolean"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): "number"
        default: "malformed value"
        }
    }

    mutating func literal(_ word: StaticString) throws(ParquetError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= end else { throw malformed("a truncated literal") }
        let expected = word.utf8Start
        for i in 0..<count where base[index + i] != expected[i] { throw malformed("an unknown literal") }
        index += count
    }

    /// Scans a string starting at its opening quote.
    /// - Returns: the span between the quotes and whether it holds escapes.
    @inline(__always)
    mutating func scanString() throws(ParquetError) -> (start: Int, count: Int, escaped: Bool) {
        index += 1  // the opening quote
        let start = index
        var escaped = false
        while true {
            // Eight bytes at a time while none is a quote, a backslash, a control or a non-ASCII byte.
            while index + 8 <= end {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if Self.hasSpecialByte(word) { break }
                index += 8
            }
            guard index < end else { throw malformed("a string is not closed on its line") }
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                let count = index - start
                index += 1
                return (start, count, escaped)
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 2
            } else if byte < 0x20 {
                throw malformed("an unescaped control character in a string")
            } else if byte >= 0x80 {
                try skipUTF8Sequence()
            } else {
                index += 1
            }
        }
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Whether a word holds `"`, `\`, a byte below 0x20 or a byte of 0x80 or more.
    @inline(__always)
    static func hasSpecialByte(_ word: UInt64) -> Bool {
        func zeroByte(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let quote = zeroByte(word ^ (ones &* 0x22))
        let backslash = zeroByte(word ^ (ones &* 0x5C))
        let control = (word &- ones &* 0x20) & ~word & highs
        return (quote | backslash | control | (word & highs)) != 0
    }

    /// Checks one multi-byte UTF-8 sequence (no overlongs, surrogates or values past U+10FFFF).
    private mutating func skipUTF8Sequence() throws(ParquetError) {
        let lead = base[index]
        let length: Int
        var lowest: UInt8 = 0x80
        var highest: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowest = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; highest = 0x9F
        case 0xF0: length = 4; lowest = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; highest = 0x8F
        default: throw ParquetError(.invalidString, "a string that is not valid UTF-8 (at byte \(index + 1))")
        }
        guard index + length <= end else {
            throw ParquetError(.invalidString, "a string that is not valid UTF-8 (at byte \(index + 1))")
        }
        let second = base[index + 1]
        guard second >= lowest && second <= highest else {
            throw ParquetError(.invalidString, "a string that is not valid UTF-8 (at byte \(index + 1))")
        }
        for i in 2..<length where base[index + i] & 0xC0 != 0x80 {
            throw ParquetError(.invalidString, "a string that is not valid UTF-8 (at byte \(index + 1))")
        }
        index += length
    }

    /// Decodes the escapes of the string span `start..<start+count` into `out`.
    func unescape(_ start: Int, _ count: Int, into out: inout [UInt8]) throws(ParquetError) {
        var i = start
        let stop = start + count
        while i < stop {
            let byte = base[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            guard i + 1 < stop else { throw malformed("a string ends inside an escape") }
            let code = base[i + 1]
            i += 2
            switch code {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(code)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(i, stop)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 6 <= stop, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") else {
                        throw malformed("a lone surrogate in a \\u escape")
                    }
                    let low = try hex4(i + 2, stop)
                    guard (0xDC00...0xDFFF).contains(low) else { throw malformed("a lone surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw malformed("a lone surrogate in a \\u escape")
                }
                appendUTF8(scalar, to: &out)
            default:
                throw malformed("an unknown escape in a string")
            }
        }
    }

    private func hex4(_ at: Int, _ stop: Int) throws(ParquetError) -> UInt32 {
        guard at + 4 <= stop else { throw malformed("a short \\u escape") }
        var value: UInt32 = 0
        for i in at..<(at + 4) {
            let byte = base[i]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw malformed("a malformed \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Scans a JSON number; nil (and nothing consumed) when the next value is not one.
    @inline(__always)
    mutating func scanNumber() -> (start: Int, count: Int, isInteger: Bool)? {
        let start = index
        var i = index
        if i < end && base[i] == UInt8(ascii: "-") { i += 1 }
        guard i < end, base[i] &- UInt8(ascii: "0") < 10 else { return nil }
        if base[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < end && base[i] &- UInt8(ascii: "0") < 10 { i += 1 }
        }
        var isInteger = true
        if i < end && base[i] == UInt8(ascii: ".") {
            i += 1
            let digits = i
            while i < end && base[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            guard i > digits else { return nil }
            isInteger = false
        }
        if i < end && (base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E")) {
            i += 1
            if i < end && (base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-")) { i += 1 }
            let digits = i
            while i < end && base[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            guard i > digits else { return nil }
            isInteger = false
        }
        index = i
        return (start, i - start, isInteger)
    }

    /// Skips any value (for keys the schema does not have), nesting at most 64 deep.
    mutating func skipValue(depth: Int) throws(ParquetError) {
        guard depth < 64 else { throw malformed("a value nests too deep") }
        guard let byte = peek else { throw malformed("a line ends where a value was expected") }
        switch byte {
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipWhitespace()
            if consume(close) { return }
            while true {
                if close == UInt8(ascii: "}") {
                    guard peek == UInt8(ascii: "\"") else { throw malformed("expected a key") }
                    _ = try scanString()
                    skipWhitespace()
                    guard consume(UInt8(ascii: ":")) else { throw malformed("expected ':' after a key") }
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if consume(UInt8(ascii: ",")) {
                    skipWhitespace()
                    continue
                }
                guard consume(close) else { throw malformed("expected ',' or a closing bracket") }
                return
            }
        default:
            guard scanNumber() != nil else { throw malformed("an unexpected character") }
        }
    }
}

/// Finds the next `\n` in `base[from..<to]`, eight bytes at a time.
@inline(__always)
func findNewline(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
    var i = from
    let ones: UInt64 = 0x0101_0101_0101_0101
    let pattern = ones &* 0x0A
    while i + 8 <= to {
        let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) ^ pattern
        let found = (word &- ones) & ~word & 0x8080_8080_8080_8080
        if found != 0 { return i + found.trailingZeroBitCount >> 3 }
        i += 8
    }
    while i < to {
        if base[i] == 0x0A { return i }
        i += 1
    }
    return nil
}
