import JSONCodec
import Primitives

/// An index mapping's fields as the bulk path looks them up: each field's name as bytes and what
/// its type accepts, built once per mapping. It answers exactly what `Mapping.applying` would for
/// the fields it knows; a document needing anything else (a new field, a value that does not fit)
/// goes to `Mapping.applying`.
final class FieldTable: Sendable {
    enum Accepts: Sendable {
        /// An object (or an array of objects) checked against the inner fields; `nil` when the
        /// field has no `properties` yet (a value would add them).
        case object(FieldTable?)
        /// A number or a numeric string whose value, rounded toward zero, lies in the range.
        case integral(ClosedRange<Double>)
        /// A number or a numeric string.
        case floating
        case boolean
        case date
        /// Any value but an object (`text`, `keyword` and the other types without checks).
        case scalar
        /// Any value (`flat_object`, `geo_point`).
        case anything
        /// A mapping entry that is not an object: `applying` would replace it.
        case unusable
    }

    struct Field: Sendable {
        let name: String
        let key: [UInt8]
        let accepts: Accepts
    }

    /// One entry per distinct name, holding the last definition (as `JSONObject` lookups answer).
    let fields: [Field]
    /// Whether every name is ASCII: then a key's bytes equal a name's bytes exactly when the two
    /// strings are equal (otherwise `String` equality, which is canonical equivalence, decides).
    let asciiNames: Bool

    init(properties: JSONObject) {
        var fields: [Field] = []
        for member in properties {
            let field = Field(name: member.key, key: Array(member.key.utf8), accepts: Self.accepts(member.value))
            if let earlier = fields.firstIndex(where: { $0.name == member.key }) {
                fields.remove(at: earlier)
            }
            fields.append(field)
        }
        self.fields = fields
        asciiNames = fields.allSatisfy { $0.key.allSatisfy { $0 < 0x80 } }
    }

    private static func accepts(_ definition: JSON) -> Accepts {
        guard let field = definition.objectValue else { return .unusable }
        let type = field["type"]?.stringValue ?? "object"
        switch type {
        case "object", "nested": return .object(field["properties"]?.objectValue.map { FieldTable(properties: $0) })
        case "long", "integer", "short", "byte", "unsigned_long": return .integral(Mapping.integralBounds(type))
        case "double", "float", "half_float", "scaled_float": return .floating
        case "boolean": return .boolean
        case "date": return .date
        case "flat_object", "geo_point": return .anything
        default: return .scalar
        }
    }

    /// The field named by a key's (unescaped) bytes.
    func field(_ key: UnsafeBufferPointer<UInt8>, isASCII: Bool) -> Field? {
        if asciiNames, isASCII {
            for field in fields where field.key.count == key.count {
                if field.key.withUnsafeBufferPointer({ $0.elementsEqual(key) }) { return field }
            }
            return nil
        }
        let name = String(decoding: key, as: UTF8.self)
        return fields.last { $0.name == name }
    }
}

/// One pass over a document's bytes that both validates it as `JSONParser` would and checks every
/// value against the index's fields as `Mapping.applying` would, without building a tree.
/// `fits` answers `true` only when the document is a valid JSON object whose values all fit
/// fields already mapped (so the mapping does not change); for anything else (invalid JSON, a new
/// field, a value that does not fit, an escaped key, deep nesting) it answers `false` and the
/// caller takes the tree path, which gives the answer (error text, mapping update) as before.
struct DocumentCheck {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// Well below `JSONParser.defaultMaxDepth`, so nothing the parser rejects for depth passes.
    private static let maxDepth = 128

    private struct Unsure: Error {}

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    static func fits(_ document: UnsafeBufferPointer<UInt8>, _ fields: FieldTable) -> Bool {
        var check = DocumentCheck(document)
        do throws(Unsure) {
            check.skipWhitespace()
            guard check.peek() == UInt8(ascii: "{") else { return false }
            try check.object(fields, depth: 1)
            check.skipWhitespace()
            return check.index == document.count
        } catch {
            return false
        }
    }

    // MARK: Bytes

    @inline(__always)
    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    @inline(__always)
    private mutating func expect(_ byte: UInt8) throws(Unsure) {
        guard index < bytes.count, bytes[index] == byte else { throw Unsure() }
        index += 1
    }

    // MARK: Checked values

    /// An object at `index` whose members are fields of `fields`.
    private mutating func object(_ fields: FieldTable, depth: Int) throws(Unsure) {
        guard depth <= Self.maxDepth else { throw Unsure() }
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw Unsure() }
            let key = try string()
            guard !key.escaped else { throw Unsure() }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let name = UnsafeBufferPointer(rebasing: bytes[key.range])
            if peek() == UInt8(ascii: "[") {
                // An array's elements are each a value of the field.
                guard depth + 1 <= Self.maxDepth else { throw Unsure() }
                index += 1
                skipWhitespace()
                if peek() == UInt8(ascii: "]") {
                    index += 1
                } else {
                    while true {
                        skipWhitespace()
                        try value(of: name, keyIsASCII: key.ascii, in: fields, depth: depth + 1)
                        skipWhitespace()
                        guard let byte = peek() else { throw Unsure() }
                        index += 1
                        if byte == UInt8(ascii: "]") { break }
                        guard byte == UInt8(ascii: ",") else { throw Unsure() }
                    }
                }
            } else {
                try value(of: name, keyIsASCII: key.ascii, in: fields, depth: depth)
            }
            skipWhitespace()
            guard let byte = peek() else { throw Unsure() }
            index += 1
            if byte == UInt8(ascii: "}") { return }
            guard byte == UInt8(ascii: ",") else { throw Unsure() }
        }
    }

    /// One value (or array element) of the field `name`.
    private mutating func value(of name: UnsafeBufferPointer<UInt8>, keyIsASCII: Bool, in fields: FieldTable, depth: Int) throws(Unsure) {
        guard let first = peek() else { throw Unsure() }
        if first == UInt8(ascii: "n") {
            try literal("null")  // null is never mapped nor checked
            return
        }
        guard let field = fields.field(name, isASCII: keyIsASCII) else { throw Unsure() }
        switch field.accepts {
        case .object(let inner):
            guard first == UInt8(ascii: "{"), let inner else { throw Unsure() }
            try object(inner, depth: depth + 1)
        case .anything:
            try skipValue(depth: depth)
        case .scalar:
            guard first != UInt8(ascii: "{") else { throw Unsure() }
            try skipValue(depth: depth)
        case .integral(let bounds):
            let text = try numericText(first)
            guard let number = Double(text), number.isFinite, bounds.contains(number.rounded(.towardZero)) else { throw Unsure() }
        case .floating:
            let text = try numericText(first)
            guard let number = Double(text), number.isFinite else { throw Unsure() }
        case .boolean:
            if first == UInt8(ascii: "t") {
                try literal("true")
            } else if first == UInt8(ascii: "f") {
                try literal("false")
            } else {
                guard first == UInt8(ascii: "\"") else { throw Unsure() }
                let text = try string()
                guard !text.escaped, Self.isBooleanText(UnsafeBufferPointer(rebasing: bytes[text.range])) else { throw Unsure() }
            }
        case .date:
            if first == UInt8(ascii: "\"") {
                let text = try string()
                guard !text.escaped else { throw Unsure() }
                let raw = UnsafeBufferPointer(rebasing: bytes[text.range])
                guard DateText.isDate(raw) || Int64(String(decoding: raw, as: UTF8.self)) != nil else { throw Unsure() }
            } else {
                guard first == UInt8(ascii: "-") || Self.isDigit(first) else { throw Unsure() }
                let range = try number()
                guard Int64(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)) != nil else { throw Unsure() }
            }
        case .unusable:
            throw Unsure()
        }
    }

    /// The text a numeric field reads: a number as written, or a string without escapes with its
    /// spaces trimmed (as `Mapping` coerces numeric strings).
    private mutating func numericText(_ first: UInt8) throws(Unsure) -> String {
        if first == UInt8(ascii: "\"") {
            let text = try string()
            guard !text.escaped else { throw Unsure() }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[text.range]), as: UTF8.self).trimmingSpaces
        }
        guard first == UInt8(ascii: "-") || Self.isDigit(first) else { throw Unsure() }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[try number()]), as: UTF8.self)
    }

    private static func isBooleanText(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        text.isEmpty || text.elementsEqual("true".utf8) || text.elementsEqual("false".utf8)
    }

    // MARK: Validation alone

    /// Any JSON value, validated and skipped.
    private mutating func skipValue(depth: Int) throws(Unsure) {
        guard let first = peek() else { throw Unsure() }
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth + 1 <= Self.maxDepth else { throw Unsure() }
            let close = first == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipWhitespace()
            if peek() == close {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                if close == UInt8(ascii: "}") {
                    guard peek() == UInt8(ascii: "\"") else { throw Unsure() }
                    _ = try string()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"))
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard let byte = peek() else { throw Unsure() }
                index += 1
                if byte == close { return }
                guard byte == UInt8(ascii: ",") else { throw Unsure() }
            }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try number()
        default: throw Unsure()
        }
    }

    private mutating func literal(_ text: StaticString) throws(Unsure) {
        let count = text.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw Unsure() }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { throw Unsure() }
        index += count
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// A number (RFC 8259 grammar, as `JSONScanner.parseNumber`); its byte range.
    private mutating func number() throws(Unsure) -> Range<Int> {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard let lead = peek() else { throw Unsure() }
        if lead == UInt8(ascii: "0") {
            index += 1
        } else if Self.isDigit(lead) {
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        } else {
            throw Unsure()
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let digit = peek(), Self.isDigit(digit) else { throw Unsure() }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            index += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), Self.isDigit(digit) else { throw Unsure() }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        return start..<index
    }

    /// A string starting at its opening quote: the byte range between the quotes, whether it has
    /// escapes (all checked as `JSONScanner.parseString` checks them) and whether it is ASCII.
    /// Non-ASCII text must be valid UTF-8; escapes only produce whole characters, so checking the
    /// raw bytes between the quotes is the same as checking the decoded text.
    private mutating func string() throws(Unsure) -> (range: Range<Int>, escaped: Bool, ascii: Bool) {
        index += 1
        let start = index
        var escaped = false
        var highBits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let range = start..<index
                index += 1
                if highBits >= 0x80 {
                    guard String(validUTF8: UnsafeBufferPointer(rebasing: bytes[range]), isASCII: false) != nil else { throw Unsure() }
                }
                return (range, escaped, highBits < 0x80)
            }
            if byte < 0x20 { throw Unsure() }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                try escape()
                continue
            }
            highBits |= byte
            index += 1
        }
        throw Unsure()
    }

    /// One escape sequence at `index` (the backslash).
    private mutating func escape() throws(Unsure) {
        index += 1
        guard let kind = peek() else { throw Unsure() }
        index += 1
        switch kind {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
            UInt8(ascii: "r"), UInt8(ascii: "t"):
            return
        case UInt8(ascii: "u"):
            let scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { throw Unsure() }
                index += 2
                guard (0xDC00...0xDFFF).contains(try hex4()) else { throw Unsure() }
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw Unsure()
            }
        default:
            throw Unsure()
        }
    }

    private mutating func hex4() throws(Unsure) -> UInt32 {
        guard bytes.count - index >= 4 else { throw Unsure() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Hex.value(bytes[index]) else { throw Unsure() }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
