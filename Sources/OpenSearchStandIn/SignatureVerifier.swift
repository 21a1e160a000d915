import AWSSigV4
import JSONCodec
import LoopbackHTTP
import Primitives

/// Checks the SigV4 signature of a received request the way AWS does: parse the `Authorization`
/// header, rebuild the request from what arrived (the signed headers, the wire path and query, the
/// body's hash), sign it again with our `SigV4Signer` and compare.
struct SignatureVerifier: Sendable {
    let service: String
    let region: String
    let accessKeyId: String
    let secretAccessKey: String
    let clock: any WallClock
    /// How far `X-Amz-Date` may be from now.
    let allowedSkewSeconds: Int64 = 15 * 60

    /// A rejection: the status and the AWS-style body.
    struct Rejection: Error {
        var status: Int
        var message: String
        var body: JSON { .object(["message": .string(message)]) }
    }

    func verify(_ request: RecordedRequest) throws(Rejection) {
        guard let authorization = request.header("Authorization") else {
            throw Rejection(
                status: 403,
                message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. "
                    + "Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a "
                    + "'X-Amz-Date' or a 'Date' header. Authorization=")
        }
        guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            throw Rejection(status: 403, message: "Authorization header must use the AWS4-HMAC-SHA256 algorithm.")
        }
        var credential: String?
        var signedHeaders: String?
        var signature: String?
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let trimmed = part.drop { $0 == " " }
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            let value = String(trimmed[trimmed.index(after: equals)...])
            switch trimmed[..<equals] {
            case "Credential": credential = value
            case "SignedHeaders": signedHeaders = value
            case "Signature": signature = value
            default: continue
            }
        }
        guard let credential, let signedHeaders, let signature else {
            throw Rejection(status: 403, message: "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else {
            throw Rejection(status: 403, message: "Credential should be scoped to a valid region, not ''. ")
        }
        guard scope[0] == accessKeyId else {
            throw Rejection(status: 403, message: "The security token included in the request is invalid.")
        }
        guard scope[2] == region else {
            throw Rejection(status: 403, message: "Credential should be scoped to a valid region, not '\(scope[2])'. ")
        }
        guard scope[3] == service else {
            throw Rejection(status: 403, message: "Credential should be scoped to correct service: '\(service)'. ")
        }
        guard let amzDate = request.header("X-Amz-Date"), let date = Timestamp(iso8601: amzDate) else {
            throw Rejection(status: 403, message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        }
        let now = clock.now()
        guard abs(now.secondsSinceEpoch - date.secondsSinceEpoch) <= allowedSkewSeconds else {
            throw Rejection(
                status: 403,
                message: "Signature expired: \(amzDate) is now earlier than \(now.adding(seconds: -allowedSkewSeconds).amzDate) "
                    + "(\(now.amzDate) - 15 min.)")
        }
        guard scope[1] == date.dateStamp else {
            throw Rejection(status: 403, message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(scope[1])' != '\(date.dateStamp)', from '\(amzDate)'.")
        }

        // The payload the client signed: the x-amz-content-sha256 value when it signed one (which
        // must then match the body), else the body's own hash.
        let names = signedHeaders.split(separator: ";").map { String($0) }
        let bodyHash = SHA256.hash(request.body).hex
        var payload = PayloadSigning.hash(bodyHash)
        let signsContentHash = names.contains("x-amz-content-sha256")
        if let declared = request.header("x-amz-content-sha256") {
            if declared == "UNSIGNED-PAYLOAD" {
                payload = .unsigned
            } else if declared != bodyHash {
                throw Rejection(status: 400, message: "The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
        }
        let sessionToken = request.header("X-Amz-Security-Token")
        let rebuiltByTheSigner: Set<String> = ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]
        var headers: [(name: String, value: String)] = []
        for name in names where !rebuiltByTheSigner.contains(name) {
            let values = request.headerValues(name)
            guard !values.isEmpty else { throw mismatch }
            for value in values { headers.append((name: name, value: value)) }
        }
        let host = request.header("Host") ?? "localhost"
        var signable = SignableRequest(method: request.method, url: "http://\(host)\(request.target)", headers: headers)
        let signer = SigV4Signer(service: service, region: region)
        let credentials = AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey, sessionToken: sessionToken)
        let result: SigningResult
        do {
            result = try signer.sign(&signable, credentials: credentials, payload: payload, date: date, addContentSHA256Header: signsContentHash)
        } catch {
            throw mismatch
        }
        guard result.signedHeaders == signedHeaders, constantTimeEqual(result.signature, signature) else { throw mismatch }
    }

    private var mismatch: Rejection {
        Rejection(
            status: 403,
            message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
                + "Key and signing method. Consult the service documentation for details.")
    }

    private func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
