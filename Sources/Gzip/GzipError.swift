/// Why a gzip stream could not be read or written. `code` is stable; `detail` is for people.
package struct GzipError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// The input ended inside a gzip member (a cut-off download or file).
        case truncated = "GzipTruncated"
        /// The input is not gzip, or a member is damaged (bad header, bad deflate data, bad CRC or
        /// length in the trailer, or non-gzip bytes after a member).
        case corrupt = "GzipCorrupt"
        /// The decompressed output passed `GzipLimits.maxOutputBytes`.
        case outputLimitExceeded = "GzipOutputLimitExceeded"
        /// The decompressed output grew more than `GzipLimits.maxExpansionRatio` times the input
        /// (a gzip bomb).
        case expansionRatioExceeded = "GzipExpansionRatioExceeded"
        /// zlib itself failed (out of memory, or a misuse of the stream).
        case zlib = "GzipZlibFailure"
    }

    package var code: Code
    package var detail: String
    /// Compressed bytes consumed when the error was found.
    package var inputOffset: Int64

    package init(_ code: Code, _ detail: String, inputOffset: Int64 = 0) {
        self.code = code
        self.detail = detail
        self.inputOffset = inputOffset
    }

    package var description: String { "\(code.rawValue): \(detail) (after \(inputOffset) compressed bytes)" }
}

/// Bounds on what an inflater may produce, so that hostile or damaged input stops with a typed
/// error instead of exhausting memory or disk.
package struct GzipLimits: Sendable, Hashable {
    /// The most decompressed bytes in all (members together).
    package var maxOutputBytes: Int64
    /// The most output bytes per input byte, checked once `ratioCheckAfterBytes` have come out.
    /// Deflate cannot exceed about 1032:1, so a ratio near that is a bomb; real text rarely passes 100:1.
    package var maxExpansionRatio: Int64
    /// Output below this size is never judged by ratio (tiny inputs have huge ratios legitimately).
    package var ratioCheckAfterBytes: Int64

    package init(maxOutputBytes: Int64 = 16 << 30, maxExpansionRatio: Int64 = 400, ratioCheckAfterBytes: Int64 = 1 << 20) {
        self.maxOutputBytes = maxOutputBytes
        self.maxExpansionRatio = maxExpansionRatio
        self.ratioCheckAfterBytes = ratioCheckAfterBytes
    }

    package static let standard = GzipLimits()
    /// No limits at all (for trusted input such as our own request bodies).
    package static let unlimited = GzipLimits(maxOutputBytes: .max, maxExpansionRatio: .max, ratioCheckAfterBytes: .max)
}

/// Helpers that need no stream.
package enum Gzip {
    /// The two bytes every gzip member starts with.
    package static let magic: (UInt8, UInt8) = (0x1F, 0x8B)

    /// Whether `prefix` starts with the gzip magic bytes `1f 8b`.
    package static func hasMagic(_ prefix: some Collection<UInt8>) -> Bool {
        var iterator = prefix.makeIterator()
        return iterator.next() == magic.0 && iterator.next() == magic.1
    }

    /// Decompresses a whole buffer (all members).
    /// - Throws: `GzipError` for truncated or corrupt input, or input breaking `limits`.
    package static func decompress(_ bytes: [UInt8], limits: GzipLimits = .standard) throws(GzipError) -> [UInt8] {
        let inflater = try GzipInflater(limits: limits)
        var out = [UInt8]()
        inflater.push(bytes)
        while let chunk = try inflater.next() { out.append(contentsOf: chunk) }
        try inflater.finish()
        return out
    }

    /// Compresses a whole buffer as one gzip member.
    package static func compress(_ bytes: [UInt8], level: Int = 6) throws(GzipError) -> [UInt8] {
        let deflater = try GzipDeflater(level: level)
        var out = try deflater.update(bytes)
        out += try deflater.finish()
        return out
    }
}
