import JSONCodec
import Primitives

/// The JSON-lines fast path: checks that a byte range holds exactly one JSON object (full RFC 8259
/// grammar, UTF-8 validated, nesting limited) and notes where the selected top-level members'
/// values lie, without building a `JSON` tree or allocating.
struct ObjectScanner {
    /// Where a selected member's value lies in the scanned buffer.
    struct Slot {
        var start = -1
        var end = -1
        var kind: FieldValue.Kind = .null
        var hasEscapes = false
    }

    struct Failure: Error {
        var code: RecordError.Code
        /// Offset from the start of the scanned range.
        var offset: Int
        var detail: String
    }

    /// Deepest nesting accepted whatever the options say (the bit stack's size).
    static let depthCapacity = 256

    private let p: UnsafePointer<UInt8>
    private let n: Int
    private let origin: Int
    private var i: Int
    private let maxDepth: Int

    private init(_ p: UnsafePointer<UInt8>, start: Int, end: Int, maxDepth: Int) {
        self.p = p
        self.n = end
        self.origin = start
        self.i = start
        self.maxDepth = min(maxDepth, Self.depthCapacity)
    }

    /// Scans `p[start..<end]`; on success `slots[k]` says where selection member `k`'s value is
    /// (absolute indices into `p`); a repeated member answers with its last value.
    static func scan(
        _ p: UnsafePointer<UInt8>, start: Int, end: Int, maxDepth: Int, selection: FieldSelection,
        slots: inout [Slot]
    ) -> Failure? {
        var scanner = ObjectScanner(p, start: start, end: end, maxDepth: maxDepth)
        do {
            try scanner.run(selection: selection, slots: &slots)
            return nil
        } catch {
            return error
        }
    }

    // MARK: The grammar

    /// The record's own members in a straight loop (the common case: scalars, where the selected
    /// values are), nested arrays and objects in `scanNested`.
    @inline(__always)
    private mutating func run(selection: FieldSelection, slots: inout [Slot]) throws(Failure) {
        skipWhitespace()
        guard i < n else { throw fail(.invalidJSON, "the line is empty") }
        if p[i] != UInt8(ascii: "{") {
            // Tell "valid JSON, but not an object" from "not JSON".
            let kind = try scanScalarOrArrayKind()
            throw Failure(code: .notAnObject, offset: 0, detail: "the record is a JSON \(kind), not an object")
        }
        guard maxDepth >= 1 else { throw tooDeep() }
        i += 1
        skipWhitespace()
        guard i < n else { throw endedEarly() }
        if p[i] == UInt8(ascii: "}") {
            i += 1
            return try finish()
        }
        let selecting = selection.count > 0
        while true {
            // At a member name's opening quote (white space skipped).
            guard p[i] == UInt8(ascii: "\"") else { throw unexpected("a member name in quotes") }
            let keyStart = i + 1
            var keyEscaped = false
            try scanString(escaped: &keyEscaped)
            let slot = selecting ? lookUp(keyStart: keyStart, keyEnd: i - 1, escaped: keyEscaped, selection: selection) : -1
            try skipColon()
            let valueStart = i
            var escaped = false
            let kind: FieldValue.Kind
            switch p[i] {
            case UInt8(ascii: "\""):
                // Strings and numbers here, not through `scanScalar`: the record's own members
                // are most of the work.
                try scanString(escaped: &escaped)
                kind = .string
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try scanNumber()
                kind = .number
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                kind = p[i] == UInt8(ascii: "{") ? .object : .array
                try scanNested()
            default:
                kind = try scanScalar(escaped: &escaped)
            }
            if slot >= 0 {
                slots[slot] = Slot(start: valueStart, end: i, kind: kind, hasEscapes: kind == .string && escaped)
            }
            skipWhitespace()
            guard i < n else { throw endedEarly() }
            let c = p[i]
            if c == UInt8(ascii: ",") {
                i += 1
                skipWhitespace()
                guard i < n else { throw endedEarly() }
            } else if c == UInt8(ascii: "}") {
                i += 1
                return try finish()
            } else {
                throw unexpected("',' or '}'")
            }
        }
    }

    /// Reads a string, number or literal at its first byte; anything else is not a value here.
    private mutating func scanScalar(escaped: inout Bool) throws(Failure) -> FieldValue.Kind {
        switch p[i] {
        case UInt8(ascii: "\""):
            try scanString(escaped: &escaped)
            return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
            return .number
        case UInt8(ascii: "t"):
            try literal("true")
            return .boolean
        case UInt8(ascii: "f"):
            try literal("false")
            return .boolean
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            throw unexpected("a value")
        }
    }

    /// From just past a member name to its value's first byte: white space, ':', white space.
    @inline(__always)
    private mutating func skipColon() throws(Failure) {
        if i < n, p[i] == UInt8(ascii: ":") {
            i += 1
        } else {
            skipWhitespace()
            guard i < n else { throw endedEarly() }
            guard p[i] == UInt8(ascii: ":") else { throw unexpected("':' after a member name") }
            i += 1
        }
        skipWhitespace()
        guard i < n else { throw endedEarly() }
    }

    private enum Next { case value, key, afterValue }

    /// Reads an array or object inside the record, from its opening bracket to just past its
    /// closing one (one loop with an explicit stack, so the index lives in a register).
    private mutating func scanNested() throws(Failure) {
        var stack = BitStack()
        // The record itself is level 0.
        stack.push(object: true)
        var next = Next.value

        while true {
            switch next {
            case .value:
                // At a value's first byte (white space skipped).
                switch p[i] {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    let object = p[i] == UInt8(ascii: "{")
                    guard stack.depth < maxDepth else { throw tooDeep() }
                    stack.push(object: object)
                    i += 1
                    skipWhitespace()
                    guard i < n else { throw endedEarly() }
                    if p[i] == (object ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        i += 1
                        stack.depth -= 1
                        next = .afterValue
                    } else {
                        next = object ? .key : .value
                    }
                default:
                    var escaped = false
                    _ = try scanScalar(escaped: &escaped)
                    next = .afterValue
                }
            case .key:
                // At a member name's opening quote (white space skipped).
                guard p[i] == UInt8(ascii: "\"") else { throw unexpected("a member name in quotes") }
                var keyEscaped = false
                try scanString(escaped: &keyEscaped)
                try skipColon()
                next = .value
            case .afterValue:
                // Just past a whole value inside `depth` containers; back in the record: done.
                if stack.depth == 1 { return }
                skipWhitespace()
                guard i < n else { throw endedEarly() }
                let c = p[i]
                let inObject = stack.isObject(stack.depth - 1)
                if c == UInt8(ascii: ",") {
                    i += 1
                    skipWhitespace()
                    guard i < n else { throw endedEarly() }
                    next = inObject ? .key : .value
                } else if c == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    i += 1
                    stack.depth -= 1
                } else {
                    throw unexpected(inObject ? "',' or '}'" : "',' or ']'")
                }
            }
        }
    }

    private mutating func finish() throws(Failure) {
        skipWhitespace()
        guard i == n else { throw unexpected("the end of the record after the object") }
    }

    // MARK: Tokens

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < n {
            let c = p[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    @inline(__always)
    private func lookUp(keyStart: Int, keyEnd: Int, escaped: Bool, selection: FieldSelection) -> Int {
        if !escaped {
            return selection.slot(matching: UnsafeBufferPointer(start: p + keyStart, count: keyEnd - keyStart)) ?? -1
        }
        let raw = UnsafeBufferPointer(start: p + keyStart - 1, count: keyEnd - keyStart + 2)
        guard let key = decodeStringLiteral(raw) else { return -1 }
        return selection.slot(of: key) ?? -1
    }

    /// Reads a string from its opening quote to just past its closing quote.
    @inline(__always)
    private mutating func scanString(escaped: inout Bool) throws(Failure) {
        // Most strings are printable ASCII up to their closing quote.
        let j = firstSpecialStringByte(p, from: i + 1, end: n)
        if j < n, p[j] == UInt8(ascii: "\"") {
            i = j + 1
            return
        }
        i = j
        try scanStringRest(escaped: &escaped)
    }

    /// The rest of a string from the first byte that needs attention.
    private mutating func scanStringRest(escaped: inout Bool) throws(Failure) {
        while true {
            guard i < n else { throw fail(.invalidJSON, "a string is not closed") }
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                try scanEscape()
            } else if c < 0x20 {
                throw fail(.invalidJSON, "an unescaped control character in a string")
            } else {
                let length = utf8SequenceLength(p, at: i, end: n)
                guard length > 0 else { throw fail(.invalidUTF8, "invalid UTF-8 in a string") }
                i += length
            }
            i = firstSpecialStringByte(p, from: i, end: n)
        }
    }

    private mutating func scanEscape() throws(Failure) {
        guard i + 1 < n else { throw fail(.invalidJSON, "a string is not closed") }
        switch p[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 2
        case UInt8(ascii: "u"):
            guard let unit = hex4(at: i + 2) else { throw fail(.invalidJSON, "a malformed \\u escape") }
            i += 6
            if (0xD800...0xDBFF).contains(unit) {
                guard i + 1 < n, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u"), let low = hex4(at: i + 2),
                    (0xDC00...0xDFFF).contains(low)
                else { throw fail(.invalidJSON, "a lone UTF-16 surrogate in a \\u escape") }
                i += 6
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw fail(.invalidJSON, "a lone UTF-16 surrogate in a \\u escape")
            }
        default:
            throw fail(.invalidJSON, "an invalid escape in a string")
        }
    }

    @inline(__always)
    private func hex4(at index: Int) -> UInt32? {
        guard index + 4 <= n else { return nil }
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let digit = Hex.value(p[index + k]) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    @inline(__always)
    private mutating func scanNumber() throws(Failure) {
        let start = i
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n, isDigit(p[i]) else { throw fail(.invalidJSON, "a malformed number", at: start) }
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < n, isDigit(p[i]) { i += 1 }
        }
        if i < n, p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n, isDigit(p[i]) else { throw fail(.invalidJSON, "a malformed number", at: start) }
            while i < n, isDigit(p[i]) { i += 1 }
        }
        if i < n, p[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < n, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < n, isDigit(p[i]) else { throw fail(.invalidJSON, "a malformed number", at: start) }
            while i < n, isDigit(p[i]) { i += 1 }
        }
        if i < n, isDigit(p[i]) { throw fail(.invalidJSON, "a number with a leading zero", at: start) }
    }

    private mutating func literal(_ text: StaticString) throws(Failure) {
        let count = text.utf8CodeUnitCount
        guard i + count <= n, memcmpEqual(p + i, text.utf8Start, count) else {
            throw fail(.invalidJSON, "an unknown word (expected \(text))")
        }
        i += count
    }

    /// For a record that does not start with '{': validates it as JSON and names its kind.
    private mutating func scanScalarOrArrayKind() throws(Failure) -> String {
        let raw = UnsafeBufferPointer(start: p + i, count: n - i)
        do {
            return try JSONParser.parseBuffer(raw, maxDepth: maxDepth).kindName
        } catch {
            let code: RecordError.Code =
                switch error.code {
                case .invalidUTF8: .invalidUTF8
                case .tooDeep: .tooDeep
                default: .invalidJSON
                }
            throw Failure(code: code, offset: i - origin + error.offset, detail: error.description)
        }
    }

    // MARK: Failures

    private func fail(_ code: RecordError.Code, _ what: String, at index: Int? = nil) -> Failure {
        let offset = (index ?? i) - origin
        return Failure(code: code, offset: offset, detail: "\(what) at byte \(offset)")
    }

    private func endedEarly() -> Failure { fail(.invalidJSON, "the JSON ends too early") }

    private func tooDeep() -> Failure {
        Failure(
            code: .tooDeep, offset: i - origin, detail: "nesting deeper than \(maxDepth) levels at byte \(i - origin)")
    }

    private func unexpected(_ expected: String) -> Failure {
        let offset = i - origin
        let found = p[i]
        let shown =
            found >= 0x20 && found < 0x7F ? "'\(Character(Unicode.Scalar(found)))'" : "byte 0x\(Hex.encode([found]))"
        return Failure(
            code: .invalidJSON, offset: offset, detail: "expected \(expected), found \(shown) at byte \(offset)")
    }
}

@inline(__always)
func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

/// The length of the well-formed UTF-8 sequence at `i` (lead byte ≥ 0x80), or 0 when it is
/// malformed: overlong, a surrogate, beyond U+10FFFF, or cut short.
@inline(__always)
func utf8SequenceLength(_ p: UnsafePointer<UInt8>, at i: Int, end: Int) -> Int {
    let lead = p[i]
    @inline(__always) func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
        i + k < end && p[i + k] >= low && p[i + k] <= high
    }
    switch lead {
    case 0xC2...0xDF:
        return continuation(1) ? 2 : 0
    case 0xE0:
        return continuation(1, 0xA0) && continuation(2) ? 3 : 0
    case 0xED:
        return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
    case 0xE1...0xEC, 0xEE...0xEF:
        return continuation(1) && continuation(2) ? 3 : 0
    case 0xF0:
        return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
    case 0xF1...0xF3:
        return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
    case 0xF4:
        return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
    default:
        return 0
    }
}

/// Decodes a JSON string literal (with its quotes) that is known to be valid.
func decodeStringLiteral(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
    var scanner = JSONScanner(buffer: raw)
    return try? scanner.parseString()
}

/// One bit per open container (1: object, 0: array), for up to 256 levels.
struct BitStack {
    private var words = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    var depth = 0

    @inline(__always)
    func isObject(_ level: Int) -> Bool {
        let mask = UInt64(1) << UInt64(level & 63)
        switch level >> 6 {
        case 0: return words.0 & mask != 0
        case 1: return words.1 & mask != 0
        case 2: return words.2 & mask != 0
        default: return words.3 & mask != 0
        }
    }

    @inline(__always)
    mutating func push(object: Bool) {
        let mask = UInt64(1) << UInt64(depth & 63)
        let bit: UInt64 = object ? mask : 0
        switch depth >> 6 {
        case 0: words.0 = words.0 & ~mask | bit
        case 1: words.1 = words.1 & ~mask | bit
        case 2: words.2 = words.2 & ~mask | bit
        default: words.3 = words.3 & ~mask | bit
        }
        depth += 1
    }
}
