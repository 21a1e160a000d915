import CCurl
import Primitives

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One request in flight on a `CurlEngine`.
///
/// Its state falls in three groups, marked below: values fixed at init; state touched only on the
/// engine thread (libcurl's callbacks run there too); and the hand-off between the engine and Swift
/// tasks (response head, body chunks, request-body chunks, cancellation), guarded by `lock`.
/// Continuations are always resumed outside the lock.
final class CurlTransfer: @unchecked Sendable {
    typealias HeadResult = Result<HTTPResponseHead, HTTPError>
    typealias ChunkResult = Result<[UInt8]?, HTTPError>

    // MARK: Fixed at init
    let url: String
    private let method: String
    private let headers: HTTPHeaders
    private let body: HTTPRequestBody
    private let options: HTTPRequestOptions
    private let engine: CurlEngine
    private let bufferLimit: Int

    // MARK: Engine thread only
    var easy: UnsafeMutableRawPointer?
    var receivePaused = false
    var sendPaused = false
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headParser = ResponseHeadParser()
    private var headDelivered = false
    private var uploadChunk: [UInt8] = []
    private var uploadOffset = 0
    private var uploadedBytes: Int64 = 0

    // MARK: Guarded by `lock`
    private let lock = Lock()
    private var headResult: HeadResult?
    private var headWaiter: UnsafeContinuation<HeadResult, Never>?
    private var chunks: [[UInt8]] = []
    private var chunkIndex = 0
    private var bufferedBytes = 0
    private var bodyEnd: Result<Void, HTTPError>?
    private var bodyWaiter: UnsafeContinuation<ChunkResult, Never>?
    /// The write callback paused the transfer; the reader asks the engine to resume it.
    private var receiveWaiting = false
    private var completed = false
    private var cancelled = false
    private var pendingUpload: [UInt8]?
    private var uploadFinished = false
    private var uploadFailure: String?
    private var fetchingUpload = false
    /// The read callback paused the transfer; the body-stream task asks the engine to resume it.
    private var sendWaiting = false

    init(request: HTTPRequest, options: HTTPRequestOptions, engine: CurlEngine) {
        url = request.url
        method = request.method.uppercased()
        headers = request.headers
        body = request.body
        self.options = options
        self.engine = engine
        bufferLimit = max(engine.configuration.maxBufferedResponseBytes, 1)
        errorBuffer = .allocate(capacity: Int(ccurl_error_size))
        errorBuffer.initialize(repeating: 0, count: Int(ccurl_error_size))
        headerList = Self.makeHeaderList(headers, body: body, usesPostMechanism: Self.usesPost(method, body))
        if case .bytes(let bytes) = body, Self.readsInPlace(bytes) { uploadChunk = bytes }
    }

    /// Bodies at least this long are read by libcurl from the request's own array (the read
    /// callback) instead of being copied into libcurl first: a bulk or upload body is then held
    /// once, not twice, while it is sent.
    static let inPlaceBodyBytes = 64 << 10

    private static func readsInPlace(_ bytes: [UInt8]) -> Bool { bytes.count >= inPlaceBodyBytes }

    deinit {
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    var cancellationError: HTTPError { HTTPError(.cancelled, url: url, detail: "the request was cancelled") }

    // MARK: Caller side

    /// Hands the transfer to the engine; a stream body starts producing its first chunk at once.
    func start() {
        if case .stream = body {
            lock.withLock { fetchingUpload = true }
            fetchUploadChunk()
        }
        if !engine.enqueue(.add(self)) {
            complete(with: HTTPError(.cancelled, url: url, detail: "the HTTP transport was shut down"))
        }
    }

    func awaitHead() async throws(HTTPError) -> HTTPResponseHead {
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<HeadResult, Never>) in
                lock.lock()
                if let headResult {
                    lock.unlock()
                    continuation.resume(returning: headResult)
                } else {
                    headWaiter = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            cancel(byTask: true)
        }
        return try result.get()
    }

    /// The next body chunk, waiting for one when none is buffered.
    func nextChunk() async throws(HTTPError) -> [UInt8]? {
        if let ready = takeReadyChunk() { return try ready.get() }
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<ChunkResult, Never>) in
                if let ready = takeReadyChunk(orWait: continuation) { continuation.resume(returning: ready) }
            }
        } onCancel: {
            cancel(byTask: true)
        }
        return try result.get()
    }

    /// A buffered chunk or the end of the body, if either is there; otherwise parks `waiter`.
    private func takeReadyChunk(orWait waiter: UnsafeContinuation<ChunkResult, Never>? = nil) -> ChunkResult? {
        lock.lock()
        if chunkIndex < chunks.count {
            let chunk = chunks[chunkIndex]
            chunks[chunkIndex] = []
            chunkIndex += 1
            if chunkIndex == chunks.count {
                chunks.removeAll(keepingCapacity: true)
                chunkIndex = 0
            }
            bufferedBytes -= chunk.count
            let resume = receiveWaiting && bufferedBytes <= bufferLimit / 2
            if resume { receiveWaiting = false }
            lock.unlock()
            if resume { engine.enqueue(.resumeReceiving(self)) }
            return .success(chunk)
        }
        if let bodyEnd {
            lock.unlock()
            return bodyEnd.map { nil }
        }
        if let waiter {
            if bodyWaiter != nil {
                lock.unlock()
                return .failure(HTTPError(.other, url: url, detail: "a response body was read from two tasks at once"))
            }
            bodyWaiter = waiter
        }
        lock.unlock()
        return nil
    }

    /// Stops the transfer. `byTask` (Swift task cancellation) makes pending and later reads throw
    /// `.cancelled`; otherwise (the body was cancelled or dropped) later reads return `nil`.
    func cancel(byTask: Bool) {
        lock.lock()
        if completed || (cancelled && !byTask) {
            // Nothing left to stop; a reader who gave up still sees the end of the body.
            if !byTask {
                chunks = []
                chunkIndex = 0
                bufferedBytes = 0
                bodyEnd = .success(())
            }
            lock.unlock()
            return
        }
        let first = !cancelled
        cancelled = true
        let error = cancellationError
        let head = headWaiter
        headWaiter = nil
        if headResult == nil { headResult = .failure(error) }
        let waiter = bodyWaiter
        bodyWaiter = nil
        chunks = []
        chunkIndex = 0
        bufferedBytes = 0
        if bodyEnd == nil || byTask { bodyEnd = byTask ? .failure(error) : .success(()) }
        let end = bodyEnd!
        lock.unlock()
        head?.resume(returning: .failure(error))
        waiter?.resume(returning: end.map { nil })
        if first { engine.enqueue(.cancel(self)) }
    }

    // MARK: Request body stream

    /// Pulls one chunk from the request body stream in a task, then wakes the engine if the read
    /// callback is waiting for it. Called with `fetchingUpload` already set.
    private func fetchUploadChunk() {
        guard case .stream(let stream) = body else { return }
        Task {
            while true {
                let produced: Result<[UInt8]?, any Error>
                do { produced = .success(try await stream.next()) } catch { produced = .failure(error) }
                lock.lock()
                if cancelled || completed {
                    fetchingUpload = false
                    lock.unlock()
                    return
                }
                switch produced {
                case .success(let chunk?) where chunk.isEmpty:
                    lock.unlock()
                    continue
                case .success(let chunk?): pendingUpload = chunk
                case .success(nil): uploadFinished = true
                case .failure(let error): uploadFailure = "\(error)"
                }
                fetchingUpload = false
                let wake = sendWaiting
                sendWaiting = false
                lock.unlock()
                if wake { engine.enqueue(.resumeSending(self)) }
                return
            }
        }
    }

    /// CURLOPT_READFUNCTION: copies request-body bytes into `buffer` (engine thread).
    fileprivate func readBody(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        // Short byte bodies go with CURLOPT_COPYPOSTFIELDS and are never read here; long ones are
        // `uploadChunk` from the start.
        if case .bytes = body { return copyUpload(into: buffer, capacity: capacity) }
        while true {
            if uploadOffset < uploadChunk.count {
                let count = copyUpload(into: buffer, capacity: capacity)
                if uploadOffset == uploadChunk.count { prefetchUpload() }
                return count
            }
            lock.lock()
            if let next = pendingUpload {
                pendingUpload = nil
                lock.unlock()
                uploadChunk = next
                uploadOffset = 0
                continue
            }
            if uploadFailure != nil || cancelled {
                lock.unlock()
                return ccurl_readfunc_abort
            }
            if uploadFinished {
                lock.unlock()
                return 0
            }
            let startFetch = !fetchingUpload
            fetchingUpload = true
            sendWaiting = true
            lock.unlock()
            if startFetch { fetchUploadChunk() }
            sendPaused = true
            return ccurl_readfunc_pause
        }
    }

    /// Copies the next bytes of `uploadChunk` into libcurl's buffer; 0 at its end.
    private func copyUpload(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let count = min(capacity, uploadChunk.count - uploadOffset)
        guard count > 0 else { return 0 }
        uploadChunk.withUnsafeBytes { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + uploadOffset, byteCount: count)
        }
        uploadOffset += count
        uploadedBytes += Int64(count)
        return count
    }

    private func prefetchUpload() {
        uploadChunk = []
        uploadOffset = 0
        let start: Bool = lock.withLock {
            guard pendingUpload == nil, !fetchingUpload, !uploadFinished, uploadFailure == nil else { return false }
            fetchingUpload = true
            return true
        }
        if start { fetchUploadChunk() }
    }

    /// CURLOPT_SEEKFUNCTION: libcurl rewinds to resend a request on a fresh connection when a
    /// reused one turns out dead. A stream can only "rewind" before anything was read from it.
    /// A body read in place rewinds to any offset.
    fileprivate func seekBody(offset: curl_off_t, origin: Int32) -> Int32 {
        if case .bytes = body {
            guard origin == SEEK_SET, offset >= 0, offset <= uploadChunk.count else { return ccurl_seekfunc_cantseek }
            uploadOffset = Int(offset)
            return ccurl_seekfunc_ok
        }
        return offset == 0 && origin == SEEK_SET && uploadedBytes == 0 ? ccurl_seekfunc_ok : ccurl_seekfunc_cantseek
    }

    // MARK: Response (engine thread)

    /// CURLOPT_HEADERFUNCTION: one header line at a time (`ResponseHeadParser`); lines after the
    /// final block's end are trailers and are ignored.
    fileprivate func receiveHeaderLine(_ line: UnsafeBufferPointer<UInt8>) {
        guard !headDelivered else { return }
        if headParser.consume(line) { deliverHead() }
    }

    private func deliverHead() {
        headDelivered = true
        let head = headParser.head
        headParser = ResponseHeadParser()
        lock.lock()
        guard headResult == nil else {
            lock.unlock()
            return
        }
        headResult = .success(head)
        let waiter = headWaiter
        headWaiter = nil
        lock.unlock()
        waiter?.resume(returning: .success(head))
    }

    /// CURLOPT_WRITEFUNCTION: hands a body chunk to a waiting reader or buffers it; pauses the
    /// transfer (without taking the bytes, which libcurl then keeps) once the buffer is full.
    fileprivate func receiveBody(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        if !headDelivered { deliverHead() }
        lock.lock()
        if cancelled {
            lock.unlock()
            return 0
        }
        if bufferedBytes >= bufferLimit {
            receiveWaiting = true
            lock.unlock()
            receivePaused = true
            return ccurl_writefunc_pause
        }
        var waiter = bodyWaiter
        bodyWaiter = nil
        lock.unlock()

        let chunk = Array(bytes)
        if waiter == nil {
            lock.lock()
            // A reader may have started waiting while the bytes were copied.
            waiter = bodyWaiter
            bodyWaiter = nil
            if waiter == nil {
                chunks.append(chunk)
                bufferedBytes += chunk.count
            }
            lock.unlock()
        }
        waiter?.resume(returning: .success(chunk))
        return bytes.count
    }

    /// Called by the engine when the easy handle leaves the multi handle.
    func detach() {
        easy = nil
        receivePaused = false
        sendPaused = false
    }

    /// Ends the transfer: `nil` for success. Wakes whoever waits for the head or the body.
    func complete(with error: HTTPError?) {
        if error == nil, !headDelivered { deliverHead() }
        lock.lock()
        completed = true
        var head: (UnsafeContinuation<HeadResult, Never>, HeadResult)?
        if headResult == nil {
            let result = HeadResult.failure(error ?? HTTPError(.other, url: url, detail: "no response head"))
            headResult = result
            if let waiter = headWaiter { head = (waiter, result) }
            headWaiter = nil
        }
        if bodyEnd == nil { bodyEnd = error.map { .failure($0) } ?? .success(()) }
        // A waiting reader means the buffer is empty.
        let body = bodyWaiter.map { ($0, bodyEnd!.map { Optional<[UInt8]>.none }) }
        bodyWaiter = nil
        pendingUpload = nil
        lock.unlock()
        head.map { $0.0.resume(returning: $0.1) }
        body.map { $0.0.resume(returning: $0.1) }
    }

    // MARK: Errors

    /// The `HTTPError` for a failed transfer: the code mapped from `code`, the URL without
    /// credentials, and libcurl's message with any credential scrubbed from it.
    func error(for code: CURLcode) -> HTTPError {
        let (cancelledNow, bodyFailure) = lock.withLock { (cancelled, uploadFailure) }
        if cancelledNow { return cancellationError }
        if let bodyFailure, code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_READ_ERROR {
            return HTTPError(.requestBodyFailed, url: url, detail: "the request body stream failed: \(bodyFailure)")
        }
        let message = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        let detail = CurlErrorMapping.scrub(message, url: url, headers: headers)
        return HTTPError(CurlErrorMapping.code(for: code), url: url, detail: "\(detail) (curl \(code.rawValue))")
    }

    // MARK: Setting up the easy handle (engine thread)

    /// Whether the body goes through libcurl's POST machinery (with `CUSTOMREQUEST` for other
    /// methods): every method that carries a body, and POST/PUT/PATCH even when it is empty so that
    /// they send `Content-Length: 0`.
    private static func usesPost(_ method: String, _ body: HTTPRequestBody) -> Bool {
        if method == "HEAD" { return false }
        if case .empty = body { return method == "POST" || method == "PUT" || method == "PATCH" }
        return true
    }

    /// The request headers exactly as given, minus the framing headers libcurl derives from the
    /// body, plus blank entries that stop libcurl adding its own `Accept`, `Expect` and form
    /// `Content-Type`.
    private static func makeHeaderList(
        _ headers: HTTPHeaders,
        body: HTTPRequestBody,
        usesPostMechanism: Bool
    ) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        func append(_ line: String) {
            if let longer = curl_slist_append(list, line) { list = longer }
        }
        for field in headers {
            if field.name.equalsIgnoringASCIICase("content-length") || field.name.equalsIgnoringASCIICase("transfer-encoding") {
                continue
            }
            // "Name;" is libcurl's spelling of a header with an empty value ("Name:" removes it).
            append(field.value.isEmpty ? "\(field.name);" : "\(field.name): \(field.value)")
        }
        if !headers.contains("Accept") { append("Accept:") }
        if !headers.contains("Expect") { append("Expect:") }
        if usesPostMechanism {
            if !headers.contains("Content-Type") { append("Content-Type:") }
            if body.knownLength == nil { append("Transfer-Encoding: chunked") }
        }
        return list
    }

    /// Sets every option for this request on a fresh or reset easy handle; returns an error when
    /// libcurl refuses one.
    func configure(_ easy: UnsafeMutableRawPointer, share: UnsafeMutableRawPointer) -> HTTPError? {
        var failed: (CURLoption, CURLcode)?
        func check(_ code: CURLcode, _ option: CURLoption) {
            if code != CURLE_OK, failed == nil { failed = (option, code) }
        }
        func long(_ option: CURLoption, _ value: Int) { check(ccurl_easy_setopt_long(easy, option, value), option) }
        func string(_ option: CURLoption, _ value: String) {
            check(ccurl_easy_setopt_string(easy, option, value), option)
        }
        func offset(_ option: CURLoption, _ value: Int) {
            check(ccurl_easy_setopt_offset(easy, option, curl_off_t(value)), option)
        }
        func pointer(_ option: CURLoption, _ value: UnsafeMutableRawPointer?) {
            check(ccurl_easy_setopt_pointer(easy, option, value), option)
        }
        let configuration = engine.configuration
        let context = Unmanaged.passUnretained(self).toOpaque()

        string(CURLOPT_URL, url)
        // The URL goes on the wire exactly as given: libcurl would otherwise squash `/./` and `/../`,
        // which S3 keys may hold and SigV4 signs as they are.
        long(CURLOPT_PATH_AS_IS, 1)
        string(CURLOPT_PROTOCOLS_STR, "http,https")
        string(CURLOPT_PROXY, "")  // never pick up a proxy from the environment
        pointer(CURLOPT_PRIVATE, context)
        check(ccurl_easy_setopt_share(easy, share), CURLOPT_SHARE)
        pointer(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        long(CURLOPT_NOSIGNAL, 1)
        long(CURLOPT_TCP_NODELAY, 1)
        long(CURLOPT_HTTP_VERSION, Int(ccurl_http_version_1_1))
        long(CURLOPT_BUFFERSIZE, configuration.receiveBufferSize)
        if let ca = configuration.caBundlePath { string(CURLOPT_CAINFO, ca) }

        check(ccurl_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback), CURLOPT_HEADERFUNCTION)
        pointer(CURLOPT_HEADERDATA, context)
        check(ccurl_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback), CURLOPT_WRITEFUNCTION)
        pointer(CURLOPT_WRITEDATA, context)
        check(ccurl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList), CURLOPT_HTTPHEADER)

        if method == "HEAD" {
            long(CURLOPT_NOBODY, 1)
        } else if Self.usesPost(method, body) {
            long(CURLOPT_POST, 1)
            if method != "POST" { string(CURLOPT_CUSTOMREQUEST, method) }
            switch body {
            case .empty:
                offset(CURLOPT_POSTFIELDSIZE_LARGE, 0)
                string(CURLOPT_COPYPOSTFIELDS, "")
            case .bytes(let bytes) where Self.readsInPlace(bytes):
                offset(CURLOPT_POSTFIELDSIZE_LARGE, bytes.count)
                check(ccurl_easy_setopt_data_callback(easy, CURLOPT_READFUNCTION, curlReadCallback), CURLOPT_READFUNCTION)
                pointer(CURLOPT_READDATA, context)
                check(ccurl_easy_setopt_seek_callback(easy, curlSeekCallback), CURLOPT_SEEKFUNCTION)
                pointer(CURLOPT_SEEKDATA, context)
            case .bytes(let bytes):
                offset(CURLOPT_POSTFIELDSIZE_LARGE, bytes.count)
                if bytes.isEmpty { string(CURLOPT_COPYPOSTFIELDS, "") }
                bytes.withUnsafeBytes { raw in
                    // Copies `POSTFIELDSIZE` bytes, so binary data (and NULs) survive.
                    guard let start = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { return }
                    check(ccurl_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, start), CURLOPT_COPYPOSTFIELDS)
                }
            case .stream(let stream):
                offset(CURLOPT_POSTFIELDSIZE_LARGE, stream.length.map { Int($0) } ?? -1)
                check(ccurl_easy_setopt_data_callback(easy, CURLOPT_READFUNCTION, curlReadCallback), CURLOPT_READFUNCTION)
                pointer(CURLOPT_READDATA, context)
                check(ccurl_easy_setopt_seek_callback(easy, curlSeekCallback), CURLOPT_SEEKFUNCTION)
                pointer(CURLOPT_SEEKDATA, context)
            }
        } else if method == "GET" {
            long(CURLOPT_HTTPGET, 1)
        } else {
            string(CURLOPT_CUSTOMREQUEST, method)
        }

        long(CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeout.map(Self.milliseconds) ?? 0)
        long(CURLOPT_TIMEOUT_MS, options.totalTimeout.map(Self.milliseconds) ?? 0)
        if let bytes = options.lowSpeedBytesPerSecond, let time = options.lowSpeedTime, bytes > 0 {
            long(CURLOPT_LOW_SPEED_LIMIT, bytes)
            long(CURLOPT_LOW_SPEED_TIME, max(1, Int((Self.milliseconds(time) + 999) / 1000)))
        }

        guard let (option, code) = failed else { return nil }
        let text = String(cString: curl_easy_strerror(code))
        let mapped = code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT
            ? HTTPError.Code.invalidURL : .other
        return HTTPError(mapped, url: url, detail: "setting curl option \(option.rawValue) failed: \(text)")
    }

    /// A positive duration in whole milliseconds, at least 1.
    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(1, ms))
    }
}

// MARK: - libcurl callbacks (engine thread; the user pointer is the unretained transfer, which the
// engine keeps alive while its easy handle is in the multi handle)

private func transfer(_ pointer: UnsafeMutableRawPointer?) -> CurlTransfer {
    Unmanaged<CurlTransfer>.fromOpaque(pointer!).takeUnretainedValue()
}

private let curlHeaderCallback: ccurl_data_callback = { buffer, size, count, context in
    let length = size * count
    transfer(context).receiveHeaderLine(UnsafeBufferPointer(start: UnsafeRawPointer(buffer!).assumingMemoryBound(to: UInt8.self), count: length))
    return length
}

private let curlWriteCallback: ccurl_data_callback = { buffer, size, count, context in
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer!).assumingMemoryBound(to: UInt8.self), count: size * count)
    return transfer(context).receiveBody(bytes)
}

private let curlReadCallback: ccurl_data_callback = { buffer, size, count, context in
    transfer(context).readBody(into: buffer!, capacity: size * count)
}

private let curlSeekCallback: ccurl_seek_callback = { context, offset, origin in
    transfer(context).seekBody(offset: offset, origin: origin)
}
