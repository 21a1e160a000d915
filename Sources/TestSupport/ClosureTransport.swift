package import HTTPTransport
import Synchronization

/// An in-memory `HTTPTransport` whose answers come from a closure, recording every request it is
/// given. For unit tests of request building, signing and retries; the loopback server is the
/// double that exercises the real transport.
package final class ClosureTransport: HTTPTransport {
    package typealias Handler = @Sendable (HTTPRequest, Int) async throws(HTTPError) -> HTTPResponse

    private let handler: Handler
    private let recorded = Mutex<[HTTPRequest]>([])

    /// - Parameter handler: receives each request and its zero-based index.
    package init(_ handler: @escaping Handler) { self.handler = handler }

    package var requests: [HTTPRequest] { recorded.withLock { $0 } }

    package func send(_ request: HTTPRequest, options: HTTPRequestOptions) async throws(HTTPError) -> HTTPStreamingResponse {
        let index = recorded.withLock { list -> Int in
            list.append(request)
            return list.count - 1
        }
        let response = try await handler(request, index)
        return HTTPStreamingResponse(head: response.head, body: HTTPResponseBody(bytes: response.body))
    }
}
