package import AWSCore
import HTTPTransport
package import JSONCodec

/// The AWS JSON 1.0 / 1.1 protocol: every call is a `POST /` with `X-Amz-Target: <prefix>.<Op>`
/// and a JSON body; errors carry `__type`. DynamoDB (1.0) and SSM (1.1) use it.
package struct AWSJSONService: Sendable {
    package let client: AWSClient
    /// `DynamoDB_20120810`, `AmazonSSM`.
    package let targetPrefix: String
    /// `application/x-amz-json-1.0` or `-1.1`.
    package let contentType: String
    /// The service's name in messages (`DynamoDB`).
    package let displayName: String

    package init(client: AWSClient, targetPrefix: String, jsonVersion: String, displayName: String) {
        self.client = client
        self.targetPrefix = targetPrefix
        self.contentType = "application/x-amz-json-\(jsonVersion)"
        self.displayName = displayName
    }

    /// The request for `operation` with `body`, before signing (pure, for tests).
    package func request(_ operation: String, _ body: JSONObject) -> AWSRequest {
        AWSRequest(
            method: "POST", path: "/",
            headers: ["X-Amz-Target": "\(targetPrefix).\(operation)", "Content-Type": contentType],
            body: .bytes(JSON.object(body).bytes))
    }

    /// Calls `operation` and returns the response document (`{}` for an empty body).
    /// - Throws: `AWSError`: the service's error, a transport failure, or `.invalidResponse` when
    ///   the answer is not a JSON object.
    package func call(_ operation: String, _ body: JSONObject) async throws(AWSError) -> JSONObject {
        let response = try await client.send(request(operation, body))
        if response.body.isEmpty { return JSONObject() }
        let document: JSON
        do {
            document = try JSONParser.parse(response.body)
        } catch {
            throw AWSError.invalidResponse("\(displayName) \(operation): the response is not JSON (\(error))")
        }
        guard case .object(let object) = document else {
            throw AWSError.invalidResponse("\(displayName) \(operation): expected a JSON object, got \(document.kindName)")
        }
        return object
    }
}
