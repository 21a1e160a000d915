import Primitives
import Testing

@Suite("Base64 without Foundation")
struct Base64Tests {
    /// RFC 4648 §10 test vectors.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 test vectors encode", arguments: vectors)
    func encodesVectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
    }

    @Test("RFC 4648 test vectors decode", arguments: vectors)
    func decodesVectors(plain: String, encoded: String) throws {
        #expect(try Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("Every byte value and every length up to 67 round-trips, using + and / where the bits say so")
    func roundTripsAllBytes() throws {
        for length in 0...67 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + length) }
            let text = Base64.encode(bytes)
            #expect(text.utf8.count == (bytes.count + 2) / 3 * 4)
            #expect(try Base64.decode(text) == bytes)
        }
        let all = (0...255).map { UInt8($0) }
        #expect(try Base64.decode(Base64.encode(all)) == all)
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(try Base64.decode("+/+/") == [0xFB, 0xFF, 0xBF])
    }

    @Test("A character outside the alphabet is rejected with its offset")
    func rejectsBadCharacter() {
        #expect(throws: Base64Error(.invalidCharacter, offset: 2)) { try Base64.decode("Zm-v") }
        #expect(throws: Base64Error(.invalidCharacter, offset: 4)) { try Base64.decode("Zm9v\nYmF") }
        // The URL-safe alphabet is a different encoding.
        #expect(throws: Base64Error(.invalidCharacter, offset: 0)) { try Base64.decode("_-__") }
    }

    @Test("A length that is not a multiple of four is rejected (padding is required)")
    func rejectsBadLength() {
        #expect(throws: Base64Error(.invalidLength, offset: 2)) { try Base64.decode("Zg") }
        #expect(throws: Base64Error(.invalidLength, offset: 5)) { try Base64.decode("Zm9vY") }
    }

    @Test("Padding in the middle, too much padding and non-zero unused bits are rejected")
    func rejectsBadPadding() {
        #expect(throws: Base64Error(.invalidPadding, offset: 2)) { try Base64.decode("Zg==Zm9v") }
        #expect(throws: Base64Error(.invalidPadding, offset: 1)) { try Base64.decode("Z===") }
        #expect(throws: Base64Error(.invalidPadding, offset: 0)) { try Base64.decode("====") }
        #expect(throws: Base64Error(.invalidPadding, offset: 2)) { try Base64.decode("Zm=v") }
        // "Zh==" decodes to "f" with unused bits set: not the canonical encoding.
        #expect(throws: Base64Error(.invalidPadding, offset: 1)) { try Base64.decode("Zh==") }
        #expect(throws: Base64Error(.invalidPadding, offset: 2)) { try Base64.decode("Zm9=") }
    }

    @Test("Errors describe the problem without echoing the input")
    func errorDescriptions() {
        do {
            _ = try Base64.decode("c2VjcmV0!!!!")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidCharacter)
            #expect(error.description.contains("offset 8"))
            #expect(!error.description.contains("c2VjcmV0"))
        }
    }
}
