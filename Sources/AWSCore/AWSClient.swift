package import AWSSigV4
package import HTTPTransport
import JSONCodec
package import Primitives

/// One request to an AWS service, before endpoint, signing and retries.
package struct AWSRequest: Sendable {
    package enum Payload: Sendable, Hashable {
        /// Sign the SHA-256 of the body (the body must be in memory).
        case signedHash
        /// `UNSIGNED-PAYLOAD` (S3 over TLS, streamed bodies).
        case unsigned
        /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: the body (a stream of known length) goes out
        /// `aws-chunked`, cut into chunks of `chunkSize` bytes, each signed in a chain seeded by the
        /// request's signature (S3 PutObject and UploadPart).
        case chunkSigned(chunkSize: Int)
    }

    package var method: String
    /// The path as it goes on the wire, already percent-encoded, starting with `/`.
    package var path: String
    /// Query parameters, not yet encoded.
    package var query: [(String, String)]
    package var headers: HTTPHeaders
    package var body: HTTPRequestBody
    package var payload: Payload
    /// Whether the request may be sent again after a failure (all AWS calls are, unless a streamed
    /// body cannot be replayed).
    package var idempotent: Bool
    /// A host to use instead of the endpoint's (virtual-hosted S3).
    package var hostOverride: String?
    /// Limits for this request instead of the client's (a long poll needs a total timeout longer
    /// than its wait).
    package var options: HTTPRequestOptions?

    package init(
        method: String,
        path: String = "/",
        query: [(String, String)] = [],
        headers: HTTPHeaders = [:],
        body: HTTPRequestBody = .empty,
        payload: Payload = .signedHash,
        idempotent: Bool = true,
        hostOverride: String? = nil,
        options: HTTPRequestOptions? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.payload = payload
        self.idempotent = idempotent
        self.hostOverride = hostOverride
        self.options = options
    }
}

/// Signs, sends and retries requests to one AWS service. Every service client is built on one of
/// these; it is a value and cheap to copy.
package struct AWSClient: Sendable {
    package let service: AWSService
    package let region: String
    package let endpoint: ServiceEndpoint
    package let credentials: any CredentialProvider
    package let transport: any HTTPTransport
    package let retry: RetryStrategy
    package let clock: any WallClock
    package let options: HTTPRequestOptions
    /// Whether to add `x-amz-content-sha256` (S3 and OpenSearch Serverless require it).
    package let sendsContentSHA256: Bool
    let signer: SigV4Signer

    package init(
        service: AWSService,
        region: String,
        endpoint: ServiceEndpoint,
        credentials: any CredentialProvider,
        transport: any HTTPTransport,
        retry: RetryStrategy = RetryStrategy(),
        clock: any WallClock = SystemClock(),
        options: HTTPRequestOptions = .standard
    ) {
        self.service = service
        self.region = region
        self.endpoint = endpoint
        self.credentials = credentials
        self.transport = transport
        self.retry = retry
        self.clock = clock
        self.options = options
        let isS3 = service.signingName == "s3"
        // S3 and OpenSearch Serverless (`aoss`) both require the signed body hash as a header.
        self.sendsContentSHA256 = isS3 || service.signingName == "aoss"
        self.signer = isS3 ? SigV4Signer.s3(region: region) : SigV4Signer(service: service.signingName, region: region)
    }

    /// A client for `service` from the start-up settings.
    package init(
        service: AWSService,
        settings: AWSSettings,
        credentials: any CredentialProvider,
        transport: any HTTPTransport,
        quota: RetryQuota,
        clock: any WallClock = SystemClock(),
        endpoint: ServiceEndpoint? = nil
    ) throws(AWSConfigError) {
        var resolved: ServiceEndpoint
        if let endpoint { resolved = endpoint } else { resolved = try settings.endpoint(for: service) }
        self.init(
            service: service,
            region: settings.region,
            endpoint: resolved,
            credentials: credentials,
            transport: transport,
            retry: RetryStrategy(maxAttempts: settings.maxAttempts, quota: quota),
            clock: clock
        )
    }

    /// The full URL of `request`.
    package func url(for request: AWSRequest) -> String {
        var url = "\(endpoint.scheme)://"
        if let host = request.hostOverride {
            url += ServiceEndpoint(scheme: endpoint.scheme, host: host, port: endpoint.port, isCustom: endpoint.isCustom).authority
        } else {
            url += endpoint.authority
        }
        url += endpoint.basePath
        url += request.path.hasPrefix("/") ? request.path : "/" + request.path
        if !request.query.isEmpty {
            url += "?"
            var first = true
            for (name, value) in request.query {
                if !first { url += "&" }
                first = false
                url += PercentEncoding.encode(name)
                url += "="
                url += PercentEncoding.encode(value)
            }
        }
        return url
    }

    /// Signs `request` for sending now.
    package func sign(_ request: AWSRequest, credentials: AWSCredentials, date: Timestamp) throws(AWSError) -> HTTPRequest {
        let url = url(for: request)
        let payload: PayloadSigning
        var headers = request.headers
        var chunked: (stream: HTTPBodyStream, length: Int64, chunkSize: Int)?
        switch (request.payload, request.body) {
        case (.unsigned, _), (.signedHash, .stream):
            payload = .unsigned
        case (.signedHash, .empty):
            payload = .hash(SHA256.emptyHash.hex)
        case (.signedHash, .bytes(let bytes)):
            payload = .hash(SHA256.hash(bytes).hex)
        case (.chunkSigned(let chunkSize), let body):
            guard chunkSize >= 8 << 10 else {
                throw AWSError.invalidRequest("a chunk-signed body needs chunks of at least 8 KiB (got \(chunkSize) bytes)")
            }
            let stream: HTTPBodyStream
            switch body {
            case .empty: stream = HTTPBodyStream(length: 0) { nil }
            case .bytes(let bytes): stream = HTTPBodyStream(bytes: bytes)
            case .stream(let given): stream = given
            }
            guard let length = stream.length else {
                throw AWSError.invalidRequest("a chunk-signed body must declare its length")
            }
            payload = .streaming
            chunked = (stream, length, chunkSize)
            headers.set("Content-Encoding", "aws-chunked")
            headers.set("x-amz-decoded-content-length", String(length))
        }
        var signable = SignableRequest(method: request.method, url: url, headers: headers.map { (name: $0.name, value: $0.value) })
        let result: SigningResult
        do {
            result = try signer.sign(
                &signable, credentials: credentials, payload: payload, date: date,
                addContentSHA256Header: sendsContentSHA256)
        } catch {
            throw AWSError.invalidRequest("cannot sign request: \(error)")
        }
        var body = request.body
        if let chunked {
            body = .stream(
                ChunkSignedBody.stream(
                    chunked.stream, decodedLength: chunked.length, chunkSize: chunked.chunkSize,
                    signer: signer.chunkSigner(seed: result, credentials: credentials)))
        }
        return HTTPRequest(
            method: request.method, url: url, headers: HTTPHeaders(signable.headers.map { ($0.name, $0.value) }),
            body: body)
    }

    /// Sends `request` and reads the whole response. A status of 300 or more becomes
    /// `AWSError.service` with the service's code, message and request id; retries follow the
    /// standard mode, and cover a body cut off on its way (a reset, a time-out), since the whole
    /// answer is read here.
    package func send(_ request: AWSRequest, maxBodyBytes: Int = 64 << 20) async throws(AWSError) -> HTTPResponse {
        let replayable = request.idempotent && request.body.isReplayable
        var attempt = 1
        while true {
            let streaming = try await stream(request)
            let failure: AWSError
            do {
                let body = try await streaming.body.collect(
                    upTo: maxBodyBytes, expectedLength: streaming.head.headers["content-length"].flatMap { Int($0) })
                return HTTPResponse(head: streaming.head, body: body)
            } catch {
                failure = AWSError.transport(error.with(url: url(for: request)))
                guard error.code != .bodyTooLarge else { throw failure }
            }
            guard replayable, attempt < retry.maxAttempts, let kind = RetryStrategy.classify(failure), retry.quota.acquire(for: kind) != nil
            else { throw failure }
            do {
                try await retry.sleep(retry.backoff(forRetry: attempt))
            } catch {
                throw AWSError.transport(HTTPError(.cancelled, url: url(for: request), detail: "cancelled during retry backoff"))
            }
            attempt += 1
        }
    }

    /// Sends `request` and returns once the response head has arrived with a success status; the
    /// body then streams. Retries happen only before the head arrives.
    package func stream(_ request: AWSRequest) async throws(AWSError) -> HTTPStreamingResponse {
        let replayable = request.idempotent && request.body.isReplayable
        var attempt = 1
        var spent = 0
        while true {
            let outcome: Result<HTTPStreamingResponse, AWSError> = await attemptOnce(request)
            switch outcome {
            case .success(let response):
                retry.quota.release(spent > 0 ? spent : RetryQuota.noRetryIncrement)
                return response
            case .failure(let error):
                guard replayable, attempt < retry.maxAttempts, let kind = RetryStrategy.classify(error),
                    let cost = retry.quota.acquire(for: kind)
                else { throw error }
                spent += cost
                do {
                    try await retry.sleep(retry.backoff(forRetry: attempt))
                } catch {
                    throw AWSError.transport(HTTPError(.cancelled, url: url(for: request), detail: "cancelled during retry backoff"))
                }
                attempt += 1
            }
        }
    }

    private func attemptOnce(_ request: AWSRequest) async -> Result<HTTPStreamingResponse, AWSError> {
        let current: AWSCredentials
        do {
            current = try await credentials.credentials()
        } catch {
            return .failure(.credentials(error))
        }
        let signed: HTTPRequest
        do {
            signed = try sign(request, credentials: current, date: clock.now())
        } catch {
            return .failure(error)
        }
        let response: HTTPStreamingResponse
        do {
            response = try await transport.send(signed, options: request.options ?? options)
        } catch {
            return .failure(.transport(error))
        }
        if response.status < 300 || (response.status == 304) { return .success(response) }
        // Error bodies are small; read at most 1 MiB of one.
        let body: [UInt8]
        do {
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            if error.code == .bodyTooLarge {
                return .failure(.service(AWSServiceError(status: response.status, code: "Http\(response.status)", message: "")))
            }
            return .failure(.transport(error.with(url: signed.url)))
        }
        return .failure(.service(AWSServiceError.from(status: response.status, headers: response.headers, body: body).masking(current)))
    }
}

extension AWSServiceError {
    /// This error with the signing credentials' secret key and session token masked wherever the
    /// service echoed them (its message and details), so that no error, log line or status item
    /// repeats them, whatever form the echo takes.
    func masking(_ credentials: AWSCredentials) -> AWSServiceError {
        var copy = self
        for secret in [credentials.secretAccessKey, credentials.sessionToken ?? ""] where secret.utf8.count >= 8 {
            if copy.message.contains(secret) { copy.message = copy.message.replacing(secret, with: "[REDACTED]") }
            if let details = copy.details, details.text.contains(secret) {
                copy.details = try? JSONParser.parse(Array(details.text.replacing(secret, with: "[REDACTED]").utf8))
            }
        }
        return copy
    }
}
