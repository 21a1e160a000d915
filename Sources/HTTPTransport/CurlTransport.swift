import CCurl
package import Primitives

/// The production `HTTPTransport`: libcurl's multi interface driven by one dedicated thread.
///
/// Every request becomes a transfer on a single multi handle, so connections are kept alive and
/// reused across requests, DNS answers and TLS sessions are cached, and any number of requests can
/// be in flight at once without a thread each. `send` returns when the response head has arrived;
/// the body then streams with back-pressure: at most `maxBufferedResponseBytes` wait for the reader
/// before the transfer pauses. TLS certificates and host names are always verified.
///
/// Call `shutdown()` (or drop the last reference) to stop the thread; requests still in flight then
/// fail with `.cancelled`.
package final class CurlTransport: HTTPTransport {
    package struct Configuration: Sendable, Hashable {
        /// Response bytes buffered for a slow reader before the transfer pauses.
        package var maxBufferedResponseBytes: Int
        /// libcurl's receive buffer (`CURLOPT_BUFFERSIZE`): the largest chunk a body hands out.
        package var receiveBufferSize: Int
        /// Idle connections kept open for reuse (`CURLMOPT_MAXCONNECTS`).
        package var maxCachedConnections: Int
        /// Easy handles kept for reuse once their transfer ends.
        package var maxIdleHandles: Int
        /// A PEM bundle of trusted CA certificates; `nil` finds one when the transport starts
        /// (`CurlTransport.locateCABundle`). TLS peers and host names are verified either way.
        package var caBundlePath: String?

        package init(
            maxBufferedResponseBytes: Int = 1 << 20,
            receiveBufferSize: Int = 512 << 10,
            maxCachedConnections: Int = 64,
            maxIdleHandles: Int = 32,
            caBundlePath: String? = nil
        ) {
            self.maxBufferedResponseBytes = maxBufferedResponseBytes
            self.receiveBufferSize = receiveBufferSize
            self.maxCachedConnections = maxCachedConnections
            self.maxIdleHandles = maxIdleHandles
            self.caBundlePath = caBundlePath
        }
    }

    private let engine: CurlEngine

    /// Starts the engine thread.
    /// - Parameters:
    ///   - configuration: limits and the CA bundle; a `nil` `caBundlePath` is looked up in
    ///     `environment` and on disk (`locateCABundle`).
    ///   - environment: where `SSL_CERT_FILE` is read (the process's environment by default).
    /// - Throws: `HTTPError` with code `.other` when libcurl or the thread cannot be set up.
    package init(configuration: Configuration = Configuration(), environment: Environment? = nil) throws(HTTPError) {
        var configuration = configuration
        if configuration.caBundlePath == nil {
            configuration.caBundlePath = Self.locateCABundle(environment: environment ?? .process())
        }
        engine = try CurlEngine(configuration: configuration)
    }

    /// The CA bundle this transport trusts (`nil`: libcurl's compiled-in default, which the
    /// release build's libcurl does not have, so every TLS handshake then fails verification).
    package var caBundlePath: String? { engine.configuration.caBundlePath }

    deinit { engine.shutdown() }

    /// Stops the engine thread and frees every libcurl handle. Requests in flight fail with
    /// `.cancelled`; later calls to `send` fail the same way. Safe to call more than once.
    package func shutdown() { engine.shutdown() }

    package func send(_ request: HTTPRequest, options: HTTPRequestOptions) async throws(HTTPError)
        -> HTTPStreamingResponse
    {
        // A line break in a header would let a value smuggle extra headers (or a request) onto the wire.
        for field in request.headers
        where field.name.utf8.contains(where: Self.isLineBreak) || field.value.utf8.contains(where: Self.isLineBreak) {
            throw HTTPError(.other, url: request.url, detail: "header \(field.name) contains a line break")
        }
        let transfer = CurlTransfer(request: request, options: options, engine: engine)
        transfer.start()
        let head = try await transfer.awaitHead()
        return HTTPStreamingResponse(head: head, body: HTTPResponseBody(source: CurlResponseBodySource(transfer)))
    }
}

extension CurlTransport {
    /// Where the CA bundle is looked for when `SSL_CERT_FILE` is unset, in order: Amazon Linux and
    /// Lambda, Debian and Ubuntu, then Alpine and the BSDs.
    package static let caBundleCandidates = [
        "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem",
    ]

    /// The CA bundle to trust: `SSL_CERT_FILE` when set (used as given, even if it cannot be read,
    /// so a wrong setting fails every handshake rather than trusting something else), else the
    /// first of `candidates` that exists, else `nil`.
    ///
    /// A statically linked libcurl carries the CA path of the machine it was built on, so the
    /// bundle is found here, at run time, and handed to libcurl as `CURLOPT_CAINFO`.
    package static func locateCABundle(
        environment: Environment, candidates: [String] = caBundleCandidates, exists: (String) -> Bool = FileIO.exists
    ) -> String? {
        if let configured = environment["SSL_CERT_FILE"] { return configured }
        return candidates.first(where: exists)
    }

    private static func isLineBreak(_ byte: UInt8) -> Bool { byte == 10 || byte == 13 }
}

/// The body of a `CurlTransport` response. Dropping the last copy of the body cancels a transfer
/// that has not finished.
private final class CurlResponseBodySource: HTTPResponseBodySource {
    let transfer: CurlTransfer
    init(_ transfer: CurlTransfer) { self.transfer = transfer }
    deinit { transfer.cancel(byTask: false) }
    func next() async throws(HTTPError) -> [UInt8]? { try await transfer.nextChunk() }
    func cancel() { transfer.cancel(byTask: false) }
}

extension CurlTransport {
    /// Exposes the scrubbing of libcurl's error text to tests.
    package static func scrubbedMessageForTesting(_ message: String, url: String, headers: HTTPHeaders) -> String {
        CurlErrorMapping.scrub(message, url: url, headers: headers)
    }
}
