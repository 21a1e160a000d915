/// Why base64 text could not be decoded, with the offset of the first offending character.
package struct Base64Error: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// A character outside the standard alphabet (`A-Z a-z 0-9 + /`) and `=`.
        case invalidCharacter = "InvalidCharacter"
        /// The length is not a multiple of four.
        case invalidLength = "InvalidLength"
        /// `=` somewhere other than the last one or two places, or unused bits that are not zero.
        case invalidPadding = "InvalidPadding"
    }

    package var code: Code
    package var offset: Int

    package init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    package var description: String {
        switch code {
        case .invalidCharacter: "base64 text holds a character outside the base64 alphabet at offset \(offset)"
        case .invalidLength: "base64 text has \(offset) characters, which is not a multiple of 4"
        case .invalidPadding: "base64 text is wrongly padded at offset \(offset)"
        }
    }
}

/// Base64 with the standard alphabet and padding (RFC 4648 §4), as AWS JSON protocols use it for
/// blobs. Decoding is strict: no whitespace, no missing padding, no non-zero unused bits.
package enum Base64 {
    @usableFromInline static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0xFF for bytes outside the alphabet.
    @usableFromInline static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }()

    /// Encodes `bytes` as padded base64.
    package static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let count = (bytes.count + 2) / 3 * 4
        if count == 0 { return "" }
        return String(unsafeUninitializedCapacity: count) { out in
            var index = 0
            var iterator = bytes.makeIterator()
            while let b0 = iterator.next() {
                let b1 = iterator.next()
                let b2 = b1 == nil ? nil : iterator.next()
                out[index] = alphabet[Int(b0 >> 2)]
                out[index + 1] = alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)]
                out[index + 2] = b1.map { alphabet[Int(($0 & 0x0F) << 2 | (b2 ?? 0) >> 6)] } ?? UInt8(ascii: "=")
                out[index + 3] = b2.map { alphabet[Int($0 & 0x3F)] } ?? UInt8(ascii: "=")
                index += 4
            }
            return count
        }
    }

    /// Decodes padded base64.
    /// - Throws: `Base64Error` naming what is wrong and where.
    package static func decode(_ text: String) throws(Base64Error) -> [UInt8] {
        var copy = text
        let result = copy.withUTF8 { utf8 in Result { () throws(Base64Error) in try decode(utf8) } }
        return try result.get()
    }

    /// Decodes padded base64 from its UTF-8 bytes.
    package static func decode(_ utf8: UnsafeBufferPointer<UInt8>) throws(Base64Error) -> [UInt8] {
        let count = utf8.count
        guard count % 4 == 0 else { throw Base64Error(.invalidLength, offset: count) }
        if count == 0 { return [] }
        var padding = 0
        if utf8[count - 1] == UInt8(ascii: "=") { padding = utf8[count - 2] == UInt8(ascii: "=") ? 2 : 1 }
        var out = [UInt8]()
        out.reserveCapacity(count / 4 * 3 - padding)
        var index = 0
        while index < count {
            let isLast = index + 4 == count
            var quad: UInt32 = 0
            for offset in 0..<4 {
                let char = utf8[index + offset]
                let value = reverse[Int(char)]
                if value == 0xFF {
                    // `=` is allowed only as the trailing padding of the last group.
                    guard char == UInt8(ascii: "="), isLast, offset >= 4 - padding else {
                        throw Base64Error(char == UInt8(ascii: "=") ? .invalidPadding : .invalidCharacter, offset: index + offset)
                    }
                    quad <<= 6
                } else {
                    quad = quad << 6 | UInt32(value)
                }
            }
            out.append(UInt8(truncatingIfNeeded: quad >> 16))
            if isLast && padding == 2 {
                guard quad & 0xFFFF == 0 else { throw Base64Error(.invalidPadding, offset: index + 1) }
            } else if isLast && padding == 1 {
                guard quad & 0xFF == 0 else { throw Base64Error(.invalidPadding, offset: index + 2) }
                out.append(UInt8(truncatingIfNeeded: quad >> 8))
            } else {
                out.append(UInt8(truncatingIfNeeded: quad >> 8))
                out.append(UInt8(truncatingIfNeeded: quad))
            }
            index += 4
        }
        return out
    }
}
