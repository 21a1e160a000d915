/// A small, strict-enough XML reader for AWS REST-XML responses: elements, attributes, text,
/// the five predefined entities, numeric character references and CDATA. Comments, processing
/// instructions and the XML declaration are skipped; DTDs are refused (no entity expansion).
package struct XMLElement: Sendable, Hashable {
    package var name: String
    package var attributes: [String: String]
    package var children: [XMLElement]
    /// The concatenated character data directly inside this element.
    package var text: String

    package init(name: String, attributes: [String: String] = [:], children: [XMLElement] = [], text: String = "") {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The first child called `name` (namespace prefixes ignored).
    package func child(_ name: String) -> XMLElement? { children.first { $0.localName == name } }

    /// Every child called `name`.
    package func children(_ name: String) -> [XMLElement] { children.filter { $0.localName == name } }

    /// The text of the first child called `name`.
    package func childText(_ name: String) -> String? { child(name)?.text }

    /// The first element called `name` at any depth (this element included), depth first.
    package func descendant(_ name: String) -> XMLElement? {
        if localName == name { return self }
        for child in children {
            if let found = child.descendant(name) { return found }
        }
        return nil
    }

    /// The name without a namespace prefix.
    package var localName: String {
        if let colon = name.lastIndex(of: ":") { return String(name[name.index(after: colon)...]) }
        return name
    }

    /// Parses a document and returns its root element.
    package static func parse(_ bytes: [UInt8], maxDepth: Int = 128) throws(XMLError) -> XMLElement {
        var parser = XMLParser(bytes: bytes, maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    package static func parse(_ text: String) throws(XMLError) -> XMLElement { try parse(Array(text.utf8)) }
}

package struct XMLError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        case unexpectedEnd = "UnexpectedEnd"
        case malformed = "Malformed"
        case mismatchedTag = "MismatchedTag"
        case invalidEntity = "InvalidEntity"
        case doctypeNotAllowed = "DoctypeNotAllowed"
        case tooDeep = "TooDeep"
        case noRootElement = "NoRootElement"
        case invalidUTF8 = "InvalidUTF8"
    }
    package var code: Code
    package var offset: Int
    package init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }
    package var description: String { "XML \(code.rawValue) at byte \(offset)" }
}

private struct XMLParser {
    let bytes: [UInt8]
    let maxDepth: Int
    var index = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(XMLError) -> XMLElement {
        // Skip a UTF-8 byte-order mark.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        var root: XMLElement?
        while true {
            skipWhitespace()
            guard index < bytes.count else { break }
            guard bytes[index] == UInt8(ascii: "<") else { throw XMLError(.malformed, offset: index) }
            if try skipMarkup() { continue }
            guard root == nil else { throw XMLError(.malformed, offset: index) }
            root = try parseElement(depth: 1)
        }
        guard let root else { throw XMLError(.noRootElement, offset: index) }
        return root
    }

    /// Skips a comment, processing instruction or declaration at `index`; false if it is an element.
    mutating func skipMarkup() throws(XMLError) -> Bool {
        if matches("<?") {
            try skip(past: "?>")
            return true
        }
        if matches("<!--") {
            try skip(past: "-->")
            return true
        }
        if matches("<!DOCTYPE") || matches("<!doctype") { throw XMLError(.doctypeNotAllowed, offset: index) }
        return false
    }

    mutating func parseElement(depth: Int) throws(XMLError) -> XMLElement {
        guard depth <= maxDepth else { throw XMLError(.tooDeep, offset: index) }
        index += 1  // <
        let name = try parseName()
        var element = XMLElement(name: name)
        // Attributes.
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw XMLError(.unexpectedEnd, offset: index) }
            if matches("/>") {
                index += 2
                return element
            }
            if bytes[index] == UInt8(ascii: ">") {
                index += 1
                break
            }
            let attributeName = try parseName()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw XMLError(.malformed, offset: index) }
            index += 1
            skipWhitespace()
            guard index < bytes.count else { throw XMLError(.unexpectedEnd, offset: index) }
            let quote = bytes[index]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                throw XMLError(.malformed, offset: index)
            }
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != quote { index += 1 }
            guard index < bytes.count else { throw XMLError(.unexpectedEnd, offset: index) }
            element.attributes[attributeName] = try decodeText(start..<index)
            index += 1
        }
        // Content.
        var text: [UInt8] = []
        while true {
            guard index < bytes.count else { throw XMLError(.unexpectedEnd, offset: index) }
            if bytes[index] == UInt8(ascii: "<") {
                if matches("</") {
                    index += 2
                    let closing = try parseName()
                    guard closing == name else { throw XMLError(.mismatchedTag, offset: index) }
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                        throw XMLError(.malformed, offset: index)
                    }
                    index += 1
                    guard let decoded = String(validating: text, as: UTF8.self) else {
                        throw XMLError(.invalidUTF8, offset: index)
                    }
                    element.text = decoded
                    return element
                }
                if matches("<![CDATA[") {
                    index += 9
                    let start = index
                    try skip(past: "]]>")
                    text.append(contentsOf: bytes[start..<(index - 3)])
                    continue
                }
                if try skipMarkup() { continue }
                element.children.append(try parseElement(depth: depth + 1))
            } else {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                text.append(contentsOf: try decodeEntities(start..<index))
            }
        }
    }

    mutating func parseName() throws(XMLError) -> String {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/")
                || byte == UInt8(ascii: "=") || byte == 0x09 || byte == 0x0A || byte == 0x0D
            {
                break
            }
            index += 1
        }
        guard index > start else { throw XMLError(.malformed, offset: index) }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    func decodeText(_ range: Range<Int>) throws(XMLError) -> String {
        let decoded = try decodeEntities(range)
        guard let text = String(validating: decoded, as: UTF8.self) else { throw XMLError(.invalidUTF8, offset: range.lowerBound) }
        return text
    }

    func decodeEntities(_ range: Range<Int>) throws(XMLError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "&") else {
                out.append(byte)
                i += 1
                continue
            }
            guard let semicolon = bytes[i..<range.upperBound].firstIndex(of: UInt8(ascii: ";")), semicolon - i <= 10 else {
                throw XMLError(.invalidEntity, offset: i)
            }
            let entity = String(decoding: bytes[(i + 1)..<semicolon], as: UTF8.self)
            switch entity {
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "amp": out.append(UInt8(ascii: "&"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                var value: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    value = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    value = UInt32(entity.dropFirst(), radix: 10)
                }
                guard let value, let scalar = Unicode.Scalar(value) else { throw XMLError(.invalidEntity, offset: i) }
                out.append(contentsOf: UTF8.encode(scalar)!)
            }
            i = semicolon + 1
        }
        return out
    }

    mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
            index += 1
        }
    }

    func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let start = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] { return false }
        return true
    }

    mutating func skip(past literal: StaticString) throws(XMLError) {
        while index < bytes.count {
            if matches(literal) {
                index += literal.utf8CodeUnitCount
                return
            }
            index += 1
        }
        throw XMLError(.unexpectedEnd, offset: index)
    }
}

/// Builds XML text for request bodies.
package enum XMLWriter {
    /// Escapes `&`, `<`, `>`, `"` and `'` for element text and attribute values.
    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for char in text.unicodeScalars {
            switch char {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(char)
            }
        }
        return out
    }

    /// `<name>escaped text</name>`.
    package static func element(_ name: String, _ text: String) -> String { "<\(name)>\(escape(text))</\(name)>" }
}
