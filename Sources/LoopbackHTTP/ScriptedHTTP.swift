/// The values a `LoopbackHTTPServer` records and replies with.

/// One header line, as it appeared on the wire.
package struct RecordedHeader: Sendable, Hashable {
    package var name: String
    package var value: String
    package init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A request as the server received it.
package struct RecordedRequest: Sendable, Hashable {
    package var method: String
    /// The request target: path plus query, as sent.
    package var target: String
    package var headers: [RecordedHeader]
    package var body: [UInt8]
    /// Whether the body came with `Transfer-Encoding: chunked`.
    package var bodyWasChunked: Bool
    /// Which accepted connection (1, 2, …) carried the request.
    package var connectionNumber: Int

    package init(
        method: String, target: String, headers: [RecordedHeader], body: [UInt8] = [],
        bodyWasChunked: Bool = false, connectionNumber: Int = 1
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.bodyWasChunked = bodyWasChunked
        self.connectionNumber = connectionNumber
    }

    /// The path without the query.
    package var path: String { String(target.prefix { $0 != "?" }) }
    /// The query without the `?`, if there is one.
    package var query: String? { target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } }
    package var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The first value of the header `name` (case-insensitive).
    package func header(_ name: String) -> String? { headerValues(name).first }
    package func headerValues(_ name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.name.lowercased() == lower }.map(\.value)
    }
}

/// What the server does with a request.
package struct ScriptedResponse: Sendable {
    /// How the server ends the exchange.
    package enum Disposition: Sendable, Hashable {
        /// Reply and keep the connection open for the next request.
        case keepAlive
        /// Reply with `Connection: close`, then close.
        case close
        /// Close the connection without replying.
        case closeWithoutResponse
        /// Reset the connection (RST) without replying.
        case resetWithoutResponse
    }

    package enum Body: Sendable {
        case bytes([UInt8])
        /// Written by `producer` chunk by chunk (`Content-Length` when `length` is set, chunked
        /// otherwise). The producer may block or sleep. Throwing `ResetConnection()` resets the
        /// connection; any other error closes it; either way mid-body.
        case stream(length: Int?, producer: @Sendable (ResponseBodyWriter) throws -> Void)
    }

    package var status: Int
    package var headers: [RecordedHeader]
    package var body: Body
    /// Waited before anything is written.
    package var delay: Duration
    /// Interim responses (for example 100 or 103) sent before the final one.
    package var interimStatuses: [Int]
    package var disposition: Disposition

    package init(
        status: Int = 200,
        headers: [RecordedHeader] = [],
        body: Body = .bytes([]),
        delay: Duration = .zero,
        interimStatuses: [Int] = [],
        disposition: Disposition = .keepAlive
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delay = delay
        self.interimStatuses = interimStatuses
        self.disposition = disposition
    }

    /// A response with a text body.
    package static func text(_ text: String, status: Int = 200, headers: [RecordedHeader] = []) -> ScriptedResponse {
        ScriptedResponse(status: status, headers: headers, body: .bytes(Array(text.utf8)))
    }

    /// `length` bytes of a repeating pattern, generated as they are written (constant memory).
    package static func generated(length: Int, chunkSize: Int = 256 << 10, chunked: Bool = false) -> ScriptedResponse {
        let pattern = (0..<chunkSize).map { UInt8(truncatingIfNeeded: $0 % 251) }
        return ScriptedResponse(
            body: .stream(length: chunked ? nil : length) { writer in
                var remaining = length
                while remaining > 0 {
                    let count = min(remaining, pattern.count)
                    try writer.write(count == pattern.count ? pattern : Array(pattern[0..<count]))
                    remaining -= count
                }
            }
        )
    }

    package static let closeWithoutResponse = ScriptedResponse(disposition: .closeWithoutResponse)
    package static let resetWithoutResponse = ScriptedResponse(disposition: .resetWithoutResponse)
}

/// Thrown by a body producer to reset the connection mid-body.
package struct ResetConnection: Error {
    package init() {}
}

/// How a scripted server decides its replies. Called on the connection's own thread, so it may
/// block (a Lambda Runtime API stand-in can wait for the next event here).
package protocol HTTPServerBehavior: Sendable {
    func respond(to request: RecordedRequest) -> ScriptedResponse
}

/// A behaviour given as a closure.
package struct ClosureBehavior: HTTPServerBehavior {
    let handler: @Sendable (RecordedRequest) -> ScriptedResponse
    package init(_ handler: @escaping @Sendable (RecordedRequest) -> ScriptedResponse) { self.handler = handler }
    package func respond(to request: RecordedRequest) -> ScriptedResponse { handler(request) }
}
