import HTTPTransport
import Synchronization
import Testing

@Suite("Collecting a response body")
struct ResponseBodyCollectTests {
    /// Hands out its chunks in order, then `nil`; remembers a cancel.
    final class ChunkSource: HTTPResponseBodySource {
        private let state: Mutex<(chunks: [[UInt8]], cancelled: Bool)>
        init(_ chunks: [[UInt8]]) { state = Mutex((chunks, false)) }
        func next() async throws(HTTPError) -> [UInt8]? {
            state.withLock { $0.chunks.isEmpty ? nil : $0.chunks.removeFirst() }
        }
        func cancel() { state.withLock { $0.cancelled = true } }
        var cancelled: Bool { state.withLock { $0.cancelled } }
    }

    static let chunks: [[UInt8]] = [Array(0..<100), Array(100..<250), [], Array(250..<256)].map { $0.map { UInt8($0) } }

    @Test(
        "The chunks come back whole and in order, whatever Content-Length says (none, 0, short, exact, long, negative)",
        arguments: [nil, 0, 50, 256, 10_000, -1] as [Int?])
    func wholeBody(expectedLength: Int?) async throws {
        let body = HTTPResponseBody(source: ChunkSource(Self.chunks))
        let bytes = try await body.collect(expectedLength: expectedLength)
        #expect(bytes == Array(0..<256).map { UInt8($0) })
    }

    @Test("A body that arrives in one chunk is that chunk")
    func oneChunk() async throws {
        let chunk = [UInt8](repeating: 7, count: 4096)
        #expect(try await HTTPResponseBody(source: ChunkSource([chunk])).collect(expectedLength: 4096) == chunk)
    }

    @Test("Past the limit the transfer is cancelled with bodyTooLarge, even when Content-Length promised less")
    func limit() async throws {
        let source = ChunkSource(Self.chunks)
        let error = await #expect(throws: HTTPError.self) {
            _ = try await HTTPResponseBody(source: source).collect(upTo: 200, expectedLength: 10)
        }
        #expect(error?.code == .bodyTooLarge)
        #expect(source.cancelled)
    }
}
