import CZlib

/// Streaming gzip compression (one member): `update` with each input chunk returns whatever
/// compressed bytes are ready (often none), `finish` returns the rest and the trailer.
///
/// Not thread-safe; use one per stream.
package final class GzipDeflater {
    /// Uncompressed bytes taken so far.
    package private(set) var totalIn: Int64 = 0
    /// Compressed bytes produced so far.
    package private(set) var totalOut: Int64 = 0

    private let stream: UnsafeMutablePointer<z_stream>
    private var finished = false
    private static let scratchSize = 64 << 10

    /// - Parameter level: 0 (store) to 9 (smallest); 1 is fastest, 6 is gzip's default.
    /// - Throws: `GzipError.Code.zlib` when zlib cannot set up (or the level is out of range).
    package init(level: Int = 6) throws(GzipError) {
        guard (0...9).contains(level) else { throw GzipError(.zlib, "compression level \(level) is not in 0...9") }
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_deflate_init_gzip(stream, Int32(level))
        guard status == Z_OK else {
            stream.deallocate()
            throw GzipError(.zlib, "deflateInit2 failed with status \(status)")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `bytes`; returns the compressed bytes ready so far.
    package func update(_ bytes: [UInt8]) throws(GzipError) -> [UInt8] {
        var out = [UInt8]()
        try run(bytes, flush: Z_NO_FLUSH, into: &out)
        return out
    }

    /// Compresses `bytes`, appending the compressed bytes ready so far to `out`.
    package func update(_ bytes: [UInt8], into out: inout [UInt8]) throws(GzipError) {
        try run(bytes, flush: Z_NO_FLUSH, into: &out)
    }

    /// Ends the member: the remaining compressed bytes and the CRC-32/length trailer.
    package func finish() throws(GzipError) -> [UInt8] {
        var out = [UInt8]()
        try run([], flush: Z_FINISH, into: &out)
        return out
    }

    private func run(_ bytes: [UInt8], flush: Int32, into out: inout [UInt8]) throws(GzipError) {
        guard !finished else { throw GzipError(.zlib, "the gzip stream was already finished") }
        var scratch = [UInt8](repeating: 0, count: Self.scratchSize)
        var input = bytes
        var offset = 0
        while true {
            var status: Int32 = Z_OK
            var produced = 0
            var consumed = 0
            let available = input.count - offset
            input.withUnsafeMutableBufferPointer { inBuffer in
                scratch.withUnsafeMutableBufferPointer { outBuffer in
                    stream.pointee.next_in = available > 0 ? inBuffer.baseAddress! + offset : nil
                    stream.pointee.avail_in = UInt32(available)
                    stream.pointee.next_out = outBuffer.baseAddress!
                    stream.pointee.avail_out = UInt32(outBuffer.count)
                    status = deflate(stream, flush)
                    consumed = available - Int(stream.pointee.avail_in)
                    produced = outBuffer.count - Int(stream.pointee.avail_out)
                    stream.pointee.next_in = nil
                    stream.pointee.next_out = nil
                }
            }
            offset += consumed
            totalIn += Int64(consumed)
            totalOut += Int64(produced)
            if produced > 0 { out.append(contentsOf: scratch[0..<produced]) }
            switch status {
            case Z_STREAM_END:
                finished = true
                return
            case Z_OK, Z_BUF_ERROR:
                // Done with this call once all input is taken and zlib left output space unused.
                if flush == Z_NO_FLUSH, offset == input.count, produced < scratch.count { return }
                if status == Z_BUF_ERROR, consumed == 0, produced == 0 { return }
            default:
                throw GzipError(.zlib, "deflate failed with status \(status)", inputOffset: totalIn)
            }
        }
    }
}
