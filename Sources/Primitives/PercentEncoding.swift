/// RFC 3986 percent-encoding with the character sets AWS uses.
package enum PercentEncoding {
    /// Which bytes pass through unencoded.
    package struct AllowedSet: Sendable {
        @usableFromInline var table: [Bool]

        /// Builds a set of the unreserved characters plus `extra`.
        package init(unreservedPlus extra: String = "") {
            var table = [Bool](repeating: false, count: 256)
            for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
            for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
            for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
            for byte in "-._~".utf8 { table[Int(byte)] = true }
            for byte in extra.utf8 { table[Int(byte)] = true }
            self.table = table
        }

        @inlinable
        package func contains(_ byte: UInt8) -> Bool { table[Int(byte)] }

        /// `A-Z a-z 0-9 - . _ ~`: SigV4 query strings and non-S3 path segments.
        package static let unreserved = AllowedSet()
        /// Unreserved plus `/`: S3 object keys in a path and SigV4 canonical paths.
        package static let unreservedAndSlash = AllowedSet(unreservedPlus: "/")
    }

    private static let upperDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Percent-encodes every byte of `text` that is not in `allowed` (upper-case hex, as AWS wants).
    package static func encode(_ text: some StringProtocol, allowing allowed: AllowedSet = .unreserved) -> String {
        var needs = false
        for byte in text.utf8 where !allowed.contains(byte) {
            needs = true
            break
        }
        if !needs { return String(text) }
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if allowed.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(upperDigits[Int(byte >> 4)])
                out.append(upperDigits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes; `plusIsSpace` also turns `+` into a space first, as
    /// `application/x-www-form-urlencoded` (and S3 event notification keys) require.
    /// Returns `nil` for a malformed escape or bytes that are not UTF-8.
    package static func decode(_ text: some StringProtocol, plusIsSpace: Bool = false) -> String? {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Hex.value), let low = iterator.next().flatMap(Hex.value)
                else { return nil }
                out.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                out.append(UInt8(ascii: " "))
            default:
                out.append(byte)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
