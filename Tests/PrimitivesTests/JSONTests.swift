import JSONCodec
import Testing

@Suite("JSON reading and writing")
struct JSONTests {
    @Test("Values round-trip with numbers kept as written and members in order")
    func roundTrip() throws {
        let text = #"{"b":1,"a":[true,false,null,-0.5e10,12345678901234567890],"s":"x\"y\\z\n\u00e9\ud83d\ude00","o":{}}"#
        let value = try JSONParser.parse(text)
        #expect(value["b"]?.intValue == 1)
        #expect(value["a"]?[4]?.numberText == "12345678901234567890")
        #expect(value["s"]?.stringValue == "x\"y\\z\né😀")
        #expect(value.objectValue?.keys == ["b", "a", "s", "o"])
        #expect(value.text == #"{"b":1,"a":[true,false,null,-0.5e10,12345678901234567890],"s":"x\"y\\z\né😀","o":{}}"#)
        #expect(try JSONParser.parse(value.text) == value)
    }

    @Test("Control characters are escaped on output")
    func escapes() {
        #expect(JSON.string("a\u{01}b\tc").text == #""a\u0001b\tc""#)
    }

    @Test(
        "Malformed JSON is a typed error at the right offset",
        arguments: [
            ("", JSONError.Code.empty), ("{", .unexpectedEnd), (#"{"a" 1}"#, .unexpectedCharacter), ("[1,]", .unexpectedCharacter),
            ("01", .trailingData), ("-", .invalidNumber), ("1.", .invalidNumber), (#""\x""#, .invalidEscape),
            ("\"a\u{01}\"", .controlCharacterInString), ("tru", .unexpectedEnd), ("[1] x", .trailingData),
            (#""\ud800""#, .invalidEscape),
        ])
    func malformed(text: String, code: JSONError.Code) {
        #expect {
            try JSONParser.parse(text)
        } throws: { error in
            (error as? JSONError)?.code == code
        }
    }

    @Test("Invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        #expect(throws: JSONError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test(
        "Invalid UTF-8 is refused with or without escapes: truncated, overlong, surrogate and out-of-range forms",
        arguments: [
            [0xF0, 0x9F, 0x98] as [UInt8],  // a 4-byte sequence cut after 3 (as long as its replacement)
            [0xE2, 0x82], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x80],
        ])
    func invalidUTF8Forms(bad: [UInt8]) {
        for string in [[0x22] + bad + [0x22], [0x22, 0x61] + bad + [0x62, 0x22], [0x22, 0x5C, 0x6E] + bad + [0x22]] {
            #expect {
                try JSONParser.parse(string)
            } throws: { error in
                (error as? JSONError)?.code == .invalidUTF8
            }
        }
    }

    @Test("Valid non-ASCII strings read back unchanged, with or without escapes")
    func nonASCIIStrings() throws {
        for text in ["Zürich", "東京 🚀", "a\"é\\ü"] {
            let parsed = try JSONParser.parse(JSON.string(text).bytes)
            #expect(parsed == .string(text))
        }
    }

    @Test("Deep nesting stops at the limit instead of exhausting the stack")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect {
            try JSONParser.parse(deep)
        } throws: { error in (error as? JSONError)?.code == .tooDeep }
        #expect(throws: Never.self) { try JSONParser.parse(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)) }
    }

    @Test("Doubles are written so they read back the same")
    func doubles() throws {
        for value in [0.1, 1e300, -2.5, 3.0, 123456789.125] {
            let text = JSON.number(value).text
            #expect(Double(text) == value)
        }
    }
}
