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
        let accepts: Accepts
    }

    /// One entry per distinct name, holding the last definition (as `JSONObject` lookups answer).
    let fields: [Field]
    /// Every name's bytes, one after another; `ends[i]` is where name `i` ends.
    private let keys: [UInt8]
    private let ends: [Int]
    /// Whether each name is written in JSON as its bytes between quotes (printable ASCII, no
    /// quote or backslash).
    private let plain: [Bool]
    /// Whether every name is ASCII: then a key's bytes equal a name's bytes exactly when the two
    /// strings are equal (otherwise `String` equality, which is canonical equivalence, decides).
    let asciiNames: Bool

    init(properties: JSONObject) {
        var fields: [Field] = []
        for member in properties {
            if let earlier = fields.firstIndex(where: { $0.name == member.key }) {
                fields.remove(at: earlier)
            }
            fields.append(Field(name: member.key, accepts: Self.accepts(member.value)))
        }
        self.fields = fields
        var keys: [UInt8] = []
        var ends: [Int] = []
        for field in fields {
            keys += field.name.utf8
            ends.append(keys.count)
        }
        self.keys = keys + repeatElement(0, count: 8)  // spare bytes: `plainName` reads whole words
        self.ends = ends
        asciiNames = keys.allSatisfy { $0 < 0x80 }
        plain = fields.map { $0.name.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") } }
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

    /// The length of the name of the field at `position` when `bytes` at `at` hold exactly that
    /// name between quotes, plainly written; `nil` otherwise. (Names are distinct ASCII, so the key
    /// names that field and no other.)
    @inline(__always)
    func plainName(at: Int, in bytes: UnsafeBufferPointer<UInt8>, position: Int) -> Int? {
        guard asciiNames, position < ends.count, plain[position] else { return nil }
        let start = position == 0 ? 0 : ends[position - 1]
        let length = ends[position] - start
        guard bytes.count - at >= length + 2, bytes[at + length + 1] == UInt8(ascii: "\"") else { return nil }
        return keys.withUnsafeBufferPointer { keys in
            // Eight bytes at a time: `keys` ends with eight spare bytes, so a word may always be
            // read from it; the document's last word is compared byte by byte when it is short.
            let key = UnsafeRawPointer(keys.baseAddress! + start)
            let text = UnsafeRawPointer(bytes.baseAddress! + at + 1)
            let readable = bytes.count - at - 1
            var offset = 0
            while offset < length {
                let rest = length - offset
                if readable - offset >= 8 {
                    let difference = UInt64(
                        littleEndian: key.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ text.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    // Only the name's bytes count: the first `rest` bytes, the low ones.
                    guard (rest >= 8 ? difference : difference & ((1 << (UInt64(rest) << 3)) &- 1)) == 0 else { return nil }
                } else {
                    for index in offset..<length where keys[start + index] != bytes[at + 1 + index] { return nil }
                }
                offset += 8
            }
            return length
        }
    }

    /// The position in `fields` of the field named by a key's (unescaped) bytes. The search
    /// starts at `hint` (documents tend to name their fields in the same order every time).
    func position(of key: UnsafeBufferPointer<UInt8>, isASCII: Bool, hint: Int) -> Int? {
        let count = ends.count
        guard count > 0 else { return nil }
        guard asciiNames, isASCII else {
            let name = String(decoding: key, as: UTF8.self)
            return fields.lastIndex { $0.name == name }
        }
        return keys.withUnsafeBufferPointer { keys -> Int? in
            ends.withUnsafeBufferPointer { ends -> Int? in
                var position = hint < count ? hint : 0
                for _ in 0..<count {
                    let start = position == 0 ? 0 : ends[position - 1]
                    if ends[position] - start == key.count {
                        var same = true
                        for offset in 0..<key.count where keys[start + offset] != key[offset] {
                            same = false
                            break
                        }
                        if same { return position }
                    }
                    position = position + 1 == count ? 0 : position + 1
                }
                return nil
            }
        }
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
        // Compact documents have none: one comparison answers for any byte above the space.
        guard index < bytes.count, bytes[index] <= 0x20 else { return }
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
        // Documents tend to name their fields in the mapping's order: each key is first compared
        // with the field after the last one found.
        var hint = 0
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw Unsure() }
            let position: Int?
            if let expected = fields.plainName(at: index, in: bytes, position: hint) {
                position = hint
                index += expected + 2
            } else {
                let key = try string()
                guard !key.escaped else { throw Unsure() }
                position = fields.position(of: UnsafeBufferPointer(rebasing: bytes[key.range]), isASCII: key.ascii, hint: hint)
            }
            if let position { hint = position + 1 }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
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
                        try value(of: position, in: fields, depth: depth + 1)
                        skipWhitespace()
                        guard let byte = peek() else { throw Unsure() }
                        index += 1
                        if byte == UInt8(ascii: "]") { break }
                        guard byte == UInt8(ascii: ",") else { throw Unsure() }
                    }
                }
            } else {
                try value(of: position, in: fields, depth: depth)
            }
            skipWhitespace()
            guard let byte = peek() else { throw Unsure() }
            index += 1
            if byte == UInt8(ascii: "}") { return }
            guard byte == UInt8(ascii: ",") else { throw Unsure() }
        }
    }

    /// One value (or array element) of the field at `position` in `fields` (`nil`: not mapped).
    private mutating func value(of position: Int?, in fields: FieldTable, depth: Int) throws(Unsure) {
        guard let first = peek() else { throw Unsure() }
        if first == UInt8(ascii: "n") {
            try literal("null")  // null is never mapped nor checked
            return
        }
        guard let position else { throw Unsure() }
        switch fields.fields[position].accepts {
        case .object(let inner):
            guard first == UInt8(ascii: "{"), let inner else { throw Unsure() }
            try object(inner, depth: depth + 1)
        case .anything:
            try skipValue(depth: depth)
        case .scalar:
            guard first != UInt8(ascii: "{") else { throw Unsure() }
            try skipValue(depth: depth)
        case .integral(let bounds):
            if first != UInt8(ascii: "\""), let integer = shortInteger() {
                // Up to 15 digits: exact as a Double, so the bounds compare as `Mapping` does.
                guard bounds.contains(Double(integer)) else { throw Unsure() }
                return
            }
            let text = try numericText(first)
            guard let number = Double(text), number.isFinite, bounds.contains(number.rounded(.towardZero)) else { throw Unsure() }
        case .floating:
            if first != UInt8(ascii: "\"") {
                guard first == UInt8(ascii: "-") || Self.isDigit(first) else { throw Unsure() }
                let range = try number()
                // Without an exponent, fewer than 300 characters are a finite Double.
                if range.count < 300, !bytes[range].contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) { return }
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
                guard let number = Double(text), number.isFinite else { throw Unsure() }
                return
            }
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

    /// A number at `index` written as an integer of at most 15 digits, read (and passed); `nil`,
    /// with nothing read, for any other number.
    private mutating func shortInteger() -> Int? {
        var at = index
        let negative = at < bytes.count && bytes[at] == UInt8(ascii: "-")
        if negative { at += 1 }
        var value = 0
        let digitsStart = at
        while at < bytes.count, Self.isDigit(bytes[at]), at - digitsStart < 16 {
            value = value * 10 + Int(bytes[at] - UInt8(ascii: "0"))
            at += 1
        }
        let digits = at - digitsStart
        guard digits > 0, digits <= 15, !(digits > 1 && bytes[digitsStart] == UInt8(ascii: "0")) else { return nil }
        if at < bytes.count {
            let next = bytes[at]
            guard next != UInt8(ascii: "."), next != UInt8(ascii: "e"), next != UInt8(ascii: "E"), !Self.isDigit(next) else { return nil }
        }
        index = at
        return negative ? -value : value
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
            // Eight bytes at a time up to the first that needs a look.
            index = firstSpecialStringByte(bytes.baseAddress!, from: index, end: bytes.count)
            guard index < bytes.count else { break }
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
