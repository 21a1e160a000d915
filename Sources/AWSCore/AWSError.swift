package import HTTPTransport
package import JSONCodec
import XMLCodec

/// An error answered by an AWS service (or a stand-in speaking its protocol).
package struct AWSServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status of the response.
    package var status: Int
    /// The AWS error code (`NoSuchKey`, `ConditionalCheckFailedException`, `SignatureDoesNotMatch`…);
    /// for an error body with no code, `Http<status>`.
    package var code: String
    package var message: String
    package var requestId: String?
    /// The whole JSON error document, for services that put structured detail in their errors
    /// (DynamoDB's `Item` and `CancellationReasons`). Not part of `description`.
    package var details: JSON?

    package init(status: Int, code: String, message: String, requestId: String? = nil, details: JSON? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.requestId = requestId
        self.details = details
    }

    package var description: String {
        var text = "\(code) (HTTP \(status))"
        if !message.isEmpty { text += ": \(message)" }
        if let requestId { text += " [request id \(requestId)]" }
        return text
    }

    /// Reads the error from a failed response in any of the formats AWS and moto use: REST-XML
    /// (`<Error><Code>`), query-XML (`<ErrorResponse><Error><Code>`), JSON (`__type`, `code`,
    /// `message`/`Message`), OpenSearch (`error.type`, `error.reason`) and the `x-amzn-query-error` / `x-amzn-ErrorType` headers.
    package static func from(status: Int, headers: HTTPHeaders, body: [UInt8]) -> AWSServiceError {
        var code: String?
        var message = ""
        var requestId = headers["x-amzn-RequestId"] ?? headers["x-amz-request-id"] ?? headers["x-amzn-requestid"]
        var details: JSON?

        let firstByte = body.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        if firstByte == UInt8(ascii: "{"), let json = try? JSONParser.parse(body) {
            details = json
            if let type = json["__type"]?.stringValue ?? json["code"]?.stringValue ?? json["Code"]?.stringValue {
                code = shortCode(type)
            }
            message = json["message"]?.stringValue ?? json["Message"]?.stringValue ?? json["errorMessage"]?.stringValue ?? ""
            // OpenSearch/Elasticsearch: {"error":{"type":…,"reason":…},"status":…}.
            if code == nil, let error = json["error"], let type = error["type"]?.stringValue {
                code = type
                message = error["reason"]?.stringValue ?? message
            }
        } else if firstByte == UInt8(ascii: "<"), let xml = try? XMLElement.parse(body) {
            let error = xml.localName == "Error" ? xml : (xml.descendant("Error") ?? xml)
            code = error.childText("Code").map(shortCode)
            message = error.childText("Message") ?? ""
            requestId = requestId ?? xml.descendant("RequestId")?.text ?? xml.descendant("RequestID")?.text
        }
        // The query-compatible header names the code the older query protocol used; prefer the
        // body's code but fall back to it (and to x-amzn-ErrorType, used by REST-JSON services).
        if code == nil, let queryError = headers["x-amzn-query-error"] {
            code = String(queryError.split(separator: ";").first ?? "")
        }
        if code == nil, let errorType = headers["x-amzn-ErrorType"] {
            code = shortCode(String(errorType.split(separator: ":").first ?? ""))
        }
        let quoted = withoutQuotedRequest(message)
        if quoted != message, case .object(var object)? = details {
            for name in ["message", "Message", "errorMessage"] where object[name] != nil { object[name] = .string(quoted) }
            details = .object(object)
        }
        return AWSServiceError(
            status: status,
            code: (code?.isEmpty == false ? code! : "Http\(status)"),
            message: quoted,
            requestId: requestId,
            details: details
        )
    }

    /// What AWS services (and OpenSearch) append to a `SignatureDoesNotMatch` message: the
    /// canonical request they expected, which quotes the signed headers with their values (the
    /// session token among them), and the string to sign.
    static let quotedRequestMarkers = ["The Canonical String for this request should have been", "The String-to-Sign should have been"]

    /// `message` without the request it quotes, so that no error, log line or status item carries
    /// the session token on from it.
    static func withoutQuotedRequest(_ message: String) -> String {
        var cut = message.endIndex
        for marker in quotedRequestMarkers {
            if let range = message.firstRange(of: marker), range.lowerBound < cut { cut = range.lowerBound }
        }
        guard cut < message.endIndex else { return message }
        var kept = message[..<cut]
        while let last = kept.last, last == " " || last == "\n" || last == "\r" || last == "\t" { kept.removeLast() }
        return kept + " (the request the service quoted is left out)"
    }

    /// `com.amazonaws.sqs#QueueDoesNotExist` → `QueueDoesNotExist`.
    static func shortCode(_ raw: String) -> String {
        if let hash = raw.lastIndex(of: "#") { return String(raw[raw.index(after: hash)...]) }
        return raw
    }
}

/// Everything an AWS call can fail with, each case carrying its own typed error.
package enum AWSError: Error, Sendable, CustomStringConvertible {
    /// The service answered with an error.
    case service(AWSServiceError)
    /// The request never got an answer (DNS, connect, TLS, timeout, reset…).
    case transport(HTTPError)
    /// No usable credentials.
    case credentials(AWSCredentialError)
    /// The response could not be understood.
    case invalidResponse(String)
    /// The request was refused before it was sent (bad input: an empty key, a body of unknown
    /// length where one is needed, a part size out of range…).
    case invalidRequest(String)

    package var description: String {
        switch self {
        case .service(let error): "AWS service error: \(error)"
        case .transport(let error): "AWS request failed: \(error)"
        case .credentials(let error): "AWS credentials: \(error)"
        case .invalidResponse(let detail): "AWS response not understood: \(detail)"
        case .invalidRequest(let detail): "AWS request not sent: \(detail)"
        }
    }

    /// A stable code for logs and status rows: the service's code, else `Transport`, `Credentials`,
    /// `InvalidRequest` or `InvalidResponse`.
    package var stableCode: String {
        switch self {
        case .service(let service): service.code
        case .transport: "Transport"
        case .credentials: "Credentials"
        case .invalidRequest: "InvalidRequest"
        case .invalidResponse: "InvalidResponse"
        }
    }

    /// The service error code, if the service answered with one.
    package var serviceCode: String? {
        if case .service(let error) = self { return error.code }
        return nil
    }
}
