package import Gzip
import RecordReaders

/// The bytes of an object as the record readers want them: raw chunks (an S3 body, a file, memory)
/// decompressed on the fly when the object is gzip, chosen by the dataset's setting or, for
/// `auto` without a `.gz` name, by the magic bytes of the first chunk. Holds one compressed and
/// one decompressed chunk at a time.
package struct ObjectByteSource: ByteChunkSource {
    package enum Compression: Sendable, Hashable {
        case none
        case gzip
        /// Decide from the first bytes.
        case detect
    }

    private let raw: () async throws -> [UInt8]?
    private var compression: Compression
    private let limits: GzipLimits
    private var inflater: GzipInflater?
    private var rawEnded = false
    private var held: [UInt8]?
    /// Bytes read from the raw source (compressed bytes for gzip).
    package private(set) var rawBytes: Int64 = 0

    /// - Parameters:
    ///   - compression: how the raw bytes are compressed.
    ///   - limits: gzip output and expansion limits (a gzip bomb fails the file).
    ///   - raw: the next raw chunk, `nil` at the end.
    package init(compression: Compression, limits: GzipLimits = .standard, raw: @escaping () async throws -> [UInt8]?) {
        self.raw = raw
        self.compression = compression
        self.limits = limits
    }

    /// Whether the bytes turned out to be gzip (nil before the first chunk when detecting).
    package var isGzip: Bool? {
        switch compression {
        case .none: false
        case .gzip: true
        case .detect: nil
        }
    }

    private mutating func nextRaw() async throws -> [UInt8]? {
        if let chunk = held {
            held = nil
            return chunk
        }
        guard !rawEnded else { return nil }
        guard let chunk = try await raw() else {
            rawEnded = true
            return nil
        }
        rawBytes += Int64(chunk.count)
        return chunk
    }

    package mutating func nextChunk() async throws -> [UInt8]? {
        if compression == .detect {
            var first: [UInt8] = []
            // Two bytes decide; gather them even when the first chunks are tiny.
            while first.count < 2, let chunk = try await nextRaw() { first += chunk }
            held = first.isEmpty ? nil : first
            compression = Gzip.hasMagic(first) ? .gzip : .none
        }
        switch compression {
        case .none, .detect:
            while let chunk = try await nextRaw() {
                if !chunk.isEmpty { return chunk }
            }
            return nil
        case .gzip:
            if inflater == nil { inflater = try GzipInflater(limits: limits) }
            let inflater = inflater!
            while true {
                if let out = try inflater.next() { return out }
                guard let chunk = try await nextRaw() else {
                    try inflater.finish()
                    return nil
                }
                inflater.push(chunk)
            }
        }
    }
}
