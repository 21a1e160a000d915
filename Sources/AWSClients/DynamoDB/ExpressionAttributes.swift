/// The `ExpressionAttributeNames` and `ExpressionAttributeValues` of a DynamoDB call, with a
/// builder that makes placeholders safely: `name(_:)` gives `#n0`, `#n1`… and `value(_:)` gives
/// `:v0`, `:v1`…, so attribute names that are reserved words or hold dots, and values of any
/// content, never reach the expression text.
///
/// ```swift
/// var attributes = ExpressionAttributes()
/// let update = "SET \(attributes.name("status")) = \(attributes.value("done")) ADD \(attributes.name("tries")) \(attributes.value(1))"
/// let condition = "attribute_exists(\(attributes.name("pk")))"
/// ```
///
/// Hand-written placeholders work too: `ExpressionAttributes(names: ["#s": "status"], values: [":d": "done"])`.
package struct ExpressionAttributes: Sendable, Hashable {
    /// `#placeholder` → attribute name.
    package var names: [String: String]
    /// `:placeholder` → value.
    package var values: Item

    package init(names: [String: String] = [:], values: Item = [:]) {
        self.names = names
        self.values = values
    }

    package var isEmpty: Bool { names.isEmpty && values.isEmpty }

    /// The placeholder for attribute `name` (the same one each time for the same name).
    package mutating func name(_ name: String) -> String {
        if let existing = names.first(where: { $0.value == name })?.key { return existing }
        var index = names.count
        while names["#n\(index)"] != nil { index += 1 }
        let placeholder = "#n\(index)"
        names[placeholder] = name
        return placeholder
    }

    /// A placeholder for a document path: `path(["meta", "size"])` gives `#n0.#n1`.
    package mutating func path(_ components: [String]) -> String {
        components.map { name($0) }.joined(separator: ".")
    }

    /// A new placeholder for `value`.
    package mutating func value(_ value: AttributeValue) -> String {
        var index = values.count
        while values[":v\(index)"] != nil { index += 1 }
        let placeholder = ":v\(index)"
        values[placeholder] = value
        return placeholder
    }

    /// Adds `other`'s placeholders (which must not clash with these).
    package mutating func merge(_ other: ExpressionAttributes) {
        names.merge(other.names) { _, new in new }
        values.merge(other.values) { _, new in new }
    }
}
