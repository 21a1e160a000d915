import CCrypto

/// MD5 over libcrypto, for the `Content-MD5` header some S3 calls require and for SQS's
/// `MD5OfMessageBody`. Not for security.
package enum MD5 {
    /// The 16-byte MD5 digest of `bytes`.
    package static func digest(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        let data = Array(bytes)
        var out = [UInt8](repeating: 0, count: 16)
        data.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { digest in
                var context = MD5_CTX()
                MD5_Init(&context)
                if let base = raw.baseAddress, raw.count > 0 { MD5_Update(&context, base, raw.count) }
                _ = MD5_Final(digest.baseAddress!, &context)
            }
        }
        return out
    }
}
