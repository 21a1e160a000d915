// The Runtime API's `GET /next` answer: the input is the response as libcurl hands it over,
// header lines (status line, fields, a blank line; interim 1xx blocks allowed) then the body in
// chunks. The lines go through `ResponseHeadParser` (the transport's), the response through
// `RuntimeAPIClient.next` with a 512-byte event limit, and the event through `SQSEvent` and
// `S3Notification`. An invocation must have a request id and an event within the limit; a refused
// event, a request id and a size past the limit.
import Dispatch
import HTTPTransport
import LambdaRuntime

private struct CannedTransport: HTTPTransport {
    let response: HTTPStreamingResponse
    func send(_ request: HTTPRequest, options: HTTPRequestOptions) async throws(HTTPError) -> HTTPStreamingResponse {
        response
    }
}

private final class ChunkedBody: HTTPResponseBodySource, @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    private var chunks: ArraySlice<[UInt8]>
    init(_ chunks: [[UInt8]]) { self.chunks = chunks[...] }
    func next() async throws(HTTPError) -> [UInt8]? {
        lock.wait()
        defer { lock.signal() }
        return chunks.popFirst()
    }
    func cancel() {
        lock.wait()
        chunks = []
        lock.signal()
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRuntimeAPI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (settings, input) = settingsAndFile(bytes(data, size))
    var parser = ResponseHeadParser()
    var position = 0
    var complete = false
    while position < input.count, !complete {
        let end = input[position...].firstIndex(of: 0x0A).map { $0 + 1 } ?? input.count
        complete = input.withUnsafeBufferPointer { parser.consume(UnsafeBufferPointer(rebasing: $0[position..<end])) }
        position = end
    }
    let head = parser.head
    invariant(head.status >= 0 && head.status < 1000, "status \(head.status)")
    let body = HTTPResponseBody(source: ChunkedBody(chunks(Array(input[position...]), size: chunkSize(settings))))
    let client = RuntimeAPIClient(
        runtimeAPI: "127.0.0.1:9001", transport: CannedTransport(response: HTTPStreamingResponse(head: head, body: body)))
    let maxEventBytes = 512
    let next = runBlocking { () -> Result<RuntimeAPIClient.Next, LambdaRuntimeError> in
        do throws(LambdaRuntimeError) {
            return .success(try await client.next(maxEventBytes: maxEventBytes))
        } catch {
            return .failure(error)
        }
    }
    switch next {
    case .success(.invocation(let invocation)):
        invariant(head.status == 200, "an invocation from a \(head.status) answer")
        invariant(!invocation.requestId.isEmpty, "an invocation without a request id")
        invariant(invocation.event.count <= maxEventBytes, "an event of \(invocation.event.count) bytes")
        if let event = try? SQSEvent(bytes: invocation.event) {
            for record in event.records { _ = try? S3Notification(body: record.body) }
        }
    case .success(.eventTooLarge(let requestId, let size)):
        invariant(!requestId.isEmpty, "a refused event without a request id")
        invariant(size > maxEventBytes, "an event of \(size) bytes refused")
    case .failure(let error):
        invariant(!error.message.isEmpty, "an error without a message")
    }
    return 0
}
