package import AWSCore
import JSONCodec
import Primitives

/// SSM Parameter Store over the JSON 1.1 protocol (`X-Amz-Target: AmazonSSM.<Op>`), on an
/// `AWSClient` for `.ssm`. A value, cheap to copy.
///
/// Parameter values (SecureStrings may be secrets) never appear in an error: errors name the parameter.
package struct SSMClient: AWSServiceClient {
    package let json: AWSJSONService

    package static let service = AWSService.ssm

    package init(client: AWSClient) {
        Self.requireService(of: client)
        json = AWSJSONService(client: client, targetPrefix: "AmazonSSM", jsonVersion: "1.1", displayName: "SSM")
    }

    /// GetParameter.
    /// - Parameters:
    ///   - name: the name (or `name:version`, `name:label`).
    ///   - withDecryption: decrypt a SecureString (the default; ignored for other types).
    /// - Throws: `SSMError.parameterNotFound(name:)`, or `.aws`.
    package func getParameter(_ name: String, withDecryption: Bool = true) async throws(SSMError) -> SSMParameter {
        try Self.checkName(name)
        let response: JSONObject
        do {
            response = try await json.call(
                "GetParameter", ["Name": .string(name), "WithDecryption": .bool(withDecryption)])
        } catch {
            throw SSMError.from(error, name: name)
        }
        guard let parameter = response["Parameter"] else {
            throw .aws(.invalidResponse("SSM GetParameter \(name): no Parameter in the response"))
        }
        return try Self.parameter(parameter, operation: "GetParameter")
    }

    /// One page of GetParametersByPath.
    /// - Parameters:
    ///   - path: a hierarchy such as `/pipeline/ingest` (a leading `/` is required).
    ///   - recursive: include parameters below the path's direct children.
    ///   - maxResults: the page size (1 to 10; the service's default is 10).
    ///   - nextToken: the previous page's `nextToken`.
    package func getParametersByPath(
        _ path: String, recursive: Bool = false, withDecryption: Bool = true, maxResults: Int? = nil, nextToken: String? = nil
    ) async throws(SSMError) -> SSMParameterPage {
        guard path.hasPrefix("/") else { throw .invalidRequest("a parameter path starts with '/', got '\(path)'") }
        var body: JSONObject = ["Path": .string(path), "Recursive": .bool(recursive), "WithDecryption": .bool(withDecryption)]
        if let maxResults {
            guard (1...10).contains(maxResults) else { throw .invalidRequest("MaxResults is 1 to 10, got \(maxResults)") }
            body.append("MaxResults", .number(maxResults))
        }
        if let nextToken { body.append("NextToken", .string(nextToken)) }
        let response: JSONObject
        do {
            response = try await json.call("GetParametersByPath", body)
        } catch {
            throw SSMError.from(error, name: nil)
        }
        var parameters = [SSMParameter]()
        for element in response["Parameters"]?.arrayValue ?? [] {
            parameters.append(try Self.parameter(element, operation: "GetParametersByPath"))
        }
        let token = response["NextToken"]?.stringValue
        return SSMParameterPage(parameters: parameters, nextToken: token?.isEmpty == false ? token : nil)
    }

    /// Every parameter under `path`, walking all pages.
    /// - Parameter maxPages: stop after this many pages (a guard against a token that never ends).
    package func getAllParametersByPath(
        _ path: String, recursive: Bool = false, withDecryption: Bool = true, pageSize: Int? = nil, maxPages: Int = 1000
    ) async throws(SSMError) -> [SSMParameter] {
        var all = [SSMParameter]()
        var token: String?
        var pages = 0
        repeat {
            let page = try await getParametersByPath(
                path, recursive: recursive, withDecryption: withDecryption, maxResults: pageSize, nextToken: token)
            all.append(contentsOf: page.parameters)
            token = page.nextToken
            pages += 1
        } while token != nil && pages < maxPages
        return all
    }

    /// PutParameter; returns the new version.
    /// - Parameters:
    ///   - overwrite: replace an existing parameter (else `ParameterAlreadyExists`).
    ///   - keyId: the KMS key of a SecureString (the account's default key when `nil`).
    /// - Throws: `SSMError.parameterAlreadyExists(name:)`, `.invalidRequest`, or `.aws`.
    @discardableResult
    package func putParameter(
        _ name: String, value: String, type: SSMParameterType = .string, overwrite: Bool = false,
        description: String? = nil, keyId: String? = nil
    ) async throws(SSMError) -> Int64 {
        try Self.checkName(name)
        guard !value.isEmpty else { throw .invalidRequest("the value of \(name) is empty (Parameter Store needs at least one character)") }
        var body: JSONObject = ["Name": .string(name), "Value": .string(value), "Type": .string(type.rawValue)]
        if overwrite { body.append("Overwrite", .bool(true)) }
        if let description { body.append("Description", .string(description)) }
        if let keyId { body.append("KeyId", .string(keyId)) }
        let response: JSONObject
        do {
            response = try await json.call("PutParameter", body)
        } catch {
            throw SSMError.from(error, name: name, secret: value)
        }
        guard let version = response["Version"]?.int64Value else {
            throw .aws(.invalidResponse("SSM PutParameter \(name): no Version in the response"))
        }
        return version
    }

    /// DeleteParameter.
    /// - Throws: `SSMError.parameterNotFound(name:)`, or `.aws`.
    package func deleteParameter(_ name: String) async throws(SSMError) {
        try Self.checkName(name)
        do {
            _ = try await json.call("DeleteParameter", ["Name": .string(name)])
        } catch {
            throw SSMError.from(error, name: name)
        }
    }

    private static func checkName(_ name: String) throws(SSMError) {
        guard !name.isEmpty, name.utf8.count <= 2048 else {
            throw .invalidRequest("a parameter name has 1 to 2048 characters, got \(name.utf8.count)")
        }
    }

    /// Reads one `Parameter` object. Messages name the parameter, never the value.
    static func parameter(_ json: JSON, operation: String) throws(SSMError) -> SSMParameter {
        guard let name = json["Name"]?.stringValue else {
            throw .aws(.invalidResponse("SSM \(operation): a parameter without a Name"))
        }
        guard let typeText = json["Type"]?.stringValue, let type = SSMParameterType(rawValue: typeText) else {
            throw .aws(.invalidResponse("SSM \(operation): parameter \(name) has no known Type"))
        }
        guard let value = json["Value"]?.stringValue else {
            throw .aws(.invalidResponse("SSM \(operation): parameter \(name) has no Value"))
        }
        guard let version = json["Version"]?.int64Value else {
            throw .aws(.invalidResponse("SSM \(operation): parameter \(name) has no Version"))
        }
        return SSMParameter(
            name: name, type: type, value: value, version: version,
            lastModified: json["LastModifiedDate"]?.numberText.flatMap(epochSeconds), arn: json["ARN"]?.stringValue,
            dataType: json["DataType"]?.stringValue)
    }

    /// `1700000000.123` (seconds since the epoch, as AWS JSON protocols send timestamps).
    static func epochSeconds(_ text: String) -> Timestamp? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = Int64(parts[0]) else {
            return Double(text).map { Timestamp(nanosecondsSinceEpoch: Int64(($0 * 1e9).rounded())) }
        }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1].prefix(9)
            guard !digits.isEmpty, let fraction = Int64(digits), fraction >= 0 else { return nil }
            nanos = fraction
            for _ in digits.count..<9 { nanos *= 10 }
        }
        return Timestamp(nanosecondsSinceEpoch: seconds * 1_000_000_000 + (seconds < 0 ? -nanos : nanos))
    }
}
