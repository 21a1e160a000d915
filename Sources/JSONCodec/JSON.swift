/// A JSON value. Numbers keep their original text so that no precision is lost (decimals, 64-bit
/// ids); objects keep their members in document order.
package enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number's text exactly as written (or as produced by `JSON.number(_:)`).
    case number(String)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    package static func number(_ value: Int) -> JSON { .number(String(value)) }
    package static func number(_ value: Int64) -> JSON { .number(String(value)) }
    package static func number(_ value: Double) -> JSON {
        value.isFinite ? .number(JSONWriter.format(value)) : .null
    }

    // MARK: Accessors

    package subscript(key: String) -> JSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    package subscript(index: Int) -> JSON? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    package var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    package var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    package var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }
    package var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
    package var isNull: Bool { self == .null }
    /// The number's text, if this is a number.
    package var numberText: String? {
        if case .number(let n) = self { return n }
        return nil
    }
    /// The value as an integer: a number without fraction or exponent that fits in 64 bits.
    package var int64Value: Int64? {
        if case .number(let n) = self { return Int64(n) }
        return nil
    }
    package var intValue: Int? { int64Value.map { Int($0) } }
    package var doubleValue: Double? {
        if case .number(let n) = self { return Double(n) }
        return nil
    }

    /// A short name of the value's kind, for error messages.
    package var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON object: members in document order. Lookup is linear, which is fastest for the small
/// objects AWS APIs and records use; a key that appears twice answers with its last value.
package struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    package struct Member: Sendable, Hashable {
        package var key: String
        package var value: JSON
        package init(key: String, value: JSON) {
            self.key = key
            self.value = value
        }
    }

    package var members: [Member]

    package init() { members = [] }
    package init(_ members: [Member]) { self.members = members }
    package init(dictionaryLiteral elements: (String, JSON)...) {
        members = elements.map { Member(key: $0.0, value: $0.1) }
    }

    package var count: Int { members.count }
    package var isEmpty: Bool { members.isEmpty }
    package var keys: [String] { members.map(\.key) }

    package func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

    package subscript(key: String) -> JSON? {
        get {
            for member in members.reversed() where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = members.lastIndex(where: { $0.key == key }) {
                if let newValue {
                    members[index].value = newValue
                } else {
                    members.remove(at: index)
                }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    /// Adds a member without looking for an existing one (the caller knows the key is new).
    package mutating func append(_ key: String, _ value: JSON) {
        members.append(Member(key: key, value: value))
    }
}

// MARK: Literals

/// Literals make hand-built documents and responses read like JSON:
/// `["acknowledged": true, "index": "logs", "shards": 1, "hits": []]`.
extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    package init(stringLiteral value: String) { self = .string(value) }
    package init(integerLiteral value: Int) { self = .number(String(value)) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(arrayLiteral elements: JSON...) { self = .array(elements) }
    package init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(JSONObject(elements.map { JSONObject.Member(key: $0.0, value: $0.1) }))
    }
    package init(nilLiteral: ()) { self = .null }
}
