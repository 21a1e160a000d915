/// A pattern that recognises object keys and names their parts, such as
/// `received_files/{dataset}/{table}/{sequence}-{timestamp}.jsonl`.
///
/// `{name}` matches one or more characters other than `/`; `{name*}` may also span `/`; `*`
/// matches any run of characters other than `/` without naming it. Everything else is literal.
/// Matching is anchored at both ends and tries the shortest match for each part first.
package struct KeyPattern: Sendable, Hashable, CustomStringConvertible {
    enum Token: Sendable, Hashable {
        case literal([UInt8])
        case part(name: String, spansSlash: Bool)
        case wildcard
    }

    let tokens: [Token]
    package let source: String

    /// The names of the parts, in order.
    package var partNames: [String] {
        tokens.compactMap { if case .part(let name, _) = $0 { name } else { nil } }
    }

    package var description: String { source }

    /// Parses a pattern; the error says what is wrong with it.
    package init(_ source: String) throws(SettingsError) {
        self.source = source
        var tokens: [Token] = []
        var literal: [UInt8] = []
        var names = Set<String>()
        var iterator = Array(source.utf8).makeIterator()
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(literal)) }
            literal = []
        }
        func invalid(_ why: String) -> SettingsError {
            SettingsError(.invalid, setting: "keyPattern", detail: "'\(source)' \(why)")
        }
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "{"):
                flush()
                var name: [UInt8] = []
                var closed = false
                while let next = iterator.next() {
                    if next == UInt8(ascii: "}") {
                        closed = true
                        break
                    }
                    name.append(next)
                }
                guard closed else { throw invalid("has a '{' without its '}'") }
                var spans = false
                if name.last == UInt8(ascii: "*") {
                    spans = true
                    name.removeLast()
                }
                let text = String(decoding: name, as: UTF8.self)
                guard !text.isEmpty, text.utf8.allSatisfy({ Self.isNameByte($0) }) else {
                    throw invalid("has a part name '{\(text)}' that is not letters, digits and underscores")
                }
                guard names.insert(text).inserted else { throw invalid("names the part '\(text)' twice") }
                if case .part = tokens.last { throw invalid("has two parts with nothing between them") }
                tokens.append(.part(name: text, spansSlash: spans))
            case UInt8(ascii: "}"):
                throw invalid("has a '}' without its '{'")
            case UInt8(ascii: "*"):
                flush()
                // `**` matches what `*` does: one token, so that a run of them cannot multiply the search.
                if tokens.last != .wildcard { tokens.append(.wildcard) }
            default:
                literal.append(byte)
            }
        }
        flush()
        guard !tokens.isEmpty else { throw invalid("is empty") }
        self.tokens = tokens
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 95
    }

    /// The named parts of `key` when it matches, else `nil`.
    package func match(_ key: String) -> [String: String]? {
        let bytes = Array(key.utf8)
        var captures: [(String, Range<Int>)] = []
        var failed = FailedStates(tokens: tokens.count, positions: bytes.count)
        guard matchFrom(tokenIndex: 0, position: 0, bytes: bytes, captures: &captures, failed: &failed) else { return nil }
        var parts: [String: String] = [:]
        for (name, range) in captures { parts[name] = String(decoding: bytes[range], as: UTF8.self) }
        return parts
    }

    /// Which (token, position) pairs are known not to match: whether the rest of the pattern
    /// matches from a place does not depend on how the key got there, so each is tried once. Without
    /// this, a pattern of many `*` or parts backtracks exponentially (found by fuzzing: a key pattern
    /// of 94 `*` never finished).
    private struct FailedStates {
        private var bits: [Bool]
        private let stride: Int
        init(tokens: Int, positions: Int) {
            stride = positions + 1
            bits = [Bool](repeating: false, count: (tokens + 1) * stride)
        }
        subscript(token: Int, position: Int) -> Bool {
            get { bits[token * stride + position] }
            set { bits[token * stride + position] = newValue }
        }
    }

    private func matchFrom(
        tokenIndex: Int, position: Int, bytes: [UInt8], captures: inout [(String, Range<Int>)], failed: inout FailedStates
    ) -> Bool {
        if failed[tokenIndex, position] { return false }
        let matched = matchTokens(tokenIndex: tokenIndex, position: position, bytes: bytes, captures: &captures, failed: &failed)
        if !matched { failed[tokenIndex, position] = true }
        return matched
    }

    private func matchTokens(
        tokenIndex: Int, position: Int, bytes: [UInt8], captures: inout [(String, Range<Int>)], failed: inout FailedStates
    ) -> Bool {
        guard tokenIndex < tokens.count else { return position == bytes.count }
        switch tokens[tokenIndex] {
        case .literal(let literal):
            guard position + literal.count <= bytes.count,
                bytes[position..<(position + literal.count)].elementsEqual(literal)
            else { return false }
            return matchFrom(
                tokenIndex: tokenIndex + 1, position: position + literal.count, bytes: bytes, captures: &captures, failed: &failed)
        case .part(let name, let spansSlash):
            var end = position + 1
            while end <= bytes.count {
                if !spansSlash, bytes[end - 1] == UInt8(ascii: "/") { return false }
                captures.append((name, position..<end))
                if matchFrom(tokenIndex: tokenIndex + 1, position: end, bytes: bytes, captures: &captures, failed: &failed) { return true }
                captures.removeLast()
                end += 1
            }
            return false
        case .wildcard:
            var end = position
            while end <= bytes.count {
                if matchFrom(tokenIndex: tokenIndex + 1, position: end, bytes: bytes, captures: &captures, failed: &failed) { return true }
                if end < bytes.count, bytes[end] == UInt8(ascii: "/") { return false }
                end += 1
            }
            return false
        }
    }
}
