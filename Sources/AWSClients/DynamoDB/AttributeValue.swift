package import JSONCodec
import Primitives

/// One DynamoDB attribute value, of any of the ten types. Numbers keep their decimal text, so
/// `12345678901234567890.123` survives exactly; binaries are bytes (base64 only on the wire).
///
/// Sets compare (and hash) as sets: `.ss(["a", "b"]) == .ss(["b", "a"])`. Numbers compare as text.
package enum AttributeValue: Sendable {
    case s(String)
    /// A number, as its decimal text.
    case n(String)
    case b([UInt8])
    case bool(Bool)
    case null
    case m([String: AttributeValue])
    case l([AttributeValue])
    case ss([String])
    /// A number set, each number as its decimal text.
    case ns([String])
    case bs([[UInt8]])

    /// A number from an integer.
    package static func number<I: BinaryInteger>(_ value: I) -> AttributeValue { .n(String(value)) }
    /// A number from a double (its shortest round-tripping text); `nil` for NaN and infinities,
    /// which DynamoDB cannot store.
    package static func number(_ value: Double) -> AttributeValue? {
        value.isFinite ? .n(JSONWriter.format(value)) : nil
    }

    /// The wire name of the value's type (`S`, `N`, `B`, `BOOL`, `NULL`, `M`, `L`, `SS`, `NS`, `BS`).
    package var typeName: String {
        switch self {
        case .s: "S"
        case .n: "N"
        case .b: "B"
        case .bool: "BOOL"
        case .null: "NULL"
        case .m: "M"
        case .l: "L"
        case .ss: "SS"
        case .ns: "NS"
        case .bs: "BS"
        }
    }

    // MARK: Typed accessors

    package var stringValue: String? {
        if case .s(let value) = self { return value }
        return nil
    }
    /// The number's text.
    package var numberText: String? {
        if case .n(let value) = self { return value }
        return nil
    }
    /// The number as an integer, if it is one that fits.
    package var int64Value: Int64? { numberText.flatMap { Int64($0) } }
    package var intValue: Int? { numberText.flatMap { Int($0) } }
    /// The number as a double (may round).
    package var doubleValue: Double? { numberText.flatMap { Double($0) } }
    package var bytesValue: [UInt8]? {
        if case .b(let value) = self { return value }
        return nil
    }
    package var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
    package var isNull: Bool {
        if case .null = self { return true }
        return false
    }
    package var mapValue: [String: AttributeValue]? {
        if case .m(let value) = self { return value }
        return nil
    }
    package var listValue: [AttributeValue]? {
        if case .l(let value) = self { return value }
        return nil
    }
    package var stringSetValue: [String]? {
        if case .ss(let value) = self { return value }
        return nil
    }
    package var numberSetValue: [String]? {
        if case .ns(let value) = self { return value }
        return nil
    }
    package var binarySetValue: [[UInt8]]? {
        if case .bs(let value) = self { return value }
        return nil
    }
}

/// A DynamoDB item (or key): attribute names to values.
package typealias Item = [String: AttributeValue]

extension Dictionary where Key == String, Value == AttributeValue {
    package func string(_ name: String) -> String? { self[name]?.stringValue }
    package func numberText(_ name: String) -> String? { self[name]?.numberText }
    package func int64(_ name: String) -> Int64? { self[name]?.int64Value }
    package func int(_ name: String) -> Int? { self[name]?.intValue }
    package func double(_ name: String) -> Double? { self[name]?.doubleValue }
    package func bytes(_ name: String) -> [UInt8]? { self[name]?.bytesValue }
    package func bool(_ name: String) -> Bool? { self[name]?.boolValue }
    package func map(_ name: String) -> Item? { self[name]?.mapValue }
    package func list(_ name: String) -> [AttributeValue]? { self[name]?.listValue }
    package func stringSet(_ name: String) -> [String]? { self[name]?.stringSetValue }
    package func numberSet(_ name: String) -> [String]? { self[name]?.numberSetValue }
    package func binarySet(_ name: String) -> [[UInt8]]? { self[name]?.binarySetValue }
}

// MARK: Equality with set semantics

extension AttributeValue: Hashable {
    package static func == (lhs: AttributeValue, rhs: AttributeValue) -> Bool {
        switch (lhs, rhs) {
        case (.s(let a), .s(let b)): a == b
        case (.n(let a), .n(let b)): a == b
        case (.b(let a), .b(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        case (.m(let a), .m(let b)): a == b
        case (.l(let a), .l(let b)): a == b
        case (.ss(let a), .ss(let b)): a.count == b.count && Set(a) == Set(b)
        case (.ns(let a), .ns(let b)): a.count == b.count && Set(a) == Set(b)
        case (.bs(let a), .bs(let b)): a.count == b.count && Set(a) == Set(b)
        default: false
        }
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(typeName)
        switch self {
        case .s(let value), .n(let value): hasher.combine(value)
        case .b(let value): hasher.combine(value)
        case .bool(let value): hasher.combine(value)
        case .null: break
        case .m(let value): hasher.combine(value)
        case .l(let value): hasher.combine(value)
        case .ss(let value), .ns(let value): hasher.combine(Set(value))
        case .bs(let value): hasher.combine(Set(value))
        }
    }
}

// MARK: Literals

extension AttributeValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    package init(stringLiteral value: String) { self = .s(value) }
    package init(integerLiteral value: Int) { self = .n(String(value)) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(arrayLiteral elements: AttributeValue...) { self = .l(elements) }
    package init(dictionaryLiteral elements: (String, AttributeValue)...) {
        self = .m(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    package init(nilLiteral: ()) { self = .null }
}

// MARK: Validation

extension AttributeValue {
    /// What DynamoDB would reject in this value, found before sending: a number that is not a
    /// DynamoDB number, an empty set, a set with duplicates. `nil` when the value is fine.
    /// - Parameter path: where the value sits, for the message (`Item.tags`).
    package func problem(at path: String) -> String? {
        switch self {
        case .s, .b, .bool, .null: return nil
        case .n(let text):
            return Self.isNumber(text) ? nil : "\(path) is not a DynamoDB number"
        case .m(let members):
            for key in members.keys.sorted() {
                if let problem = members[key]!.problem(at: "\(path).\(key)") { return problem }
            }
            return nil
        case .l(let elements):
            for (index, element) in elements.enumerated() {
                if let problem = element.problem(at: "\(path)[\(index)]") { return problem }
            }
            return nil
        case .ss(let values):
            return Self.setProblem(values, path: path)
        case .bs(let values):
            return Self.setProblem(values, path: path)
        case .ns(let values):
            if let bad = values.firstIndex(where: { !Self.isNumber($0) }) {
                return "\(path) element \(bad) is not a DynamoDB number"
            }
            return Self.setProblem(values, path: path)
        }
    }

    private static func setProblem<T: Hashable>(_ values: [T], path: String) -> String? {
        if values.isEmpty { return "\(path) is an empty set (DynamoDB sets hold at least one element)" }
        if Set(values).count != values.count { return "\(path) is a set with duplicate elements" }
        return nil
    }

    /// DynamoDB's number syntax: an optional sign, digits with an optional fraction, an optional
    /// exponent; at most 38 significant digits. (The magnitude limits, 1E-130 to 1E+126, are left
    /// to the service.)
    package static func isNumber(_ text: String) -> Bool {
        var utf8 = text.utf8[...]
        if utf8.first == UInt8(ascii: "-") || utf8.first == UInt8(ascii: "+") { utf8 = utf8.dropFirst() }
        var digits = 0
        var firstNonZero = -1
        var lastNonZero = -1
        var seenDot = false
        while let byte = utf8.first, byte != UInt8(ascii: "e"), byte != UInt8(ascii: "E") {
            utf8 = utf8.dropFirst()
            if byte == UInt8(ascii: ".") {
                if seenDot { return false }
                seenDot = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return false }
            if byte != UInt8(ascii: "0") {
                if firstNonZero < 0 { firstNonZero = digits }
                lastNonZero = digits
            }
            digits += 1
        }
        guard digits > 0 else { return false }
        if !utf8.isEmpty {
            utf8 = utf8.dropFirst()  // the e
            if utf8.first == UInt8(ascii: "-") || utf8.first == UInt8(ascii: "+") { utf8 = utf8.dropFirst() }
            guard !utf8.isEmpty, utf8.count <= 4, utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { return false }
        }
        // Precision: the digits from the first non-zero one to the last non-zero one.
        return firstNonZero < 0 || lastNonZero - firstNonZero + 1 <= 38
    }
}

// MARK: JSON (the DynamoDB wire form)

/// Why a DynamoDB attribute value in a response could not be read.
package struct AttributeValueDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the document (`Item.payload.M.data`).
    package var path: String
    package var reason: String

    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    package var description: String { "\(path): \(reason)" }
}

extension AttributeValue {
    /// The wire form: `{"S":"text"}`, `{"N":"1.5"}`, `{"B":"<base64>"}`, `{"M":{…}}`, …
    package var json: JSON {
        switch self {
        case .s(let value): .object(["S": .string(value)])
        case .n(let value): .object(["N": .string(value)])
        case .b(let value): .object(["B": .string(Base64.encode(value))])
        case .bool(let value): .object(["BOOL": .bool(value)])
        case .null: .object(["NULL": .bool(true)])
        case .m(let value): .object(["M": Self.json(value)])
        case .l(let value): .object(["L": .array(value.map(\.json))])
        case .ss(let value): .object(["SS": .array(value.map { .string($0) })])
        case .ns(let value): .object(["NS": .array(value.map { .string($0) })])
        case .bs(let value): .object(["BS": .array(value.map { .string(Base64.encode($0)) })])
        }
    }

    /// An item's wire form, attributes in name order (so that equal items serialise identically).
    package static func json(_ item: Item) -> JSON {
        var object = JSONObject()
        object.members.reserveCapacity(item.count)
        for key in item.keys.sorted() { object.append(key, item[key]!.json) }
        return .object(object)
    }

    /// Reads a value from its wire form.
    /// - Throws: `AttributeValueDecodingError` naming the path of the first bad value.
    package init(json: JSON, path: String = "value") throws(AttributeValueDecodingError) {
        guard case .object(let object) = json, object.count == 1, let member = object.members.first else {
            throw AttributeValueDecodingError(path: path, reason: "expected an object with exactly one type member, got \(json.kindName)")
        }
        let value = member.value
        let inner = "\(path).\(member.key)"
        func wrong(_ expected: String) -> AttributeValueDecodingError {
            AttributeValueDecodingError(path: inner, reason: "expected \(expected), got \(value.kindName)")
        }
        func strings() throws(AttributeValueDecodingError) -> [String] {
            guard let array = value.arrayValue else { throw wrong("an array of strings") }
            var out = [String]()
            out.reserveCapacity(array.count)
            for element in array {
                guard let text = element.stringValue else { throw wrong("an array of strings") }
                out.append(text)
            }
            return out
        }
        func bytes(_ text: String, at where_: String) throws(AttributeValueDecodingError) -> [UInt8] {
            do {
                return try Base64.decode(text)
            } catch {
                throw AttributeValueDecodingError(path: where_, reason: "not valid base64 (\(error.code.rawValue) at offset \(error.offset))")
            }
        }
        switch member.key {
        case "S":
            guard let text = value.stringValue else { throw wrong("a string") }
            self = .s(text)
        case "N":
            guard let text = value.stringValue ?? value.numberText else { throw wrong("a number as a string") }
            self = .n(text)
        case "B":
            guard let text = value.stringValue else { throw wrong("a base64 string") }
            self = .b(try bytes(text, at: inner))
        case "BOOL":
            guard let flag = value.boolValue else { throw wrong("a boolean") }
            self = .bool(flag)
        case "NULL":
            guard value.boolValue == true else { throw wrong("true") }
            self = .null
        case "M":
            guard case .object = value else { throw wrong("an object") }
            self = .m(try Self.item(json: value, path: inner))
        case "L":
            guard let array = value.arrayValue else { throw wrong("an array") }
            var elements = [AttributeValue]()
            elements.reserveCapacity(array.count)
            for (index, element) in array.enumerated() {
                elements.append(try AttributeValue(json: element, path: "\(inner)[\(index)]"))
            }
            self = .l(elements)
        case "SS":
            self = .ss(try strings())
        case "NS":
            self = .ns(try strings())
        case "BS":
            let texts = try strings()
            var values = [[UInt8]]()
            values.reserveCapacity(texts.count)
            for (index, text) in texts.enumerated() { values.append(try bytes(text, at: "\(inner)[\(index)]")) }
            self = .bs(values)
        default:
            throw AttributeValueDecodingError(path: path, reason: "unknown attribute type '\(member.key)'")
        }
    }

    /// Reads an item (or key) from its wire form, a JSON object of attribute values.
    package static func item(json: JSON, path: String = "Item") throws(AttributeValueDecodingError) -> Item {
        guard case .object(let object) = json else {
            throw AttributeValueDecodingError(path: path, reason: "expected an object, got \(json.kindName)")
        }
        var item = Item(minimumCapacity: object.count)
        for member in object {
            item[member.key] = try AttributeValue(json: member.value, path: "\(path).\(member.key)")
        }
        return item
    }
}
