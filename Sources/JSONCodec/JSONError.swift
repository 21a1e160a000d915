/// Why a JSON document could not be read, with the byte offset where it went wrong.
package struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        case unexpectedEnd = "UnexpectedEnd"
        case unexpectedCharacter = "UnexpectedCharacter"
        case invalidNumber = "InvalidNumber"
        case invalidEscape = "InvalidEscape"
        case invalidUTF8 = "InvalidUTF8"
        case controlCharacterInString = "ControlCharacterInString"
        case tooDeep = "TooDeep"
        case trailingData = "TrailingData"
        case empty = "Empty"
    }

    package var code: Code
    package var offset: Int

    package init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    package var description: String {
        switch code {
        case .unexpectedEnd: "JSON ends too early (at byte \(offset))"
        case .unexpectedCharacter: "unexpected character in JSON at byte \(offset)"
        case .invalidNumber: "malformed number in JSON at byte \(offset)"
        case .invalidEscape: "malformed escape sequence in JSON string at byte \(offset)"
        case .invalidUTF8: "JSON text is not valid UTF-8 (at byte \(offset))"
        case .controlCharacterInString: "unescaped control character in JSON string at byte \(offset)"
        case .tooDeep: "JSON nests deeper than allowed (at byte \(offset))"
        case .trailingData: "unexpected data after the JSON value at byte \(offset)"
        case .empty: "empty input where JSON was expected"
        }
    }
}
