/// A strict RFC 8259 parser over UTF-8 bytes, with a nesting limit so hostile input cannot
/// exhaust the stack.
package struct JSONParser {
    /// Deepest nesting of arrays and objects accepted.
    package static let defaultMaxDepth = 256

    /// Parses one JSON value that spans all of `bytes` (surrounding white space allowed).
    package static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSON {
        let result: Result<JSON, JSONError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONError) -> JSON in try parseBuffer(buffer, maxDepth: maxDepth) }
        }
        if let result { return try result.get() }
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONError) -> JSON in try parseBuffer(buffer, maxDepth: maxDepth) }
        }.get()
    }

    package static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSON {
        var copy = text
        let result = copy.withUTF8 { buffer in
            Result { () throws(JSONError) -> JSON in try parseBuffer(buffer, maxDepth: maxDepth) }
        }
        return try result.get()
    }

    package static func parseBuffer(_ buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) throws(JSONError) -> JSON {
        var parser = JSONScanner(buffer: buffer, maxDepth: maxDepth)
        parser.skipWhitespace()
        guard parser.index < buffer.count else { throw JSONError(.empty, offset: 0) }
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw JSONError(.trailingData, offset: parser.index) }
        return value
    }
}

/// The byte-level scanner behind `JSONParser`; also usable to read one value from a larger buffer.
package struct JSONScanner {
    package let buffer: UnsafeBufferPointer<UInt8>
    package var index: Int
    package let maxDepth: Int

    package init(buffer: UnsafeBufferPointer<UInt8>, start: Int = 0, maxDepth: Int = JSONParser.defaultMaxDepth) {
        self.buffer = buffer
        self.index = start
        self.maxDepth = maxDepth
    }

    @inline(__always)
    package mutating func skipWhitespace() {
        while index < buffer.count {
            switch buffer[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    package mutating func parseValue(depth: Int) throws(JSONError) -> JSON {
        guard index < buffer.count else { throw JSONError(.unexpectedEnd, offset: index) }
        switch buffer[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw JSONError(.unexpectedCharacter, offset: index)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= buffer.count else { throw JSONError(.unexpectedEnd, offset: index) }
        let start = literal.utf8Start
        for offset in 0..<count where buffer[index + offset] != start[offset] {
            throw JSONError(.unexpectedCharacter, offset: index + offset)
        }
        index += count
    }

    private mutating func parseObject(depth: Int) throws(JSONError) -> JSON {
        guard depth <= maxDepth else { throw JSONError(.tooDeep, offset: index) }
        index += 1
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject(members))
        }
        while true {
            skipWhitespace()
            guard index < buffer.count else { throw JSONError(.unexpectedEnd, offset: index) }
            guard buffer[index] == UInt8(ascii: "\"") else { throw JSONError(.unexpectedCharacter, offset: index) }
            let key = try parseString()
            skipWhitespace()
            guard index < buffer.count else { throw JSONError(.unexpectedEnd, offset: index) }
            guard buffer[index] == UInt8(ascii: ":") else { throw JSONError(.unexpectedCharacter, offset: index) }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard index < buffer.count else { throw JSONError(.unexpectedEnd, offset: index) }
            switch buffer[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(JSONObject(members))
            default: throw JSONError(.unexpectedCharacter, offset: index)
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONError) -> JSON {
        guard depth <= maxDepth else { throw JSONError(.tooDeep, offset: index) }
        index += 1
        var elements: [JSON] = []
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < buffer.count else { throw JSONError(.unexpectedEnd, offset: index) }
            switch buffer[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default: throw JSONError(.unexpectedCharacter, offset: index)
            }
        }
    }

    /// Reads a number's text, checking the grammar of RFC 8259.
    package mutating func parseNumber() throws(JSONError) -> String {
        let start = index
        if buffer[index] == UInt8(ascii: "-") { index += 1 }
        guard index < buffer.count else { throw JSONError(.invalidNumber, offset: start) }
        if buffer[index] == UInt8(ascii: "0") {
            index += 1
        } else if isDigit(buffer[index]) {
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        } else {
            throw JSONError(.invalidNumber, offset: start)
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: ".") {
            index += 1
            guard index < buffer.count, isDigit(buffer[index]) else { throw JSONError(.invalidNumber, offset: start) }
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: "e") || buffer[index] == UInt8(ascii: "E") {
            index += 1
            if index < buffer.count, buffer[index] == UInt8(ascii: "+") || buffer[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < buffer.count, isDigit(buffer[index]) else { throw JSONError(.invalidNumber, offset: start) }
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<index]), as: UTF8.self)
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// Reads a string starting at its opening quote; validates UTF-8 and escapes.
    package mutating func parseString() throws(JSONError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        var highBits: UInt8 = 0
        while index < buffer.count {
            let byte = buffer[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: buffer[start..<index])
                index += 1
                guard let text = String(validUTF8: slice, isASCII: highBits < 0x80) else {
                    throw JSONError(.invalidUTF8, offset: start)
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw JSONError(.controlCharacterInString, offset: index) }
            highBits |= byte
            index += 1
        }
        guard index < buffer.count else { throw JSONError(.unexpectedEnd, offset: index) }
        var bytes = [UInt8](UnsafeBufferPointer(rebasing: buffer[start..<index]))
        while index < buffer.count {
            let byte = buffer[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                let text = bytes.withUnsafeBufferPointer { String(validUTF8: $0, isASCII: false) }
                guard let text else { throw JSONError(.invalidUTF8, offset: start) }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < buffer.count else { throw JSONError(.unexpectedEnd, offset: index) }
                let escape = buffer[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): bytes.append(0x22)
                case UInt8(ascii: "\\"): bytes.append(0x5C)
                case UInt8(ascii: "/"): bytes.append(0x2F)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        guard index + 1 < buffer.count, buffer[index] == UInt8(ascii: "\\"),
                            buffer[index + 1] == UInt8(ascii: "u")
                        else { throw JSONError(.invalidEscape, offset: index) }
                        index += 2
                        let low = try readHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw JSONError(.invalidEscape, offset: index) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw JSONError(.invalidEscape, offset: index)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw JSONError(.invalidEscape, offset: index) }
                    bytes.append(contentsOf: UTF8.encode(unicode)!)
                default:
                    throw JSONError(.invalidEscape, offset: index - 1)
                }
            default:
                if byte < 0x20 { throw JSONError(.controlCharacterInString, offset: index) }
                bytes.append(byte)
                index += 1
            }
        }
        throw JSONError(.unexpectedEnd, offset: index)
    }

    private mutating func readHex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= buffer.count else { throw JSONError(.unexpectedEnd, offset: index) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = buffer[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw JSONError(.invalidEscape, offset: index)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}

extension String {
    /// `bytes` as a string, or `nil` when they are not valid UTF-8. Unlike the generic
    /// `String(validating:as:)`, it looks up no type metadata on each call: ASCII text is taken
    /// as it is, other text is decoded (which replaces invalid sequences) and compared with the bytes.
    package init?(validUTF8 bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool) {
        let text = String(decoding: bytes, as: UTF8.self)
        if !isASCII {
            guard text.utf8.elementsEqual(bytes) else { return nil }
        }
        self = text
    }
}
