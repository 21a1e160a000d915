import CZlib

/// Streaming gzip decompression: feed compressed chunks with `push`, take decompressed chunks of
/// at most `outputChunkSize` bytes with `next` until it answers `nil` (it wants more input), and
/// call `finish` at the end of the input to learn whether the stream was complete.
///
/// Concatenated members (as `cat a.gz b.gz` or `gzip` appends make) decompress as one stream;
/// zero bytes between or after members are padding and are skipped. Memory stays constant however
/// large the stream: one input chunk and one output chunk at a time.
///
/// Not thread-safe; use one per stream.
package final class GzipInflater {
    package let limits: GzipLimits
    package let outputChunkSize: Int
    /// Compressed bytes consumed so far.
    package private(set) var totalIn: Int64 = 0
    /// Decompressed bytes produced so far.
    package private(set) var totalOut: Int64 = 0
    /// Complete members read so far.
    package private(set) var membersCompleted = 0

    private let stream: UnsafeMutablePointer<z_stream>
    private var input: [UInt8] = []
    private var inputOffset = 0
    /// Whether the current member has consumed any byte (so an end of input here is a truncation).
    private var inMember = false
    private var failed: GzipError?

    /// - Throws: `GzipError.Code.zlib` when zlib cannot allocate its state.
    package init(limits: GzipLimits = .standard, outputChunkSize: Int = 64 << 10) throws(GzipError) {
        precondition(outputChunkSize > 0, "outputChunkSize must be positive")
        self.limits = limits
        self.outputChunkSize = outputChunkSize
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_inflate_init_gzip(stream)
        guard status == Z_OK else {
            stream.deallocate()
            throw GzipError(.zlib, "inflateInit2 failed with status \(status)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Adds compressed bytes. Call `next` until it returns `nil` before pushing again.
    package func push(_ bytes: some Sequence<UInt8>) {
        if inputOffset == input.count {
            input.removeAll(keepingCapacity: true)
            inputOffset = 0
        }
        input.append(contentsOf: bytes)
    }

    /// The next decompressed chunk (at most `outputChunkSize` bytes), or `nil` when every pushed
    /// byte has been used and more input is needed.
    /// - Throws: `GzipError` when the data is corrupt or breaks a limit; the inflater then stays failed.
    package func next() throws(GzipError) -> [UInt8]? {
        if let failed { throw failed }
        var output = [UInt8](repeating: 0, count: outputChunkSize)
        var produced = 0
        while produced < outputChunkSize {
            if !inMember {
                // Between members: skip zero padding; anything else must start a new member.
                while inputOffset < input.count, input[inputOffset] == 0 {
                    inputOffset += 1
                    totalIn += 1
                }
                guard inputOffset < input.count else { break }
            }
            guard inputOffset < input.count else { break }
            let availableIn = input.count - inputOffset
            var status: Int32 = Z_OK
            var consumed = 0
            var written = 0
            input.withUnsafeMutableBufferPointer { inBuffer in
                output.withUnsafeMutableBufferPointer { outBuffer in
                    stream.pointee.next_in = inBuffer.baseAddress! + inputOffset
                    stream.pointee.avail_in = UInt32(availableIn)
                    stream.pointee.next_out = outBuffer.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(outputChunkSize - produced)
                    status = inflate(stream, Z_NO_FLUSH)
                    consumed = availableIn - Int(stream.pointee.avail_in)
                    written = outputChunkSize - produced - Int(stream.pointee.avail_out)
                    stream.pointee.next_in = nil
                    stream.pointee.next_out = nil
                }
            }
            if consumed > 0 { inMember = true }
            inputOffset += consumed
            totalIn += Int64(consumed)
            produced += written
            totalOut += Int64(written)
            try checkLimits()
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                membersCompleted += 1
                inMember = false
                let reset = inflateReset(stream)
                guard reset == Z_OK else { throw fail(.zlib, "inflateReset failed with status \(reset)") }
            case Z_BUF_ERROR:
                // No progress possible: either the output chunk is full or the input is used up.
                if consumed == 0 && written == 0 { return produced > 0 ? Array(output[0..<produced]) : nil }
            case Z_DATA_ERROR:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                let what = membersCompleted > 0 && !inMember ? "data after gzip member \(membersCompleted)" : "gzip data"
                throw fail(.corrupt, "\(what) is corrupt: \(message)")
            case Z_MEM_ERROR:
                throw fail(.zlib, "zlib ran out of memory")
            default:
                throw fail(.zlib, "inflate failed with status \(status)")
            }
        }
        if produced == 0 { return nil }
        if produced < outputChunkSize { output.removeSubrange(produced...) }
        return output
    }

    /// Declares the end of the input.
    /// - Throws: `GzipError.Code.truncated` when the input stopped inside a member, or any earlier failure.
    package func finish() throws(GzipError) {
        if let failed { throw failed }
        if inMember || inputOffset < input.count {
            throw fail(.truncated, "the gzip stream ends inside member \(membersCompleted + 1) (input cut short)")
        }
    }

    private func checkLimits() throws(GzipError) {
        if totalOut > limits.maxOutputBytes {
            throw fail(.outputLimitExceeded, "decompressed output passed the limit of \(limits.maxOutputBytes) bytes")
        }
        if totalOut > limits.ratioCheckAfterBytes, totalIn > 0, totalOut / totalIn > limits.maxExpansionRatio {
            throw fail(
                .expansionRatioExceeded,
                "\(totalIn) compressed bytes expanded to \(totalOut) bytes, more than \(limits.maxExpansionRatio):1 (a gzip bomb?)"
            )
        }
    }

    private func fail(_ code: GzipError.Code, _ detail: String) -> GzipError {
        let error = GzipError(code, detail, inputOffset: totalIn)
        failed = error
        return error
    }
}

/// Decompresses an asynchronous sequence of gzip chunks (a streamed download, say) into chunks of
/// at most `outputChunkSize` bytes, reading the source only as fast as the output is taken.
package struct GzipInflatingSequence<Base: AsyncSequence>: AsyncSequence where Base.Element == [UInt8] {
    package typealias Element = [UInt8]
    package typealias Failure = any Error

    let base: Base
    let limits: GzipLimits
    let outputChunkSize: Int

    package init(_ base: Base, limits: GzipLimits = .standard, outputChunkSize: Int = 64 << 10) {
        self.base = base
        self.limits = limits
        self.outputChunkSize = outputChunkSize
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        var source: Base.AsyncIterator
        let inflater: GzipInflater?
        let startError: GzipError?
        var finished = false

        package mutating func next() async throws -> [UInt8]? {
            if let startError { throw startError }
            guard let inflater, !finished else { return nil }
            while true {
                if let chunk = try inflater.next() { return chunk }
                guard let more = try await source.next() else {
                    finished = true
                    try inflater.finish()
                    return nil
                }
                inflater.push(more)
            }
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        do {
            let inflater = try GzipInflater(limits: limits, outputChunkSize: outputChunkSize)
            return AsyncIterator(source: base.makeAsyncIterator(), inflater: inflater, startError: nil)
        } catch {
            return AsyncIterator(source: base.makeAsyncIterator(), inflater: nil, startError: error)
        }
    }
}
