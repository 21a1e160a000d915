import CCrypto
import Primitives

/// A SHA-256 digest: 32 bytes stored inline (no heap allocation).
package struct SHA256Digest: Sendable, Hashable, CustomStringConvertible {
    // Four words hold the 32 bytes in memory order; only ever read and written as raw bytes.
    private var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    package static let byteCount = 32

    /// The all-zero digest (a placeholder before anything is hashed).
    package init() {}

    /// A digest from exactly 32 bytes; `nil` for any other length.
    package init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        Swift.withUnsafeMutableBytes(of: &self) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
    }

    /// A digest from 64 hex digits (either case); `nil` when malformed.
    package init?(hex: String) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// Calls `body` with the 32 bytes.
    @inline(__always)
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: self) { try body($0) }
    }

    /// Fills the 32 bytes from C.
    @inline(__always)
    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &self) { try body($0) }
    }

    package var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lower-case hex, as SigV4 writes digests.
    package var hex: String { withUnsafeBytes { Hex.encode($0) } }

    package var description: String { hex }

    /// Appends the lower-case hex form to `out` without creating a `String`.
    @inline(__always)
    func appendHex(to out: inout some ByteSink & ~Copyable) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { text in
            withUnsafeBytes { raw in
                for (index, byte) in raw.enumerated() {
                    text[2 * index] = lowerHexDigits.utf8Start[Int(byte >> 4)]
                    text[2 * index + 1] = lowerHexDigits.utf8Start[Int(byte & 0x0f)]
                }
            }
            out.append(UnsafeRawBufferPointer(text))
        }
    }
}

/// `0-9a-f`, for writing hex straight into a byte buffer.
let lowerHexDigits: StaticString = "0123456789abcdef"

/// Incremental SHA-256 over libcrypto's block function. A value type: copying it forks the hash
/// state, which is how HMAC reuses its pre-keyed states and how a body hash can be peeked at.
package struct SHA256: Sendable {
    private var context = SHA256_CTX()

    package init() {
        SHA256_Init(&context)
    }

    /// Adds `bytes` to the hash.
    @inline(__always)
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        SHA256_Update(&context, base, bytes.count)
    }

    /// Adds a byte collection to the hash (contiguous collections are hashed in place).
    package mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { update($0) }
        }
    }

    /// Adds the UTF-8 bytes of `text` to the hash.
    package mutating func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The digest of everything added so far. The hash itself is left untouched, so it may be
    /// updated further.
    @inline(__always)
    package func finalize() -> SHA256Digest {
        var copy = context
        var digest = SHA256Digest()
        digest.withUnsafeMutableBytes { raw in
            _ = SHA256_Final(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &copy)
        }
        return digest
    }

    /// The digest of `bytes` in one call. (The low-level calls, not libcrypto's one-shot
    /// `SHA256()`, which in OpenSSL 3 fetches an EVP implementation under a lock on every call.)
    @inline(__always)
    package static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        var hash = SHA256()
        hash.update(bytes)
        return hash.finalize()
    }

    /// The digest of a byte collection in one call.
    package static func hash(_ bytes: some Sequence<UInt8>) -> SHA256Digest {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return digest
        }
        return Array(bytes).withUnsafeBytes { hash($0) }
    }

    /// The digest of the UTF-8 bytes of `text` in one call.
    package static func hash(_ text: String) -> SHA256Digest {
        var text = text
        return text.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// `e3b0c442…b855`, the hash of no bytes.
    package static let emptyHash: SHA256Digest = hash(UnsafeRawBufferPointer(start: nil, count: 0))
}

/// An HMAC-SHA256 key (RFC 2104) with its inner and outer hash states computed once, so that each
/// message costs only the blocks of the message plus two. Its description never shows key material.
package struct HMACSHA256Key: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private var inner: SHA256
    private var outer: SHA256

    private static let blockSize = 64

    /// A key from raw bytes (keys longer than the block size are hashed first, per RFC 2104).
    package init(_ key: UnsafeRawBufferPointer) {
        var block = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        inner = SHA256()
        outer = SHA256()
        Swift.withUnsafeMutableBytes(of: &block) { padded in
            if key.count > Self.blockSize {
                SHA256.hash(key).withUnsafeBytes { padded.copyMemory(from: $0) }
            } else if key.count > 0 {
                padded.copyMemory(from: key)
            }
            for index in 0..<Self.blockSize { padded[index] ^= 0x36 }
            inner.update(UnsafeRawBufferPointer(padded))
            for index in 0..<Self.blockSize { padded[index] ^= 0x36 ^ 0x5c }
            outer.update(UnsafeRawBufferPointer(padded))
            for index in 0..<Self.blockSize { padded[index] = 0 }
        }
    }

    /// A key from a byte collection.
    package init(_ key: some Sequence<UInt8>) {
        if let made = key.withContiguousStorageIfAvailable({ Self(UnsafeRawBufferPointer($0)) }) {
            self = made
        } else {
            self = Array(key).withUnsafeBytes { Self($0) }
        }
    }

    /// A key from a digest (the SigV4 key-derivation chain).
    package init(_ key: SHA256Digest) {
        self = key.withUnsafeBytes { Self($0) }
    }

    /// The MAC of `message`.
    @inline(__always)
    package func authenticate(_ message: UnsafeRawBufferPointer) -> SHA256Digest {
        var hash = inner
        hash.update(message)
        let innerDigest = hash.finalize()
        var outerHash = outer
        innerDigest.withUnsafeBytes { outerHash.update($0) }
        return outerHash.finalize()
    }

    /// The MAC of a byte collection.
    package func authenticate(_ message: some Sequence<UInt8>) -> SHA256Digest {
        if let mac = message.withContiguousStorageIfAvailable({ authenticate(UnsafeRawBufferPointer($0)) }) {
            return mac
        }
        return Array(message).withUnsafeBytes { authenticate($0) }
    }

    /// The MAC of the UTF-8 bytes of `text`.
    package func authenticate(_ text: String) -> SHA256Digest {
        var text = text
        return text.withUTF8 { authenticate(UnsafeRawBufferPointer($0)) }
    }

    package var description: String { "HMACSHA256Key(<redacted>)" }
    package var debugDescription: String { description }
    package var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// One-shot HMAC-SHA256.
package enum HMACSHA256 {
    package static func authenticate(key: some Sequence<UInt8>, message: some Sequence<UInt8>) -> SHA256Digest {
        HMACSHA256Key(key).authenticate(message)
    }
}
