#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pull-based source of (already decompressed) bytes: each call returns the next chunk, `nil` at
/// the end. An S3 response body, a gzip decompressor in front of one, or a local file.
///
/// Chunks may have any size; an empty chunk is allowed and means nothing. The readers pull the
/// next chunk only when they need more bytes, so a slow reader applies back-pressure.
package protocol ByteChunkSource {
    mutating func nextChunk() async throws -> [UInt8]?
}

/// Chunks held in memory (tests, samples already read).
package struct InMemoryByteSource: ByteChunkSource, Sendable {
    private var chunks: [[UInt8]]
    private var index = 0

    package init(chunks: [[UInt8]]) { self.chunks = chunks }

    /// `bytes` cut into chunks of `chunkSize` bytes.
    package init(_ bytes: [UInt8], chunkSize: Int = 64 << 10) {
        precondition(chunkSize > 0)
        var chunks: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunkSize)
            chunks.append(Array(bytes[start..<end]))
            start = end
        }
        self.chunks = chunks
    }

    package mutating func nextChunk() async throws -> [UInt8]? {
        guard index < chunks.count else { return nil }
        defer { index += 1 }
        return chunks[index]
    }
}

/// Any closure as a source (adapts an `HTTPResponseBody`, a decompressor…).
package struct ClosureByteSource: ByteChunkSource {
    private let next: () async throws -> [UInt8]?
    package init(_ next: @escaping () async throws -> [UInt8]?) { self.next = next }
    package mutating func nextChunk() async throws -> [UInt8]? { try await next() }
}

/// A local file read in chunks from an offset, without Foundation (local runs, tests, benchmarks).
package struct FileByteSource: ByteChunkSource {
    package struct OpenError: Error, Sendable, CustomStringConvertible {
        package var path: String
        package var errno: Int32
        package var description: String { "cannot read \(path): \(String(cString: strerror(errno)))" }
    }

    private let descriptor: FileDescriptorBox
    private let chunkSize: Int

    package init(path: String, offset: Int64 = 0, chunkSize: Int = 256 << 10) throws(OpenError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OpenError(path: path, errno: errno) }
        if offset > 0, lseek(fd, off_t(offset), SEEK_SET) < 0 {
            let code = errno
            close(fd)
            throw OpenError(path: path, errno: code)
        }
        descriptor = FileDescriptorBox(fd: fd, path: path)
        self.chunkSize = chunkSize
    }

    package mutating func nextChunk() async throws -> [UInt8]? { try descriptor.read(chunkSize) }

    /// The synchronous read, for callers that drive a decoder by hand.
    package mutating func nextChunkNow() throws -> [UInt8]? { try descriptor.read(chunkSize) }
}

/// Owns a file descriptor and closes it when the last copy of the source goes away.
private final class FileDescriptorBox {
    let fd: Int32
    let path: String
    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }
    deinit { close(fd) }

    func read(_ count: Int) throws -> [UInt8]? {
        var failure: Int32 = 0
        let chunk = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while true {
                let n = Glibc.read(fd, buffer.baseAddress, count)
                if n < 0, errno == EINTR { continue }
                if n < 0 { failure = errno }
                initialized = max(0, n)
                return
            }
        }
        if failure != 0 { throw FileByteSource.OpenError(path: path, errno: failure) }
        return chunk.isEmpty ? nil : chunk
    }
}
