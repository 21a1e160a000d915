/// The parts of an HTTP request that SigV4 reads and writes.
package struct SignableRequest: Sendable {
    package var method: String
    /// The full URL exactly as it goes on the wire, already percent-encoded
    /// (`https://host[:port]/path?query`).
    package var url: String
    /// Header fields in the order they are sent; names compare case-insensitively.
    package var headers: [(name: String, value: String)]

    package init(method: String, url: String, headers: [(name: String, value: String)] = []) {
        self.method = method
        self.url = url
        self.headers = headers
    }

    /// The values of every header called `name` (any case), in order.
    package func headerValues(named name: String) -> [String] {
        headers.filter { equalsIgnoringASCIICase($0.name, name) }.map(\.value)
    }

    /// Removes every header called `name` (any case).
    package mutating func removeHeaders(named name: String) {
        headers.removeAll { equalsIgnoringASCIICase($0.name, name) }
    }
}

/// What stands in for the body in the canonical request (and in `x-amz-content-sha256`).
package enum PayloadSigning: Sendable, Hashable {
    /// The lower-case hex SHA-256 of the body.
    case hash(String)
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature (S3 over TLS, presigned URLs).
    case unsigned
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: the body is sent `aws-chunked`, each chunk signed
    /// with a `ChunkSigner` seeded by the request's signature.
    case streaming

    /// The payload of an empty body.
    package static let emptyBody = PayloadSigning.hash(SHA256.emptyHash.hex)

    /// The payload of `body`, hashed now.
    package static func hashing(_ body: some Sequence<UInt8>) -> PayloadSigning {
        .hash(SHA256.hash(body).hex)
    }

    /// Appends `canonicalValue` without creating a `String` for the fixed ones.
    func append(to out: inout some ByteSink & ~Copyable) {
        switch self {
        case .hash(let hex): out.append(utf8: hex)
        case .unsigned: out.append("UNSIGNED-PAYLOAD")
        case .streaming: out.append("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        }
    }

    /// The text the canonical request ends with.
    package var canonicalValue: String {
        switch self {
        case .hash(let hex): hex
        case .unsigned: "UNSIGNED-PAYLOAD"
        case .streaming: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        }
    }
}

/// ASCII case-insensitive equality (header names are ASCII).
func equalsIgnoringASCIICase(_ lhs: String, _ rhs: String) -> Bool {
    var left = lhs.utf8.makeIterator()
    var right = rhs.utf8.makeIterator()
    while true {
        switch (left.next(), right.next()) {
        case (nil, nil): return true
        case (let l?, let r?) where asciiLowercased(l) == asciiLowercased(r): continue
        default: return false
        }
    }
}

@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
}
