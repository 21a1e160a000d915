import Primitives
import Synchronization

/// An ordered list of header fields. Names compare case-insensitively; order and repeats are kept,
/// because SigV4 signs repeated headers in the order they were added.
package struct HTTPHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    package typealias Field = (name: String, value: String)
    package private(set) var storage: [HeaderField]

    package struct HeaderField: Sendable, Hashable {
        package var name: String
        package var value: String
        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    package init() { storage = [] }
    package init(_ fields: [(String, String)]) { storage = fields.map { HeaderField(name: $0.0, value: $0.1) } }
    package init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    package var count: Int { storage.count }
    package var isEmpty: Bool { storage.isEmpty }

    package func makeIterator() -> some IteratorProtocol<HeaderField> { storage.makeIterator() }

    /// The first value of `name`, if any.
    package subscript(name: String) -> String? {
        storage.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    /// Every value of `name`, in order.
    package func values(_ name: String) -> [String] {
        storage.filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
    }

    package func contains(_ name: String) -> Bool { self[name] != nil }

    package mutating func add(_ name: String, _ value: String) {
        storage.append(HeaderField(name: name, value: value))
    }

    /// Replaces every field called `name` with one holding `value`.
    package mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    package mutating func remove(_ name: String) {
        storage.removeAll { $0.name.equalsIgnoringASCIICase(name) }
    }
}

extension String {
    /// ASCII case-insensitive equality, enough for header names.
    package func equalsIgnoringASCIICase(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 65 && x <= 90) ? x | 0x20 : x
            let ly = (y >= 65 && y <= 90) ? y | 0x20 : y
            if lx != ly { return false }
        }
        return true
    }
}

/// A request body: nothing, bytes in memory, or a stream produced chunk by chunk.
package enum HTTPRequestBody: Sendable {
    case empty
    case bytes([UInt8])
    /// Chunks pulled one at a time; `length` (when known) is sent as `Content-Length`,
    /// otherwise the body goes out with chunked transfer encoding.
    case stream(HTTPBodyStream)

    /// The body's length when it is known before sending.
    package var knownLength: Int64? {
        switch self {
        case .empty: 0
        case .bytes(let bytes): Int64(bytes.count)
        case .stream(let stream): stream.length
        }
    }

    /// Whether the same body can be sent again (for retries).
    package var isReplayable: Bool {
        if case .stream = self { return false }
        return true
    }
}

/// A pull-based request body: the transport calls `next` whenever it can send more; `nil` ends it.
package struct HTTPBodyStream: Sendable {
    package let length: Int64?
    package let next: @Sendable () async throws -> [UInt8]?

    package init(length: Int64?, next: @escaping @Sendable () async throws -> [UInt8]?) {
        self.length = length
        self.next = next
    }

    /// `bytes` handed out `chunkSize` at a time (a body held in memory, streamed as if it were not:
    /// a multipart upload of it, for one).
    package init(bytes: [UInt8], chunkSize: Int = 1 << 20) {
        let rest = Mutex<ArraySlice<UInt8>>(bytes[...])
        let size = max(1, chunkSize)
        self.init(length: Int64(bytes.count)) {
            rest.withLock { rest -> [UInt8]? in
                guard !rest.isEmpty else { return nil }
                defer { rest = rest.dropFirst(size) }
                return Array(rest.prefix(size))
            }
        }
    }
}

/// One HTTP request.
package struct HTTPRequest: Sendable {
    package var method: String
    /// The full URL, already percent-encoded as it goes on the wire.
    package var url: String
    package var headers: HTTPHeaders
    package var body: HTTPRequestBody

    package init(method: String, url: String, headers: HTTPHeaders = [:], body: HTTPRequestBody = .empty) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// Per-request limits. A `nil` limit means none (the Lambda Runtime API's `GET /next` waits for ever).
package struct HTTPRequestOptions: Sendable, Hashable {
    /// Time allowed to establish the connection (TCP and TLS).
    package var connectTimeout: Duration?
    /// Time allowed for the whole exchange, body included.
    package var totalTimeout: Duration?
    /// Abort when fewer than `lowSpeedBytesPerSecond` arrive for `lowSpeedTime`.
    package var lowSpeedBytesPerSecond: Int?
    package var lowSpeedTime: Duration?

    package init(
        connectTimeout: Duration? = .seconds(10),
        totalTimeout: Duration? = .seconds(120),
        lowSpeedBytesPerSecond: Int? = 1,
        lowSpeedTime: Duration? = .seconds(30)
    ) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.lowSpeedBytesPerSecond = lowSpeedBytesPerSecond
        self.lowSpeedTime = lowSpeedTime
    }

    package static let standard = HTTPRequestOptions()
    /// No total and no low-speed limit: for long polls.
    package static let unlimited = HTTPRequestOptions(
        connectTimeout: .seconds(10), totalTimeout: nil, lowSpeedBytesPerSecond: nil, lowSpeedTime: nil
    )
}

/// The status line and headers of a response.
package struct HTTPResponseHead: Sendable, Hashable {
    package var status: Int
    package var headers: HTTPHeaders
    package init(status: Int, headers: HTTPHeaders) {
        self.status = status
        self.headers = headers
    }
}

/// A response whose body is read chunk by chunk as it arrives.
package struct HTTPStreamingResponse: Sendable {
    package var head: HTTPResponseHead
    package var body: HTTPResponseBody
    package init(head: HTTPResponseHead, body: HTTPResponseBody) {
        self.head = head
        self.body = body
    }
    package var status: Int { head.status }
    package var headers: HTTPHeaders { head.headers }
}

/// A fully read response.
package struct HTTPResponse: Sendable, Hashable {
    package var head: HTTPResponseHead
    package var body: [UInt8]
    package init(head: HTTPResponseHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }
    package init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.head = HTTPResponseHead(status: status, headers: headers)
        self.body = body
    }
    package var status: Int { head.status }
    package var headers: HTTPHeaders { head.headers }
}

/// A response body as an asynchronous sequence of chunks. Reading slowly applies back-pressure to
/// the connection; dropping the body before its end cancels the transfer.
package struct HTTPResponseBody: AsyncSequence, Sendable {
    package typealias Element = [UInt8]
    package typealias Failure = HTTPError

    private let source: any HTTPResponseBodySource

    package init(source: any HTTPResponseBodySource) { self.source = source }

    /// A body that is already in memory (for fakes and tests).
    package init(bytes: [UInt8]) { self.source = InMemoryBodySource(bytes: bytes) }

    /// The next chunk, or `nil` at the end.
    package func next() async throws(HTTPError) -> [UInt8]? { try await source.next() }

    /// Stops the transfer; later calls to `next` return `nil`.
    package func cancel() { source.cancel() }

    /// Reads the rest of the body; fails with `.bodyTooLarge` past `limit` bytes. `expectedLength`
    /// (a `Content-Length`) sizes the buffer once instead of growing it chunk by chunk.
    package func collect(upTo limit: Int = .max, expectedLength: Int? = nil) async throws(HTTPError) -> [UInt8] {
        var out = [UInt8]()
        let expected = Swift.min(Swift.max(expectedLength ?? 0, 0), limit)
        while let chunk = try await next() {
            if out.isEmpty, chunk.count < expected { out.reserveCapacity(expected) }
            if out.count + chunk.count > limit {
                cancel()
                throw HTTPError(.bodyTooLarge, url: "", detail: "response body exceeds \(limit) bytes")
            }
            // The first chunk is taken as it is: a body that arrives in one chunk is not copied.
            if out.isEmpty, out.capacity < chunk.count { out = chunk } else { out.append(contentsOf: chunk) }
        }
        return out
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        let body: HTTPResponseBody
        package mutating func next() async throws(HTTPError) -> [UInt8]? { try await body.next() }
        package mutating func next(isolation actor: isolated (any Actor)?) async throws(HTTPError) -> [UInt8]? {
            try await body.next()
        }
    }
    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
}

/// Where a streaming body's chunks come from; the libcurl transport and in-memory fakes implement it.
package protocol HTTPResponseBodySource: Sendable {
    func next() async throws(HTTPError) -> [UInt8]?
    func cancel()
}

private final class InMemoryBodySource: HTTPResponseBodySource, @unchecked Sendable {
    // Guarded by `lock`: a single optional buffer handed out once.
    private let lock = Lock()
    private var bytes: [UInt8]?
    init(bytes: [UInt8]) { self.bytes = bytes.isEmpty ? nil : bytes }
    func next() async throws(HTTPError) -> [UInt8]? {
        lock.withLock {
            defer { bytes = nil }
            return bytes
        }
    }
    func cancel() { lock.withLock { bytes = nil } }
}

// MARK: - The seam

/// The HTTP seam. Everything that talks HTTP takes one of these, so tests and benchmarks can swap in
/// a loopback server or an in-memory fake. `CurlTransport` is the production implementation.
package protocol HTTPTransport: Sendable {
    /// Sends `request` and returns when the response head has arrived; the body streams after.
    func send(_ request: HTTPRequest, options: HTTPRequestOptions) async throws(HTTPError) -> HTTPStreamingResponse
}

extension HTTPTransport {
    /// Sends `request` and reads the whole body (at most `maxBodyBytes`).
    package func execute(
        _ request: HTTPRequest,
        options: HTTPRequestOptions = .standard,
        maxBodyBytes: Int = 64 << 20
    ) async throws(HTTPError) -> HTTPResponse {
        let response = try await send(request, options: options)
        do {
            let body = try await response.body.collect(upTo: maxBodyBytes)
            return HTTPResponse(head: response.head, body: body)
        } catch {
            throw error.with(url: request.url)
        }
    }
}
